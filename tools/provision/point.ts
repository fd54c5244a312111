import { accessSync, constants, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { agentConfigSchema } from '../../agent/config.js';
import { CommandError } from '../../lib/cli.js';
import { formatIssues } from '../../lib/config.js';
import { isReservedForCentral } from '../../central/broker/acl.js';
import { caFiles, issueBoxServerCert, issueClientCert } from './ca.js';
import { generatePassword, mosquittoPasswordLine, upsertPasswordFile } from './password.js';

/** Where install/agent.sh puts things on a box; the provisioned agent.json points there. */
export const BOX_PATHS = {
  config: '/etc/hotpot/agent.json',
  ca: '/etc/hotpot/ca.crt',
  clientCert: '/etc/hotpot/client.crt',
  clientKey: '/etc/hotpot/client.key',
  httpsCert: '/etc/hotpot/https.crt',
  httpsKey: '/etc/hotpot/https.key',
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
  /** The box's LAN names and addresses: issue its HTTPS certificate (`http.tls`) for them. */
  serverCertNames?: readonly string[];
}

export interface ProvisionedPoint {
  outDir: string;
  /** Every file written, by role. */
  files: { agentConfig: string; passwordLine: string; ca?: string; clientCert?: string; clientKey?: string; httpsCert?: string; httpsKey?: string };
  passwordFileUpdated?: string;
  /** The password file did not exist before: worth a look that it is the one the broker reads. */
  passwordFileCreated?: boolean;
  /** Something the operator should know (printed by the command). */
  warning?: string;
}

function internetTarget(brokerUrl: string): string {
  const url = new URL(brokerUrl);
  const port = url.port || (url.protocol === 'mqtts:' || url.protocol === 'ssl:' ? '8883' : '1883');
  return `tcp://${url.hostname}:${port}`;
}

/** What rotation needs from an earlier agent.json: the whole object, and its client certificate paths. */
const earlierConfigSchema = z.looseObject({
  mqtt: z.looseObject({ cert: z.string().min(1).optional(), key: z.string().min(1).optional() }).optional(),
  http: z.looseObject({}).optional(),
});
type EarlierConfig = z.output<typeof earlierConfigSchema>;

function readEarlierConfig(file: string): EarlierConfig | undefined {
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CommandError(`${file} is not readable JSON (${(error as Error).message}): fix or remove it before rotating`);
  }
  const parsed = earlierConfigSchema.safeParse(raw);
  if (!parsed.success) throw new CommandError(`${file}: ${formatIssues(parsed.error.issues).join('; ')}`);
  return parsed.data;
}

/** The nearest existing directory on the way to `dir` (where a missing one would be made). */
function nearestExisting(dir: string): string {
  let at = dir;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

/**
 * Checks `--passwd-file` before anything is written: the file (when there) is a regular file this
 * process may rewrite, or else it can be made (its nearest existing directory is one this process
 * may write: central's embedded broker's data dir may not exist before its first start), and it
 * holds no login for the point unless this is a rotation (a second provisioning would silently
 * replace the password a box is using). Returns whether the file is new.
 */
function checkPasswordFile(file: string, pointId: string, rotate: boolean): boolean {
  if (!existsSync(file)) {
    const dir = nearestExisting(dirname(file));
    if (!statSync(dir).isDirectory()) throw new CommandError(`--passwd-file ${file}: ${dir} is not a directory`);
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      throw new CommandError(`--passwd-file ${file}: cannot create it, ${dir} is not writable by this user (run with sudo)`);
    }
    return true;
  }
  if (!statSync(file).isFile()) throw new CommandError(`--passwd-file ${file} is not a regular file`);
  try {
    accessSync(file, constants.R_OK | constants.W_OK);
  } catch {
    throw new CommandError(`--passwd-file ${file}: cannot read and write it as this user (run with sudo)`);
  }
  if (!rotate && readFileSync(file, 'utf8').split('\n').some((line) => line.startsWith(`${pointId}:`))) {
    throw new CommandError(`${pointId} already has a login in ${file}: pass --rotate to replace it (its box keeps the old password until it gets the new agent.json)`);
  }
  return false;
}

