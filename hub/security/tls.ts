/**
 * The hub's own certificate authority, for mqtts on the embedded broker
 * (docs/security.md "TLS"). `voice-hub tls init` makes a CA (10 years) and
 * a server certificate it signs for the hub's host names and addresses
 * (825 days); satellites trust only that CA file (`mqtt.ca`), so they talk
 * to this hub and nothing else. Keys are RSA 2048, made by Node's crypto;
 * node-forge builds and signs the X.509 certificates (SHA-256).
 *
 * Files, under `hub.stateDir`/tls: ca.crt, ca.key (0600), server.crt,
 * server.key (0600). Issuing again keeps the CA, so satellites need nothing
 * new; a new CA (rotation) means copying ca.crt to every satellite.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import forge from 'node-forge';
import { VoiceError } from '../../common/errors';
import { writePrivate } from './identities';

export const TLS_DIR = 'tls';
export const CA_VALID_DAYS = 3650;
export const SERVER_VALID_DAYS = 825;
const DAY_MS = 86_400_000;

export interface TlsFiles {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

export function tlsFiles(stateDir: string): TlsFiles {
  const dir = path.join(stateDir, TLS_DIR);
  return { caCert: path.join(dir, 'ca.crt'), caKey: path.join(dir, 'ca.key'), cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key') };
}

/** The names a satellite may use for this machine: its host name (and .local), localhost, and every address of its interfaces. */
export function defaultNames(): { dns: string[]; ips: string[] } {
  const host = os.hostname();
  const dns = [...new Set([host, `${host}.local`, 'localhost'])];
  const ips = new Set(['127.0.0.1', '::1']);
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (!a.address.startsWith('fe80:')) ips.add(a.address);
  return { dns, ips: [...ips] };
}

function rsaKeys(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const key = forge.pki.privateKeyFromPem(pem);
  return { privateKey: key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e), pem };
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]) & 0x7f; // positive
  return b.toString('hex');
}

export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
}

function validity(cert: forge.pki.Certificate, days: number, v: Validity): void {
  // An hour back, so a satellite whose clock is a little behind still accepts it.
  cert.validity.notBefore = v.notBefore ?? new Date(Date.now() - 3_600_000);
  cert.validity.notAfter = v.notAfter ?? new Date(Date.now() + days * DAY_MS);
}

/** A new CA: its certificate and key, PEM. */
export function makeCa(commonName = `voice-hub local CA (${os.hostname()})`, v: Validity = {}): { cert: string; key: string } {
  const keys = rsaKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, CA_VALID_DAYS, v);
  const attrs = [{ name: 'commonName', value: commonName }, { name: 'organizationName', value: 'voice-hub' }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
}

/** A server certificate for these names and addresses, signed by the CA. */
export function issueServer(ca: { cert: string; key: string }, names: { dns: string[]; ips: string[] }, v: Validity & { days?: number } = {}): { cert: string; key: string } {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const keys = rsaKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, v.days ?? SERVER_VALID_DAYS, v);
  cert.setSubject([{ name: 'commonName', value: names.dns[0] ?? names.ips[0] ?? 'voice-hub' }]);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [...names.dns.map((value) => ({ type: 2, value })), ...names.ips.map((ip) => ({ type: 7, ip }))];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
}

/** Writes the CA (made if missing, or if `newCa`) and a fresh server certificate; returns what was done. */
export function initTls(stateDir: string, opts: { names?: { dns: string[]; ips: string[] }; newCa?: boolean; days?: number } = {}): { files: TlsFiles; newCa: boolean; names: { dns: string[]; ips: string[] }; notAfter: Date } {
  const files = tlsFiles(stateDir);
  fs.mkdirSync(path.dirname(files.cert), { recursive: true, mode: 0o700 });
  let ca: { cert: string; key: string } | undefined;
  if (!opts.newCa && fs.existsSync(files.caCert) && fs.existsSync(files.caKey)) ca = { cert: fs.readFileSync(files.caCert, 'utf8'), key: fs.readFileSync(files.caKey, 'utf8') };
  const made = ca === undefined;
  if (!ca) {
    ca = makeCa();
    writePrivate(files.caKey, ca.key);
    fs.writeFileSync(files.caCert, ca.cert, { mode: 0o644 });
  }
  const names = opts.names ?? defaultNames();
  const server = issueServer(ca, names, { days: opts.days });
  writePrivate(files.key, server.key);
  fs.writeFileSync(files.cert, server.cert, { mode: 0o644 });
  return { files, newCa: made, names, notAfter: new Date(new X509Certificate(server.cert).validTo) };
}

export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  /** When the certificate stops being valid. */
  notAfter: Date;
  subjectAltName: string;
}

