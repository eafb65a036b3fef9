/**
 * A native engine in a process of its own, supervised by the hub.
 *
 * Native engines (libvosk, libpocketsphinx, ONNX Runtime) can abort() the
 * whole process: a Kaldi assertion does. In the hub's process that would take
 * the embedded broker and every room's session with it. So each engine kind
 * runs in a child process (hub/engine-child.ts on the other side), and this
 * class:
 * - forks it, sends its init message and waits for `ready` (or a coded
 *   `load-error`, which rejects start());
 * - passes messages both ways over Node's IPC channel (advanced
 *   serialization, so audio travels as bytes, not JSON);
 * - when the process dies unexpectedly, reports VOICE_ENGINE_CRASHED to its
 *   owner (which fails the sessions it held) and forks a new one: at once
 *   after a first crash, then with a doubling delay (up to 30 s) while it
 *   keeps crashing within a minute of the last;
 * - stops it gracefully (a `shutdown` message, then SIGKILL after a grace).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { ERROR_CODES, type ErrorCode, VoiceError } from '../common/errors';
import type { Logger } from '../common/log';

/** What a child sends while it starts. */
export type ChildStartMessage<R> = { type: 'ready'; ready: R } | { type: 'load-error'; code: string; message: string };

/** What the hub sends a child first: the engine settings and how many times the process has been replaced before. */
export interface InitMessage<I> {
  type: 'init';
  init: I;
  generation: number;
}

export interface EngineProcessOptions<I, R, Out> {
  /** `stt` or `tts`: names the process in logs and errors. */
  kind: string;
  /** The child's entry script (compiled JavaScript). */
  script: string;
  init: I;
  log: Logger;
  /** Every message after `ready`. */
  onMessage(m: Out): void;
  /** The process died while it was not being stopped; a new one is forked next. */
  onCrash(err: VoiceError): void;
  /** A process is ready: the first one (start() also resolves) and every replacement. */
  onReady?(ready: R): void;
  /** Time allowed for a graceful shutdown before SIGKILL. */
  stopGraceMs?: number;
}

const CRASH_WINDOW_MS = 60_000;
const MAX_BACKOFF_MS = 30_000;

function asCode(code: string, fallback: ErrorCode): ErrorCode {
  return code in ERROR_CODES ? (code as ErrorCode) : fallback;
}

export class EngineProcess<I, R, In extends { type: string }, Out> {
  private child?: ChildProcess;
  private ready = false;
  private stopping = false;
  private respawnTimer?: NodeJS.Timeout;
  private lastCrashAt = 0;
  private backoffMs = 0;
  /** How many times the process has been replaced after dying. */
  restarts = 0;

  constructor(private readonly opts: EngineProcessOptions<I, R, Out>) {}

  /** The live process's pid, if one is ready. */
  get pid(): number | undefined {
    return this.ready ? this.child?.pid : undefined;
  }

  /** True while a ready process can take messages. */
  get running(): boolean {
    return this.ready && !this.stopping;
  }

  /** Forks the first process; rejects with its load error (or exit) if it never gets ready. */
  start(): Promise<R> {
    return this.spawn();
  }

  private spawn(): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const { kind, log } = this.opts;
      // The child ignores SIGINT/SIGTERM (a terminal's Ctrl-C, systemd's stop reach the whole group): the hub stops it in order.
      const child = fork(this.opts.script, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      this.child = child;
      this.ready = false;
      let started = false;
      // This child's own readiness: the supervisor's flag belongs to whichever child is current.
      let childReady = false;
      child.on('message', (raw: unknown) => {
        const m = raw as ChildStartMessage<R> | Out;
        if (!started) {
          const s = m as ChildStartMessage<R>;
          if (s.type === 'ready') {
            started = true;
            childReady = true;
            this.ready = true;
            log.info({ pid: child.pid, generation: this.restarts }, `${kind} engine process ready`);
            this.opts.onReady?.(s.ready);
            resolve(s.ready);
          } else if (s.type === 'load-error') {
            started = true;
            reject(new VoiceError(asCode(s.code, 'VOICE_INTERNAL'), s.message));
            child.kill('SIGKILL');
          }
          return;
        }
        this.opts.onMessage(m as Out);
      });
      child.on('error', (err) => log.error({ err }, `${kind} engine process error`));
      child.once('exit', (code, signal) => {
        const wasReady = childReady;
        if (this.child === child) {
          this.child = undefined;
          this.ready = false;
        }
        const how = signal ? `signal ${signal}` : `code ${code}`;
        if (!started) {
          started = true;
          reject(new VoiceError('VOICE_ENGINE_CRASHED', `the ${kind} engine process exited with ${how} before it was ready`, { engine: kind, code, signal }));
          return;
        }
        if (this.stopping || !wasReady) return;
        const err = new VoiceError('VOICE_ENGINE_CRASHED', `the ${kind} engine process died (${how}); it is being restarted`, { engine: kind, code, signal });
        log.error({ code: err.code, exit: code, signal, pid: child.pid }, err.message);
        this.opts.onCrash(err);
        this.scheduleRespawn();
      });
      child.send({ type: 'init', init: this.opts.init, generation: this.restarts } satisfies InitMessage<I>);
    });
  }

  private scheduleRespawn(): void {
    const t = Date.now();
    this.backoffMs = t - this.lastCrashAt > CRASH_WINDOW_MS ? 0 : Math.min(MAX_BACKOFF_MS, Math.max(1000, this.backoffMs * 2));
    this.lastCrashAt = t;
    this.respawnTimer = setTimeout(() => {
      this.respawnTimer = undefined;
      if (this.stopping) return;
      this.restarts++;
      this.spawn().catch((err: unknown) => {
        // A replacement that cannot load counts as another crash: try again later.
        this.opts.log.error({ err }, `${this.opts.kind} engine process could not be restarted`);
        if (!this.stopping) this.scheduleRespawn();
      });
    }, this.backoffMs);
  }

  /** Sends a message to the live process; false when none is ready (it is being restarted). */
  send(m: In): boolean {
    if (!this.running || !this.child?.connected) return false;
    this.child.send(m);
    return true;
  }

  /** Asks the process to shut down, and kills it if it has not exited within the grace. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.respawnTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), this.opts.stopGraceMs ?? 6000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      if (child.connected) child.send({ type: 'shutdown' });
      else child.kill('SIGKILL');
    });
  }
}
