/**
 * The hub's side of the STT process (hub/stt/host.ts runs inside it). It
 * offers what the session manager needs (the `Stt` interface, which the
 * in-process SttPool offers too): a session's messages go to the process,
 * its partials and final come back. When the process dies, every session it
 * held fails with VOICE_ENGINE_CRASHED and a new process is started
 * (hub/engine-process.ts); until it is ready, open() refuses with that code.
 */
import * as path from 'node:path';
import { ERROR_CODES, type ErrorCode, VoiceError } from '../../common/errors';
import type { Logger } from '../../common/log';
import { EngineProcess } from '../engine-process';
import type { SttSettings } from './engine';
import type { FromSttProcess, SttProcessInit, SttProcessReady, ToSttProcess } from './messages';
import type { SessionEvents, Stt, SttHandle } from './pool';

export interface WorkerStats {
  recognizers: number[];
  threads: number[];
}

function asCode(code: string): ErrorCode {
  return code in ERROR_CODES ? (code as ErrorCode) : 'VOICE_STT_FAILED';
}

export class SttProcess implements Stt {
  private readonly proc: EngineProcess<SttProcessInit, SttProcessReady, ToSttProcess, FromSttProcess>;
  private readonly sessions = new Map<string, SessionEvents>();
  private readonly statsWaiters = new Map<number, (s: WorkerStats) => void>();
  private statsSeq = 0;
  private readonly replacedListeners: (() => void)[] = [];
  engineName = '';
  workers = 0;
  capacity = 0;

  constructor(settings: SttSettings, workers: number, warm: number, logLevel: string, log: Logger) {
    this.proc = new EngineProcess({
      kind: 'stt',
      script: path.join(__dirname, 'host.js'),
      init: { settings, workers, warm, logLevel },
      log,
      onMessage: (m) => this.dispatch(m),
      onCrash: (err) => {
        const held = [...this.sessions.values()];
        this.sessions.clear();
        for (const ev of held) ev.error(err);
      },
      onReady: (r) => {
        this.engineName = r.engine;
        this.workers = r.workers;
        this.capacity = r.capacity;
        if (this.proc.restarts > 0) for (const fn of this.replacedListeners) fn();
      },
    });
  }

  async start(): Promise<void> {
    await this.proc.start();
  }

  /** False while the process is being replaced: open() refuses then. */
  get accepting(): boolean {
    return this.proc.running;
  }

  /** Calls `fn` each time a replacement process is ready (admission control lets its queue move then). */
  onReplaced(fn: () => void): void {
    this.replacedListeners.push(fn);
  }

  /** How many times the process died and was replaced. */
  get restarts(): number {
    return this.proc.restarts;
  }

  /** The live process's pid (tests kill it; undefined while it restarts). */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  private dispatch(m: FromSttProcess): void {
    if (m.type === 'stats') {
      this.statsWaiters.get(m.id)?.({ recognizers: m.recognizers, threads: m.threads });
      this.statsWaiters.delete(m.id);
      return;
    }
    const ev = this.sessions.get(m.sid);
    if (!ev) return;
    if (m.type === 'partial') ev.partial(m.words, m.endpoint, m.audioMs, m.commands);
    else if (m.type === 'final') {
      this.sessions.delete(m.sid);
      ev.final(m.words, m.confidence, m.decodeMs, m.commands);
    } else {
      this.sessions.delete(m.sid);
      ev.error(new VoiceError(asCode(m.code), m.message));
    }
  }

  open(sid: string, events: SessionEvents): SttHandle {
    if (!this.proc.send({ type: 'open', sid })) throw new VoiceError('VOICE_ENGINE_CRASHED', 'the STT engine process is restarting; wake refused', { engine: 'stt' });
    this.sessions.set(sid, events);
    const send = (m: ToSttProcess) => {
      // A session whose process died has already been failed; what it still sends goes nowhere.
      if (this.sessions.has(sid)) this.proc.send(m);
    };
    return {
      audio: (pcm: Buffer) => send({ type: 'audio', sid, pcm }),
      wake: (wakeMs: number, marginMs: number) => send({ type: 'wake', sid, wakeMs, marginMs }),
      finish: () => send({ type: 'final', sid }),
      abort: () => {
        send({ type: 'abort', sid });
        this.sessions.delete(sid);
      },
    };
  }

  get liveSessions(): number {
    return this.sessions.size;
  }

  /** Recognizers each worker thread in the process really holds (leak checks). */
  async workerRecognizers(timeoutMs = 5000): Promise<number[]> {
    return (await this.workerStats(timeoutMs)).recognizers;
  }

  /** Per worker thread of the process: the recognizers it holds and its threadId (diagnostics). */
  workerStats(timeoutMs = 5000): Promise<WorkerStats> {
    return this.request((id) => ({ type: 'stats', id }), timeoutMs);
  }

  /** Diagnostics (tests): terminates worker thread `index` of the process, which its pool replaces; resolves once it has exited. */
  terminateWorker(index: number, timeoutMs = 5000): Promise<WorkerStats> {
    return this.request((id) => ({ type: 'terminate-worker', id, index }), timeoutMs);
  }

  private request(message: (id: number) => ToSttProcess, timeoutMs: number): Promise<WorkerStats> {
    return new Promise((resolve, reject) => {
      const id = ++this.statsSeq;
      const timer = setTimeout(() => {
        this.statsWaiters.delete(id);
        reject(new Error('the STT process did not answer a stats request'));
      }, timeoutMs);
      this.statsWaiters.set(id, (n) => {
        clearTimeout(timer);
        resolve(n);
      });
      if (!this.proc.send(message(id))) {
        clearTimeout(timer);
        this.statsWaiters.delete(id);
        reject(new Error('the STT process is restarting'));
      }
    });
  }

  stop(): Promise<void> {
    this.sessions.clear();
    return this.proc.stop();
  }
}