/** The point's agent.json: a new one, or on rotation the earlier one with new credentials. */
function pointConfig(options: ProvisionPointOptions, password: string, earlier: EarlierConfig | undefined, tls: boolean): Record<string, unknown> {
  const { pointId, brokerUrl } = options;
  // Rotation keeps the client certificate the box presents (require_certificate would refuse it
  // otherwise); --cert issues a new one at the same paths.
  const keepCert = earlier?.mqtt?.cert && earlier.mqtt.key ? { cert: earlier.mqtt.cert, key: earlier.mqtt.key } : {};
  const cert = options.clientCert ? { cert: BOX_PATHS.clientCert, key: BOX_PATHS.clientKey } : keepCert;
  const mqtt = { url: brokerUrl, username: pointId, password, ...(tls ? { ca: BOX_PATHS.ca } : {}), ...cert };
  const https = options.serverCertNames?.length ? { tls: { cert: BOX_PATHS.httpsCert, key: BOX_PATHS.httpsKey } } : undefined;
  if (earlier) return { ...earlier, pointId, mqtt: { ...earlier.mqtt, ...mqtt }, ...(https ? { http: { ...(earlier.http as object | undefined), ...https } } : {}) };
  return {
    pointId,
    dataDir: BOX_PATHS.dataDir,
    ...(https ? { http: https } : {}),
    mqtt: { ...mqtt, keepalive: 10 },
    checks: {
      internet: { targets: [internetTarget(brokerUrl)] },
      printer: { interface: 'none' },
      camera: { device: 'none' },
    },
  };
}

/**
 * Everything a new point needs, in one directory: agent.json (its credentials and broker), the
 * Mosquitto password-file line for central's broker, the CA certificate, optionally a client
 * certificate. The plain password exists only inside agent.json (mode 0600). Every check runs
 * before the first write; a rotation keeps the rest of the earlier agent.json and its client
 * certificate.
 */
export async function provisionPoint(options: ProvisionPointOptions): Promise<ProvisionedPoint> {
  const { pointId, outDir, brokerUrl } = options;
  const rotate = options.rotate ?? false;
  if (isReservedForCentral(pointId)) throw new CommandError(`pointId: "${pointId}" is central's own broker user (hotpot-central… names are central's replicas)`);
  const tls = /^(mqtts|ssl|wss):/.test(brokerUrl);
  const ca = options.caDir ? caFiles(options.caDir) : undefined;
  if ((tls || options.clientCert) && !(ca && existsSync(ca.caCert))) {
    throw new CommandError(`--ca-dir: no ca.crt in ${options.caDir ?? '(not given)'}; run hotpot provision-ca first (needed for ${tls ? brokerUrl : '--cert'})`);
  }
  if (options.serverCertNames?.length && !(ca && existsSync(ca.caKey))) throw new CommandError(`--server-cert: no ca.key in ${options.caDir}: the box's HTTPS certificate is signed on central, where the CA key is`);
  if (options.clientCert && !(ca && existsSync(ca.caKey))) throw new CommandError(`--cert: no ca.key in ${options.caDir}: client certificates are signed on central, where the CA key is`);
  const agentConfig = join(outDir, 'agent.json');
  if (existsSync(agentConfig) && !rotate) {
    throw new CommandError(`${agentConfig} exists: ${pointId} is already provisioned (pass --rotate to issue new credentials)`);
  }
  const earlier = rotate ? readEarlierConfig(agentConfig) : undefined;
  const newPasswordFile = options.passwordFile ? checkPasswordFile(options.passwordFile, pointId, rotate) : false;

  const password = generatePassword();
  const config = pointConfig(options, password, earlier, tls);
  const parsed = agentConfigSchema.safeParse(config);
  if (!parsed.success) throw new CommandError(formatIssues(parsed.error.issues).join('; '));

  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const result: ProvisionedPoint = { outDir, files: { agentConfig, passwordLine: join(outDir, 'mosquitto.passwd') } };
  if (ca && options.clientCert) {
    result.files.clientCert = join(outDir, 'client.crt');
    result.files.clientKey = join(outDir, 'client.key');
    await issueClientCert(ca, pointId, result.files.clientCert, result.files.clientKey);
  } else if (existsSync(join(outDir, 'client.crt')) && existsSync(join(outDir, 'client.key'))) {
    result.files.clientCert = join(outDir, 'client.crt');
    result.files.clientKey = join(outDir, 'client.key');
  }
  if (ca && options.serverCertNames?.length) {
    result.files.httpsCert = join(outDir, 'https.crt');
    result.files.httpsKey = join(outDir, 'https.key');
    await issueBoxServerCert(ca, options.serverCertNames, result.files.httpsCert, result.files.httpsKey);
  }
  if (ca && existsSync(ca.caCert)) {
    result.files.ca = join(outDir, 'ca.crt');
    copyFileSync(ca.caCert, result.files.ca);
  }
  writeFileSync(agentConfig, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  const line = mosquittoPasswordLine(pointId, password);
  writeFileSync(result.files.passwordLine, `${line}\n`, { mode: 0o600 });
  if (options.passwordFile) {
    upsertPasswordFile(options.passwordFile, line);
    result.passwordFileUpdated = options.passwordFile;
    if (newPasswordFile) result.passwordFileCreated = true;
  }
  if (rotate && !earlier && !options.clientCert) {
    result.warning = `no earlier agent.json in ${outDir}: if ${pointId}'s box presents a client certificate, rotate from its directory or pass --cert`;
  }
  return result;
}
