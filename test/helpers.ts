/** Shared test helpers: speech fixtures from flite, real processes, MQTT waits, WER. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { wavFromPcm } from '../common/wav';
import { satelliteSchema } from '../config/satellite';
import { adminAuth, registerBroker, satelliteArgs, withStateDir } from './credentials';
import { noisy, speak } from './speech-fixtures';

export const ROOT = path.resolve(__dirname, '..', '..');
export const DIST = path.join(ROOT, 'dist');
export const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'voice-test-'));

/** Rejects with a clear error if `p` has not settled within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** Every child a test file starts; the `after` below kills the ones still running, whatever the tests did. */
const children = new Set<ChildProcess>();

/** Registers a child process so it is killed after the file's tests even if an assertion threw first. */
export function track<C extends ChildProcess>(child: C): C {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** spawn() whose child is killed after the file's tests (same overloads as spawn). */
export const spawnTracked = ((...args: Parameters<typeof spawn>) => track(spawn(...args))) as unknown as typeof spawn;

/** Kills every tracked child still running (SIGTERM, then SIGKILL after 5 s); waits at most 10 s. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...children].map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      const k = setTimeout(() => c.kill('SIGKILL'), 5000);
      await withTimeout(gone, 10000, `pid ${c.pid} to exit`).catch(() => undefined);
      clearTimeout(k);
    }),
  );
}

// In a test file (run by `node --test`, or directly), a root-level `after` kills any child still running, even when a
// test or hook threw. Not registered for scripts that borrow these helpers (bench): that would start a test run.
if (process.env.NODE_TEST_CONTEXT !== undefined || /\.test\.js$/.test(require.main?.filename ?? '')) after(killAll);
// Last resort for any user of these helpers: no child outlives this process.
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export { speak } from './speech-fixtures';

export function silence(ms: number): Buffer {
  return Buffer.alloc(Math.round(ms * 16) * 2);
}

/**
 * Writes a 16 kHz WAV: leading silence, "hey jarvis", a short gap, the command, all over the pink noise floor
 * (`noisy`: 40 dB below the speech), as a microphone hears it.
 */
export function wakeCommandWav(command: string, opts: { lead?: number; gap?: number; name?: string } = {}): string {
  const pcm = noisy(Buffer.concat([silence(opts.lead ?? 1000), speak('hey jarvis'), silence(opts.gap ?? 400), speak(command)]));
  const file = path.join(TMP, `${opts.name ?? command.replace(/\W+/g, '-').slice(0, 40)}.wav`);
  fs.writeFileSync(file, wavFromPcm(pcm));
  return file;
}

export const COMMANDS = [
  'turn off the kitchen light',
  'what is the weather like today',
  'set a timer for ten minutes',
  'play some music in the living room',
  'turn on the bedroom lamp',
];

function words(s: string): string[] {
  return s.toLowerCase().replace(/[^a-z' ]/g, ' ').split(/\s+/).filter(Boolean);
}

/** Word error rate: word-level Levenshtein distance / reference length. */
export function wer(reference: string, hypothesis: string): { errors: number; words: number; rate: number } {
  const r = words(reference);
  const h = words(hypothesis);
  const d: number[][] = Array.from({ length: r.length + 1 }, (_, i) => Array.from({ length: h.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= r.length; i++) {
    for (let j = 1; j <= h.length; j++) {
      const row = d[i];
      const prev = d[i - 1];
      row[j] = Math.min((prev[j]) + 1, (row[j - 1]) + 1, (prev[j - 1]) + (r[i - 1] === h[j - 1] ? 0 : 1));
    }
  }
  const errors = (d[r.length])[h.length];
  return { errors, words: r.length, rate: r.length ? errors / r.length : 0 };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export function waitPort(port: number, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => (Date.now() > end ? reject(new Error(`port ${port} never opened`)) : setTimeout(attempt, 50)));
    };
    attempt();
  });
}

export interface Proc {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first log line (parsed JSON) matching the predicate. */
  waitLog(pred: (o: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code; await it only through waitExit (or withTimeout). */
  exited: Promise<number | null>;
  /** The exit code, or a rejection if the process has not exited within timeoutMs. */
  waitExit(timeoutMs?: number): Promise<number | null>;
  /** SIGTERM, SIGKILL after 8 s; resolves with the exit code (rejects if even SIGKILL took over 15 s). */
  stop(): Promise<number | null>;
}

/** Runs one of our processes (dist/<script>) with args; collects stdout JSON log lines. */
export function runNode(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  // Credentials, as a user provisions them (test/credentials.ts): a hub gets a state directory of its own, a satellite an identity.
  let stateDir: string | undefined;
  if (script === 'hub/main.js') ({ args, dir: stateDir } = withStateDir(args, TMP, env));
  else if (script === 'satellite/main.js') args = satelliteArgs(args, env, satelliteSchema.satellite.id.default);
  const child = track(spawn(process.execPath, [path.join(DIST, script), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  const lines: string[] = [];
  const waiters: { pred: (o: Record<string, unknown>) => boolean; resolve: (o: Record<string, unknown>) => void }[] = [];
  let buf = '';
  const onLine = (line: string) => {
    lines.push(line);
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (stateDir && o.msg === 'embedded MQTT broker listening') for (const port of [o.port, o.tlsPort]) if (typeof port === 'number') registerBroker(port, stateDir);
    for (const w of [...waiters]) {
      if (w.pred(o)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(o);
      }
    }
  };
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr?.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitExit(timeoutMs = 30000) {
      return withTimeout(exited, timeoutMs, `${script} to exit`);
    },
    waitLog(pred, timeoutMs = 30000) {
      const seen = lines.map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return null;
        }
      });
      const hit = seen.find((o) => o && pred(o));
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (o: Record<string, unknown>) => (clearTimeout(t), resolve(o)) };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for a log line from ${script}; output:\n${lines.slice(-30).join('\n')}`));
        }, timeoutMs);
        waiters.push(w);
        void exited.then((code) => {
          if (waiters.includes(w)) {
            clearTimeout(t);
            waiters.splice(waiters.indexOf(w), 1);
            reject(new Error(`${script} exited (${code}) before the expected log line; output:\n${lines.slice(-30).join('\n')}`));
          }
        });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 8000);
      try {
        return await withTimeout(exited, 15000, `${script} to stop`);
      } finally {
        clearTimeout(t);
      }
    },
  };
}

/** Starts the hub as a real process with its embedded broker on a free port. */
export async function startHubProcess(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ proc: Proc; url: string; port: number }> {
  const proc = runNode('hub/main.js', ['--broker-port', '0', '--broker-host', '127.0.0.1', ...args], env);
  const line = await proc.waitLog((o) => o.msg === 'embedded MQTT broker listening');
  await proc.waitLog((o) => o.msg === 'hub ready');
  const port = line.port as number;
  return { proc, url: `mqtt://127.0.0.1:${port}`, port };
}

export function connect(url: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { reconnectPeriod: 200, connectTimeout: 5000, ...adminAuth(url) });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

/** Collects messages on a subscription; `next` waits for one matching a predicate. */
export class Collector {
  readonly messages: { topic: string; payload: Buffer; at: number }[] = [];
  private waiters: { pred: (t: string, p: Buffer) => boolean; resolve: (m: { topic: string; payload: Buffer; at: number }) => void }[] = [];
  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      const m = { topic, payload: Buffer.from(payload), at: Date.now() };
      this.messages.push(m);
      for (const w of [...this.waiters]) {
        if (w.pred(topic, m.payload)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
  }

  static async create(url: string, filter: string | string[]): Promise<Collector> {
    const c = await connect(url);
    const col = new Collector(c);
    await c.subscribeAsync(filter, { qos: 1 });
    return col;
  }

  next(pred: (topic: string, payload: Buffer) => boolean, timeoutMs = 30000, from = 0): Promise<{ topic: string; payload: Buffer; at: number }> {
    const hit = this.messages.slice(from).find((m) => pred(m.topic, m.payload));
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (m: { topic: string; payload: Buffer; at: number }) => (clearTimeout(t), resolve(m)) };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`timed out after ${timeoutMs} ms; topics seen: ${[...new Set(this.messages.map((m) => m.topic.replace(/audio\/[^/]+$/, 'audio/<sid>')))].join(', ')}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  json(topicPred: (t: string) => boolean): Record<string, unknown>[] {
    return this.messages.filter((m) => topicPred(m.topic)).map((m) => JSON.parse(m.payload.toString()) as Record<string, unknown>);
  }

  end(): Promise<void> {
    return this.client.endAsync();
  }
}

export function jsonOf(m: { payload: Buffer }): Record<string, unknown> {
  return JSON.parse(m.payload.toString()) as Record<string, unknown>;
}

/**
 * Acts as a satellite on a raw MQTT client: wake, audio start, the PCM of
 * `text` spoken by flite (100 ms frames, faster than real time), stop.
 * Returns the session id.
 */
export function speakSession(client: MqttClient, satellite: string, text: string, room?: string): Promise<string> {
  return streamSession(client, satellite, Buffer.concat([speak(text), silence(300)]), room);
}

/** speakSession over the room's noise floor (300 ms of it before the speech, 400 ms after), as a real microphone hears it. */
export function speakNoisySession(client: MqttClient, satellite: string, text: string): Promise<string> {
  return streamSession(client, satellite, noisy(Buffer.concat([silence(300), speak(text), silence(400)])));
}

async function streamSession(client: MqttClient, satellite: string, pcm: Buffer, room?: string): Promise<string> {
  const { randomUUID } = await import('node:crypto');
  const sid = randomUUID();
  const T = `voice/satellite/${satellite}`;
  const time = new Date().toISOString();
  await client.publishAsync(`${T}/wake`, JSON.stringify({ sessionId: sid, wakeWord: 'hey_jarvis', score: 0.9, time, room }), { qos: 1 });
  await client.publishAsync(`${T}/audio/${sid}/start`, JSON.stringify({ sessionId: sid, format: { encoding: 's16le', rate: 16000, channels: 1 }, time }), { qos: 1 });
  for (let off = 0; off < pcm.length; off += 3200) {
    await client.publishAsync(`${T}/audio/${sid}`, pcm.subarray(off, off + 3200), { qos: 0 });
    await new Promise((r) => setTimeout(r, 5));
  }
  await client.publishAsync(`${T}/audio/${sid}/stop`, JSON.stringify({ sessionId: sid, reason: 'silence', time }), { qos: 1 });
  return sid;
}

/**
 * A microphone the test speaks into: a FIFO that a satellite reads with its
 * command source (`--audio-source command --audio-command "cat <fifo>"`).
 * `play` writes PCM at real-time pace and reports when given offsets were
 * written, i.e. when that audio reached the satellite: a clock independent
 * of the satellite's own logs and timestamps.
 */
export class FifoMic {
  readonly file: string;
  private out?: fs.WriteStream;
  private opened = false;

  constructor(name: string) {
    this.file = path.join(TMP, `${name}-mic.fifo`);
    execFileSync('mkfifo', [this.file]);
  }

  /** The satellite's audio.command. */
  get command(): string {
    return `cat ${this.file}`;
  }

  /** Opens the write end; resolves once the satellite's `cat` has the other end open. */
  async open(timeoutMs = 30000): Promise<void> {
    const out = fs.createWriteStream(this.file);
    this.out = out;
    out.on('error', () => undefined); // EPIPE once the satellite is gone
    await withTimeout(new Promise<void>((resolve) => out.once('open', () => resolve())), timeoutMs, `the satellite to open ${this.file}`);
    this.opened = true;
  }

  private write(b: Buffer): Promise<void> {
    const out = this.out;
    if (!out) return Promise.reject(new Error('FifoMic.open() first'));
    return new Promise((resolve, reject) => out.write(b, (e) => (e ? reject(e) : resolve())));
  }

  /**
   * Writes `pcm` in 100 ms chunks at real-time pace. Returns, for each byte
   * offset in `marks`, the wall time (Date.now()) at which the chunk holding
   * that byte had been handed to the satellite.
   */
  async play(pcm: Buffer, marks: number[] = []): Promise<number[]> {
    const chunk = 3200;
    const at = marks.map(() => Number.NaN);
    const t0 = Date.now();
    for (let off = 0, i = 0; off < pcm.length; off += chunk, i++) {
      const wait = t0 + i * 100 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await this.write(pcm.subarray(off, off + chunk));
      const now = Date.now();
      marks.forEach((m, k) => {
        if (Number.isNaN(at[k]) && m < off + chunk) at[k] = now;
      });
    }
    return at;
  }

  /** Closes the write end (the satellite's `cat` sees EOF). If no reader ever came, unblocks the pending open. */
  close(): void {
    if (!this.opened && this.out) {
      try {
        fs.closeSync(fs.openSync(this.file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK));
      } catch {
        // nothing to unblock
      }
    }
    this.out?.end();
  }
}

/** A directory shaped like a Vosk model (am/, conf/) whose model file is garbage: libvosk refuses it. */
export function brokenVoskModelDir(name: string): string {
  const dir = path.join(TMP, name);
  fs.mkdirSync(path.join(dir, 'am'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'conf'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'am', 'final.mdl'), 'not a model');
  return dir;
}
