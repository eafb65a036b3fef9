/**
 * A pool of STT worker threads. Sessions go to the worker with the fewest
 * live sessions, so concurrent sessions decode in parallel on separate
 * cores. A worker that dies fails its sessions with VOICE_STT_FAILED and is
 * replaced.
 *
 * The model: an engine that can share it (Vosk) loads it once, in the first
 * worker, which hands its native address to the pool; every other worker,
 * and any replacement, uses that one model (libvosk's model is read-only
 * while decoding and reference counted, as upstream shares it across
 * threads). The pool owns it: at stop the other workers exit first, then the
 * last one frees it. Other engines load the model in each worker. An
 * address is valid only inside this process: the pool and its workers
 * share a model; pools in separate processes each load their own.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { type ErrorCode, ERROR_CODES, VoiceError } from '../../common/errors';
import type { Logger } from '../../common/log';
import type { SharedModel, SttSettings, Word } from './engine';
import type { FromWorker, ToWorker } from './messages';

const STOP_GRACE_MS = 5000;
/** What a warm session costs, MB: a pocketsphinx decoder sharing its thread's LM is ~48 MB (docs/benchmarks.md); with headroom. */
const WARM_SESSION_MB = 64;

export interface SessionEvents {
  /** The partial hypothesis so far, as timed words. */
  partial(words: Word[], endpoint: boolean, audioMs: number, commands?: Word[]): void;
  /** `commands`: the command model's words, where the engine decodes with one (SttSettings.commands). */
  final(words: Word[], confidence: number | undefined, decodeMs: number, commands?: Word[]): void;
  error(err: VoiceError): void;
}

/**
 * What the session manager needs from speech to text: this pool, in the
 * process that holds it, or the hub's STT process (hub/stt/process.ts),
 * which runs a pool inside.
 */
export interface Stt {
  readonly engineName: string;
  readonly workers: number;
  /** Sessions it can decode at once without loading anything (the warm capacity). */
  readonly capacity: number;
  /** Sessions with a recognizer open. */
  readonly liveSessions: number;
  /** False while it cannot open sessions (the STT process is being replaced); absent: always can. */
  readonly accepting?: boolean;
  /** Opens a recognizer for a session; throws a VoiceError when none can be had. */
  open(sid: string, events: SessionEvents): SttHandle;
  /** Recognizers each worker thread really holds (leak checks). */
  workerRecognizers(timeoutMs?: number): Promise<number[]>;
  /** How long to wait for a session's final, with `backlogMs` of its audio not decoded yet (admission.ts estimates it; without, a fixed wait). */
  finalWaitMs?(sid: string, backlogMs: number): number;
  stop(): Promise<void>;
}

interface Slot {
  worker: Worker;
  /** Sessions this worker has warmed up for (SttEngine.warm): the most it is given at once. */
  warm: number;
  sessions: Map<string, SessionEvents>;
  stats: Map<number, (m: { recognizers: number; decoders?: number }) => void>;
}

function asCode(code: string): ErrorCode {
  return code in ERROR_CODES ? (code as ErrorCode) : 'VOICE_STT_FAILED';
}

export class SttPool implements Stt {
  private slots: Slot[] = [];
  private stopping = false;
  private statsSeq = 0;
  /** Replacements for dead workers still loading: stop() waits for them (one must not load a shared model being freed). */
  private readonly replacing = new Set<Promise<void>>();
  /** The model every worker uses, loaded by the first (engines that share one). */
  private shared: SharedModel | undefined;
  /** Engine notices already logged (FromWorker 'notice'). */
  private readonly notices = new Set<string>();
  engineName = '';

  /** `warm`: sessions the pool can decode at once without loading anything, spread over the workers (at least one each). */
  constructor(
    private readonly settings: SttSettings,
    private readonly size: number,
    private readonly log: Logger,
    private readonly warm = size,
    /** Every worker died and none could be replaced (the STT process exits on it, and the hub starts a new one). */
    private readonly onEmpty?: () => void,
  ) {}

  static defaultSize(configured: number): number {
    return configured > 0 ? configured : Math.max(1, os.availableParallelism());
  }