/** Reads and checks a certificate and its key (readable, PEM, matching): VOICE_TLS_INVALID otherwise. */
export function loadServerTls(certFile: string, keyFile: string): ServerTls {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = fs.readFileSync(certFile);
    key = fs.readFileSync(keyFile);
  } catch (err) {
    throw new VoiceError('VOICE_TLS_INVALID', `cannot read the broker's TLS certificate or key: ${(err as Error).message}; run \`voice-hub tls init\` or set broker.tls.cert and broker.tls.key`);
  }
  let x: X509Certificate;
  try {
    x = new X509Certificate(cert);
  } catch (err) {
    throw new VoiceError('VOICE_TLS_INVALID', `${certFile} is not a PEM certificate: ${(err as Error).message}`);
  }
  let matches: boolean;
  try {
    matches = x.checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw new VoiceError('VOICE_TLS_INVALID', `${keyFile} is not a PEM private key: ${(err as Error).message}`);
  }
  if (!matches) throw new VoiceError('VOICE_TLS_INVALID', `${keyFile} is not the key of ${certFile}`);
  return { cert, key, notAfter: new Date(x.validTo), subjectAltName: x.subjectAltName ?? '' };
}

export interface BrokerTlsConfig {
  stateDir: string;
  host: string;
  plain: 'on' | 'loopback' | 'off';
  tls: { enabled: 'auto' | 'on' | 'off'; host: string; port: number; cert: string; key: string; ca: string };
}

/** The mqtts listener's certificate, key and CA files: broker.tls.cert/key/ca, or where `voice-hub tls init` writes them. */
export function brokerTlsPaths(c: Pick<BrokerTlsConfig, 'stateDir' | 'tls'>): { cert: string; key: string; ca: string } {
  const files = tlsFiles(c.stateDir);
  return { cert: c.tls.cert || files.cert, key: c.tls.key || files.key, ca: c.tls.ca || files.caCert };
}

/** Whether the embedded broker listens for mqtts with this config (broker.tls.enabled on, or auto and the certificate exists). */
export function tlsOffered(c: BrokerTlsConfig): boolean {
  return c.tls.enabled === 'on' || (c.tls.enabled === 'auto' && fs.existsSync(brokerTlsPaths(c).cert));
}

/** What the embedded broker's mqtts listener uses, or undefined when TLS is off; the CA file the hub verifies itself with. */
export function resolveBrokerTls(c: BrokerTlsConfig): { listener?: { host: string; port: number; cert: Buffer; key: Buffer; notAfter: Date }; caFile: string } {
  const { cert: certFile, key: keyFile, ca: caFile } = brokerTlsPaths(c);
  if (!tlsOffered(c)) {
    if (c.plain === 'off') throw new VoiceError('VOICE_TLS_INVALID', `broker.plain is off and the broker has no TLS certificate (${certFile}; broker.tls.enabled ${c.tls.enabled}): it would have no listener. Run \`voice-hub tls init\` or set broker.plain`);
    return { caFile };
  }
  const t = loadServerTls(certFile, keyFile);
  return { listener: { host: c.tls.host || c.host, port: c.tls.port, cert: t.cert, key: t.key, notAfter: t.notAfter }, caFile };
}

/** The URL the hub itself uses for its embedded broker: plain on loopback when it can, else mqtts to itself. */
export function hubSelfUrl(c: { host: string; plain: 'on' | 'loopback' | 'off' }, ports: { plain: number; tls: number }, tlsHost: string): { url: string; tls: boolean } {
  const anyAddress = (h: string) => h === '0.0.0.0' || h === '::' || h === '';
  if (c.plain === 'loopback') return { url: `mqtt://127.0.0.1:${ports.plain}`, tls: false };
  if (c.plain === 'on') return { url: `mqtt://${anyAddress(c.host) ? '127.0.0.1' : c.host}:${ports.plain}`, tls: false };
  const host = anyAddress(tlsHost) ? 'localhost' : net.isIPv6(tlsHost) ? `[${tlsHost}]` : tlsHost;
  return { url: `mqtts://${host}:${ports.tls}`, tls: true };
}

/** Says at start when the broker's certificate has expired (clients refuse it) or expires within 30 days. */
export function warnExpiry(notAfter: Date, log: { warn(o: object, m: string): void; error(o: object, m: string): void }): void {
  const days = (notAfter.getTime() - Date.now()) / DAY_MS;
  const o = { code: 'VOICE_TLS_INVALID', notAfter: notAfter.toISOString() };
  if (days <= 0) log.error(o, "the broker's TLS certificate has expired: satellites refuse it. Run `voice-hub tls init` (the CA is kept) and restart the hub");
  else if (days <= 30) log.warn({ ...o, days: Math.floor(days) }, "the broker's TLS certificate expires soon. Run `voice-hub tls init` (the CA is kept) and restart the hub");
}
