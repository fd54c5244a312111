import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFailure, runCommand, succeeded } from '../../lib/command.js';

/** The franchise CA's files, as `hotpot provision-ca` lays them out. */
export interface CaFiles {
  dir: string;
  caCert: string;
  caKey: string;
  /** The broker's certificate and key, signed by the CA. */
  serverCert: string;
  serverKey: string;
}

export function caFiles(dir: string): CaFiles {
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
  };
}

/** Boxes run for years untouched: certificates that expire quietly would cut the fleet off. */
const CA_DAYS = 7300;
const LEAF_DAYS = 3650;
const OPENSSL_TIMEOUT_MS = 30_000;
const CA_SUBJECT = '/O=The Hot Pot Spot/CN=Hot Pot Spot franchise CA';
/** The broker answers on loopback too, so central on the same host verifies it the same way. */
export const DEFAULT_SERVER_NAMES = ['localhost', '127.0.0.1'];

/** The openssl config for one operation; `san` is built from validated names only. */
function opensslConfig(san: string): string {
  return `[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = ${san}
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = ${san}
`;
}

async function openssl(args: string[]): Promise<void> {
  const spec = { argv: ['openssl', ...args], timeoutMs: OPENSSL_TIMEOUT_MS };
  const result = await runCommand(spec);
  if (!succeeded(result)) throw new Error(`openssl ${args[0]} failed: ${describeFailure(spec, result)}`);
}

/** A P-256 key written 0600 from the first byte (never world-readable, even briefly). */
function writePrivateKey(file: string): void {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** A scratch dir for the openssl config and CSRs, always removed. */
async function withScratch<T>(san: string, body: (scratch: string, config: string) => Promise<T>): Promise<T> {
  const scratch = mkdtempSync(join(tmpdir(), 'hotpot-openssl-'));
  try {
    const config = join(scratch, 'openssl.cnf');
    writeFileSync(config, opensslConfig(san));
    return await body(scratch, config);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function subjectAltName(names: readonly string[]): string {
  return names.map((name) => (isIP(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
}

interface LeafRequest {
  ca: CaFiles;
  commonName: string;
  altNames: readonly string[];
  profile: 'server' | 'client';
  cert: string;
  key: string;
}

async function issueLeaf(request: LeafRequest): Promise<void> {
  await withScratch(subjectAltName(request.altNames), async (scratch, config) => {
    const csr = join(scratch, 'leaf.csr');
    writePrivateKey(request.key);
    await openssl(['req', '-new', '-config', config, '-key', request.key, '-subj', `/O=The Hot Pot Spot/CN=${request.commonName}`, '-out', csr]);
    await openssl([
      'x509', '-req', '-in', csr,
      '-CA', request.ca.caCert, '-CAkey', request.ca.caKey,
      '-set_serial', `0x${randomBytes(16).toString('hex')}`,
      '-days', String(LEAF_DAYS), '-sha256',
      '-extfile', config, '-extensions', request.profile,
      '-out', request.cert,
    ]);
  });
}

export interface ProvisionCaResult {
  files: CaFiles;
  /** What this run made; empty when everything was already there. */
  created: ('ca' | 'server')[];
}

/**
 * Makes the franchise CA and the broker's server certificate, whichever is missing. Never
 * overwrites: a new CA key would cut every box off. Delete server.crt to issue a new one.
 */
export async function provisionCa(dir: string, serverNames: readonly string[] = []): Promise<ProvisionCaResult> {
  const files = caFiles(dir);
  const created: ProvisionCaResult['created'] = [];
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(files.caCert) || !existsSync(files.caKey)) {
    // The CA profile has no SAN; the name only keeps the shared config well-formed.
    await withScratch('DNS:localhost', async (_scratch, config) => {
      writePrivateKey(files.caKey);
      await openssl(['req', '-x509', '-new', '-config', config, '-extensions', 'ca', '-key', files.caKey, '-subj', CA_SUBJECT, '-days', String(CA_DAYS), '-sha256', '-out', files.caCert]);
    });
    created.push('ca');
  }
  if (!existsSync(files.serverCert) || !existsSync(files.serverKey)) {
    const names = [...new Set([...serverNames, ...DEFAULT_SERVER_NAMES])];
    await issueLeaf({ ca: files, commonName: names[0]!, altNames: names, profile: 'server', cert: files.serverCert, key: files.serverKey });
    created.push('server');
  }
  return { files, created };
}

/** The box's HTTPS certificate (the staff page on tablets): its LAN names and addresses, signed by the franchise CA. */
export async function issueBoxServerCert(ca: CaFiles, names: readonly string[], cert: string, key: string): Promise<void> {
  await issueLeaf({ ca, commonName: names[0]!, altNames: names, profile: 'server', cert, key });
}

/** A client certificate for one point (CN and SAN = pointId), signed by the franchise CA. */
export async function issueClientCert(ca: CaFiles, pointId: string, cert: string, key: string): Promise<void> {
  await issueLeaf({ ca, commonName: pointId, altNames: [pointId], profile: 'client', cert, key });
}