  /**
   * stt.warmSessions, resolved: the configured figure, or (0) four sessions
   * per core, as far as a quarter of the machine's memory holds them at
   * WARM_SESSION_MB each; never fewer than one per worker.
   */
  static defaultWarm(configured: number, workers: number): { warm: number; basis: string } {
    if (configured > 0) return { warm: Math.max(configured, workers), basis: 'stt.warmSessions' };
    const cores = os.availableParallelism();
    const byMemory = Math.floor((os.totalmem() / 1048576 / 4) / WARM_SESSION_MB);
    const warm = Math.max(workers, Math.min(4 * cores, byMemory));
    return { warm, basis: `${cores} cores x 4, ${Math.round(os.totalmem() / 1073741824)} GB memory / 4 / ${WARM_SESSION_MB} MB per session` };
  }

  async start(): Promise<void> {
    // One worker at a time: native engines load their models with less contention, and the
    // first failure (a missing model) stops start-up before more workers are spawned.
    for (let i = 0; i < this.size; i++) {
      const share = Math.max(1, Math.floor(this.warm / this.size) + (i < this.warm % this.size ? 1 : 0));
      try {
        this.slots.push(await this.spawn(share));
      } catch (err) {
        await this.stop();
        throw err;
      }
    }
    this.log.info({ workers: this.size, engine: this.engineName, capacity: this.capacity }, 'speech-to-text ready');
  }

