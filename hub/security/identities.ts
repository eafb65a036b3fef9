/**
 * Who may connect to the hub's broker: one identity per satellite, per
 * automation (Home Assistant, Node-RED…) and the hub itself, each with its
 * own secret. The store is a JSON file under the hub's state directory
 * (`hub.stateDir`), mode 0600, holding for each identity its name, role,
 * room and a scrypt hash of its secret, never the secret itself. Secrets are
 * made here (random, 32 bytes, base64url) and shown once, when added; a
 * second hash, in Mosquitto's format, is made then too, for an external
 * Mosquitto's password_file (hub/security/mosquitto.ts).
 *
 * The hub's broker reads the file again whenever it changed (refresh(), on
 * every connect and every second), so `voice-hub satellite add` takes effect
 * on the next connect and `remove` within a second, without a restart.
 */
import { pbkdf2Sync, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VoiceError } from '../../common/errors';
import { isValidId } from '../../common/protocol';

export type Role = 'hub' | 'satellite' | 'automation';
export const ROLES: readonly Role[] = ['hub', 'satellite', 'automation'];

export interface Identity {
  name: string;
  role: Role;
  /** A satellite's room: the hub uses it, not what the satellite claims. */
  room?: string;
  /** An automation that may read audio and TTS streams (off unless added with --read-audio). */
  readAudio?: boolean;
  created: string;
  /** scrypt$N$r$p$salt$hash (salt and hash base64). */
  secret: string;
  /**
   * The same secret hashed for Mosquitto's password_file ($7$..., see
   * mosquittoHash), made when the secret is made. Absent for identities
   * added before `voice-hub mosquitto export` existed.
   */
  mosquitto?: string;
}

interface StoreFile {
  version: 1;
  identities: Identity[];
}

/** The hub's own identity name. */
export const HUB_IDENTITY = 'voice-hub';
export const IDENTITIES_FILE = 'identities.json';
export const HUB_SECRET_FILE = 'hub.secret';

// scrypt's cost: ~50 ms and 16 MiB per check on this machine, done off the main thread (libuv's pool).
const N = 16384;
const R = 8;
const P = 1;
const KEYLEN = 32;

function derive(secret: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(secret, salt, KEYLEN, { N: n, r, p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))));
}

/** Hashes a secret (synchronously: ~50 ms, done when an identity is added or the hub first starts, never per connection). */
export function hashSecret(secret: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(secret, salt, KEYLEN, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !hash) return false;
  const want = Buffer.from(hash, 'base64');
  const got = await derive(secret, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p));
  return got.length === want.length && timingSafeEqual(got, want);
}

/** verifySecret, blocking (~50 ms): for the CLI only. */
function verifySecretSync(secret: string, stored: string): boolean {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !hash) return false;
  const want = Buffer.from(hash, 'base64');
  const got = scryptSync(secret, Buffer.from(salt, 'base64'), want.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: 64 * 1024 * 1024 });
  return timingSafeEqual(got, want);
}

// Mosquitto 2.0's password_file hash, as mosquitto_passwd writes it: PBKDF2-HMAC-SHA512, 101 iterations, 12-byte
// salt, 64-byte hash. Few iterations, but the secrets are 32 random bytes: nothing to guess.
const MOSQ_ITERATIONS = 101;

