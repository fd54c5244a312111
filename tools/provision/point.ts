import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentConfigSchema } from '../../agent/config.js';
import { ConfigError, formatIssues } from '../../lib/config.js';
import { isReservedForCentral } from '../../central/broker/acl.js';
import { caFiles, issueClientCert } from './ca.js';
import { generatePassword, mosquittoPasswordLine, upsertPasswordFile } from './password.js';

/** Where install/agent.sh puts things on a box; the provisioned agent.json points there. */
export const BOX_PATHS = {
  config: '/etc/hotpot/agent.json',
  ca: '/etc/hotpot/ca.crt',
  clientCert: '/etc/hotpot/client.crt',
  clientKey: '/etc/hotpot/client.key',
  dataDir: '/var/lib/hotpot',
} as const;

export interface ProvisionPointOptions {
  pointId: string;
  /** The directory that receives this point's files. */
  outDir: string;
  /** How the box reaches central's broker, e.g. mqtts://mqtt.example.ge:8883. */
  brokerUrl: string;
  /** The franchise CA from `hotpot provision-ca`; needed for mqtts:// and client certificates. */
  caDir?: string | undefined;
  clientCert?: boolean;
  /** Also put the password line into this Mosquitto password file (replacing the point's old one). */
  passwordFile?: string | undefined;
  /** Allow replacing an earlier provisioning of this point (a credential rotation). */
  rotate?: boolean;
}

export interface ProvisionedPoint {
  outDir: string;
  /** Every file written, by role. */
  files: { agentConfig: string; passwordLine: string; ca?: string; clientCert?: string; clientKey?: string };
  passwordFileUpdated?: string;
}

function internetTarget(brokerUrl: string): string {
  const url = new URL(brokerUrl);
  const port = url.port || (url.protocol === 'mqtts:' || url.protocol === 'ssl:' ? '8883' : '1883');
  return `tcp://${url.hostname}:${port}`;
}

/**
 * Everything a new point needs, in one directory: agent.json (its credentials and broker), the
 * Mosquitto password-file line for central's broker, the CA certificate, optionally a client
 * certificate. The plain password exists only inside agent.json (mode 0600).
 */
export async function provisionPoint(options: ProvisionPointOptions): Promise<ProvisionedPoint> {
  const { pointId, outDir, brokerUrl } = options;
  if (isReservedForCentral(pointId)) throw new ConfigError([`pointId: "${pointId}" is central's own broker user (hotpot-central… names are central's replicas)`]);
  const tls = /^(mqtts|ssl|wss):/.test(brokerUrl);
  const ca = options.caDir ? caFiles(options.caDir) : undefined;
  if ((tls || options.clientCert) && !(ca && existsSync(ca.caCert))) {
    throw new ConfigError([`--ca-dir: no ca.crt in ${options.caDir ?? '(not given)'}; run hotpot provision-ca first (needed for ${tls ? brokerUrl : '--cert'})`]);
  }
  const password = generatePassword();
  const config = {
    pointId,
    dataDir: BOX_PATHS.dataDir,
    mqtt: {
      url: brokerUrl,
      username: pointId,
      password,
      ...(tls ? { ca: BOX_PATHS.ca } : {}),
      // install/agent.sh puts client.crt and client.key at these paths.
      ...(options.clientCert ? { cert: BOX_PATHS.clientCert, key: BOX_PATHS.clientKey } : {}),
      keepalive: 10,
    },
    checks: {
      internet: { targets: [internetTarget(brokerUrl)] },
      printer: { interface: 'none' },
      camera: { device: 'none' },
    },
  };
  const parsed = agentConfigSchema.safeParse(config);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error.issues));

  const agentConfig = join(outDir, 'agent.json');
  if (existsSync(agentConfig) && !options.rotate) {
    throw new ConfigError([`${agentConfig} exists: ${pointId} is already provisioned (pass --rotate to issue new credentials)`]);
  }
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  writeFileSync(agentConfig, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  const line = mosquittoPasswordLine(pointId, password);
  const passwordLine = join(outDir, 'mosquitto.passwd');
  writeFileSync(passwordLine, `${line}\n`, { mode: 0o600 });
  const result: ProvisionedPoint = { outDir, files: { agentConfig, passwordLine } };
  if (ca && existsSync(ca.caCert)) {
    result.files.ca = join(outDir, 'ca.crt');
    copyFileSync(ca.caCert, result.files.ca);
  }
  if (ca && options.clientCert) {
    result.files.clientCert = join(outDir, 'client.crt');
    result.files.clientKey = join(outDir, 'client.key');
    await issueClientCert(ca, pointId, result.files.clientCert, result.files.clientKey);
  }
  if (options.passwordFile) {
    upsertPasswordFile(options.passwordFile, line);
    result.passwordFileUpdated = options.passwordFile;
  }
  return result;
}