  private spawn(warm: number): Promise<Slot> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(path.join(__dirname, 'worker.js'), { workerData: { settings: this.settings, shared: this.shared, warm } });
      const slot: Slot = { worker, warm, sessions: new Map(), stats: new Map() };
      let ready = false;
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          ready = true;
          this.engineName = m.engine;
          this.shared ??= m.shared;
          resolve(slot);
        } else if (m.type === 'load-error') {
          reject(new VoiceError(asCode(m.code), m.message));
          void worker.terminate();
        } else if (m.type === 'notice') {
          // Every worker's engine says the same things: each once per pool.
          if (!this.notices.has(m.msg)) {
            this.notices.add(m.msg);
            this.log[m.level](m.fields ?? {}, m.msg);
          }
        } else if (m.type === 'stats') {
          slot.stats.get(m.id)?.(m);
          slot.stats.delete(m.id);
        } else {
          this.dispatch(slot, m);
        }
      });
      worker.on('error', (err) => {
        if (!ready) reject(new VoiceError('VOICE_STT_FAILED', `STT worker failed to start: ${err.message}`, undefined, { cause: err }));
        else this.log.error({ err }, 'STT worker error');
      });
      worker.on('exit', (code) => {
        if (!ready || this.stopping) return;
        this.log.error({ code, sessions: slot.sessions.size }, 'STT worker exited; failing its sessions and replacing it');
        for (const [, ev] of slot.sessions) ev.error(new VoiceError('VOICE_STT_FAILED', `STT worker exited with code ${code}`));
        slot.sessions.clear();
        this.slots = this.slots.filter((s) => s !== slot);
        const replaced = this.spawn(slot.warm).then(
          (s) => {
            if (this.stopping) return this.shutdown(s, false);
            this.slots.push(s);
          },
          (err: unknown) => {
            this.log.error({ err }, 'could not replace STT worker');
            if (!this.stopping && this.slots.length === 0 && this.replacing.size <= 1) this.onEmpty?.();
          },
        );
        this.replacing.add(replaced);
        void replaced.finally(() => this.replacing.delete(replaced));
      });
    });
  }

  private dispatch(slot: Slot, m: Exclude<FromWorker, { type: 'ready' } | { type: 'load-error' } | { type: 'stats' } | { type: 'notice' }>): void {
    const ev = slot.sessions.get(m.sid);
    if (!ev) return;
    if (m.type === 'partial') ev.partial(m.words, m.endpoint, m.audioMs, m.commands);
    else if (m.type === 'final') {
      slot.sessions.delete(m.sid);
      ev.final(m.words, m.confidence, m.decodeMs, m.commands);
    } else {
      slot.sessions.delete(m.sid);
      ev.error(new VoiceError(asCode(m.code), m.message));
    }
  }

  /**
   * Opens a recognizer for a session on the least loaded worker that has a
   * warm one free. Past the pool's capacity (the hub's admission control
   * keeps it from getting there) the least loaded worker takes it and loads
   * what it needs while its sessions wait.
   */
  open(sid: string, events: SessionEvents): SttHandle {
    const least = (slots: Slot[]) => slots.reduce<Slot | undefined>((best, s) => (!best || s.sessions.size < best.sessions.size ? s : best), undefined);
    const slot = least(this.slots.filter((s) => s.sessions.size < s.warm)) ?? least(this.slots);
    if (!slot) throw new VoiceError('VOICE_STT_FAILED', 'no STT worker is running');
    slot.sessions.set(sid, events);
    const send = (m: ToWorker, transfer?: ArrayBuffer[]) => slot.worker.postMessage(m, transfer);
    send({ type: 'open', sid });
    return {
      audio: (pcm: Buffer) => {
        // Copy into a fresh ArrayBuffer we can transfer (the MQTT buffer may be pooled).
        const ab = new ArrayBuffer(pcm.length);
        new Uint8Array(ab).set(pcm);
        send({ type: 'audio', sid, pcm: ab }, [ab]);
      },
      wake: (wakeMs: number, marginMs: number) => send({ type: 'wake', sid, wakeMs, marginMs }),
      finish: () => send({ type: 'final', sid }),
      abort: () => {
        slot.sessions.delete(sid);
        send({ type: 'abort', sid });
      },
    };
  }

  /** Sessions the running workers can decode at once with what they warmed. */
  get capacity(): number {
    return this.slots.reduce((n, s) => n + s.warm, 0);
  }

  /** Live recognizers across all workers (for stats and leak checks). */
  get liveSessions(): number {
    return this.slots.reduce((n, s) => n + s.sessions.size, 0);
  }

  /**
   * Recognizers each worker really holds, counted inside the worker thread
   * (the main thread's map could forget a session the worker still decodes).
   */
  async workerRecognizers(timeoutMs = 5000): Promise<number[]> {
    return (await this.workerCounts(timeoutMs)).map((c) => c.recognizers);
  }

  /** Per worker, counted inside it: live recognizers, and the decoders its engine holds (diagnostics). */
  workerCounts(timeoutMs = 5000): Promise<{ recognizers: number; decoders?: number }[]> {
    return Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<{ recognizers: number; decoders?: number }>((resolve, reject) => {
            const id = ++this.statsSeq;
            const timer = setTimeout(() => reject(new Error('STT worker did not answer a stats request')), timeoutMs);
            slot.stats.set(id, (m) => {
              clearTimeout(timer);
              resolve({ recognizers: m.recognizers, decoders: m.decoders });
            });
            slot.worker.postMessage({ type: 'stats', id } satisfies ToWorker);
          }),
      ),
    );
  }

  /** The worker threads (diagnostics; a test terminates one to check it is replaced). */
  get threads(): Worker[] {
    return this.slots.map((s) => s.worker);
  }

  get workers(): number {
    return this.slots.length;
  }

  /**
   * Asks each worker to exit between native calls: terminating a worker in
   * the middle of one (ps_init of a spare decoder takes ~0.25 s) aborts the
   * whole process. A worker that does not exit within STOP_GRACE_MS is
   * terminated. A shared model is freed by the last worker, once every
   * other one has exited (a terminated last worker leaves it to the
   * process's exit).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.replacing);
    const others = [...this.slots];
    const last = this.shared ? others.pop() : undefined;
    await Promise.all(others.map((s) => this.shutdown(s, false)));
    if (last) await this.shutdown(last, true);
    this.shared = undefined;
    this.slots = [];
  }

  private shutdown(s: Slot, freeSharedModel: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => void s.worker.terminate().then(() => resolve()), STOP_GRACE_MS);
      s.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      s.worker.postMessage({ type: 'shutdown', freeSharedModel } satisfies ToWorker);
    });
  }
}

export interface SttHandle {
  audio(pcm: Buffer): void;
  /** Where the session's wake word fired, ms into its audio, and session.wakeMarginMs (see session-decoder.ts). */
  wake(wakeMs: number, marginMs: number): void;
  finish(): void;
  abort(): void;
  /** Admission control (admission.ts): true while the session waits in its queue for a decoder. */
  queued?(): boolean;
}