/** `$7$101$<salt b64>$<hash b64>`: a Mosquitto 2.0 password_file hash of the secret. */
export function mosquittoHash(secret: string): string {
  const salt = randomBytes(12);
  const hash = pbkdf2Sync(secret, salt, MOSQ_ITERATIONS, 64, 'sha512');
  return `$7$${MOSQ_ITERATIONS}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Whether a `$7$` hash is this secret's, checked as Mosquitto checks it. */
export function verifyMosquittoHash(secret: string, stored: string): boolean {
  const [, kind, iterations, salt, hash] = stored.split('$');
  if (kind !== '7' || !hash) return false;
  const want = Buffer.from(hash, 'base64');
  return timingSafeEqual(pbkdf2Sync(secret, Buffer.from(salt, 'base64'), Number(iterations), want.length, 'sha512'), want);
}

/** 32 random bytes, base64url; never starting with "-", which a command line would take for an option. */
export function newSecret(): string {
  for (;;) {
    const s = randomBytes(32).toString('base64url');
    if (/^[A-Za-z0-9]/.test(s)) return s;
  }
}

/** Writes a file whole (another name, then rename), readable by its owner only. */
export function writePrivate(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export class IdentityStore {
  readonly file: string;
  private identities = new Map<string, Identity>();
  private stamp = '';

  constructor(readonly dir: string) {
    this.file = path.join(dir, IDENTITIES_FILE);
  }

  /** Creates the state directory (0700) if needed and reads the file. */
  open(): this {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.refresh();
    return this;
  }

  /** Reads the file again if it changed since the last read; true if it did. */
  refresh(): boolean {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(this.file);
    } catch {
      st = undefined;
    }
    const stamp = st ? `${st.ino}:${st.size}:${st.mtimeMs}` : '';
    if (stamp === this.stamp) return false;
    const next = new Map<string, Identity>();
    if (st) {
      let data: StoreFile;
      try {
        data = JSON.parse(fs.readFileSync(this.file, 'utf8')) as StoreFile;
      } catch (err) {
        throw new VoiceError('VOICE_IDENTITY_STORE_INVALID', `${this.file} is not a valid identity store: ${(err as Error).message}`);
      }
      for (const i of data.identities ?? []) next.set(i.name, i);
    }
    this.identities = next;
    this.stamp = stamp;
    return true;
  }

  get(name: string): Identity | undefined {
    return this.identities.get(name);
  }

  list(): Identity[] {
    return [...this.identities.values()].sort((a, b) => a.role.localeCompare(b.role) || a.name.localeCompare(b.name));
  }

  /** The identity whose secret this is, or undefined. */
  async verify(name: string, secret: string): Promise<Identity | undefined> {
    this.refresh();
    const i = this.identities.get(name);
    if (!i || !(await verifySecret(secret, i.secret))) return undefined;
    // Removed (or given a new secret) while the hash was computed: refused all the same. The store may have been
    // read again meanwhile (another identity added), so compare what counts, not the object.
    this.refresh();
    const now = this.identities.get(name);
    return now?.secret === i.secret ? now : undefined;
  }

  /** Adds an identity with a new secret; returns the secret (shown once, stored only hashed). */
  add(name: string, role: Role, opts: { room?: string; readAudio?: boolean } = {}): string {
    if (!isValidId(name)) throw new VoiceError('VOICE_IDENTITY_INVALID', `"${String(name)}" is not a valid name: letters, digits, "_" and "-", starting with a letter or digit, at most 64`);
    if (opts.room !== undefined && !isValidId(opts.room)) throw new VoiceError('VOICE_IDENTITY_INVALID', `"${String(opts.room)}" is not a valid room name: letters, digits, "_" and "-"`);
    this.refresh();
    if (this.identities.has(name)) throw new VoiceError('VOICE_IDENTITY_EXISTS', `an identity named "${name}" exists already (${this.identities.get(name)?.role}); remove it first to give it a new secret`);
    const secret = newSecret();
    const i: Identity = { name, role, created: new Date().toISOString(), secret: hashSecret(secret), mosquitto: mosquittoHash(secret) };
    if (opts.room) i.room = opts.room;
    if (opts.readAudio) i.readAudio = true;
    this.refresh();
    this.identities.set(name, i);
    this.save();
    return secret;
  }

  remove(name: string): Identity {
    this.refresh();
    const i = this.identities.get(name);
    if (!i) throw new VoiceError('VOICE_IDENTITY_UNKNOWN', `no identity named "${name}"`);
    if (i.role === 'hub') throw new VoiceError('VOICE_IDENTITY_INVALID', `"${name}" is the hub's own identity; it cannot be removed`);
    this.identities.delete(name);
    this.save();
    return i;
  }

  private save(): void {
    writePrivate(this.file, `${JSON.stringify({ version: 1, identities: [...this.identities.values()] } satisfies StoreFile, null, 2)}\n`);
    const st = fs.statSync(this.file);
    this.stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
  }

  /**
   * The hub's own secret, made at its first start: kept in hub.secret (0600)
   * beside the store, since the hub must present it to connect; its hash is
   * in the store as identity voice-hub, role hub.
   */
  async hubSecret(): Promise<string> {
    const secret = this.readHubSecret();
    const known = this.get(HUB_IDENTITY);
    if (secret && known && (await verifySecret(secret, known.secret))) return this.keepHub(secret);
    return this.newHub();
  }

  /**
   * For `voice-hub mosquitto export` (blocking): makes the hub's identity if
   * the hub never started (it uses that secret at its first start), or its
   * Mosquitto hash from hub.secret if the store is from before it. Never
   * gives the hub a new secret while it has one: a running hub holds it.
   */
  ensureHubMosquitto(): void {
    this.refresh();
    const known = this.get(HUB_IDENTITY);
    if (!known) {
      this.newHub();
      return;
    }
    const secret = known.mosquitto ? undefined : this.readHubSecret();
    if (secret && verifySecretSync(secret, known.secret)) this.keepHub(secret);
  }

  private readHubSecret(): string | undefined {
    try {
      return fs.readFileSync(path.join(this.dir, HUB_SECRET_FILE), 'utf8').trim();
    } catch {
      return undefined;
    }
  }

  /** The hub's secret is known here, so its Mosquitto hash is (re)made when missing: a store from before Mosquitto export. */
  private keepHub(secret: string): string {
    this.refresh();
    const known = this.identities.get(HUB_IDENTITY);
    if (known && !known.mosquitto) {
      this.identities.set(HUB_IDENTITY, { ...known, mosquitto: mosquittoHash(secret) });
      this.save();
    }
    return secret;
  }

  private newHub(): string {
    const secret = newSecret();
    writePrivate(path.join(this.dir, HUB_SECRET_FILE), `${secret}\n`);
    this.refresh();
    this.identities.set(HUB_IDENTITY, { name: HUB_IDENTITY, role: 'hub', created: new Date().toISOString(), secret: hashSecret(secret), mosquitto: mosquittoHash(secret) });
    this.save();
    return secret;
  }
}
