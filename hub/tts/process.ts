/**
 * The hub's side of the TTS process (hub/tts/host.ts runs inside it): a
 * TtsEngine like the engines themselves, so the reply manager does not know
 * the difference. Each synthesize() sends the sentence to the process and
 * yields its PCM chunks as the process streams them. When the process dies,
 * every sentence in flight fails with VOICE_ENGINE_CRASHED (the reply
 * manager reports it and skips the rest of that reply, as for any TTS
 * failure) and a new process is started (hub/engine-process.ts); until it is
 * ready, synthesize() fails at once with that code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ERROR_CODES, type ErrorCode, VoiceError } from '../../common/errors';
import type { Logger } from '../../common/log';
import { EngineProcess } from '../engine-process';
import type { TtsEngine, TtsFormat } from './engine';
import { type FromTtsProcess, type TtsProcessInit, type TtsProcessReady, type ToTtsProcess, ttsTempDir } from './messages';

function asCode(code: string): ErrorCode {
  return code in ERROR_CODES ? (code as ErrorCode) : 'VOICE_TTS_FAILED';
}

/** One sentence in flight: the chunks not yet taken, and how it ended. */
interface Stream {
  chunks: Buffer[];
  done: boolean;
  error?: VoiceError;
  /** Wakes the iterator waiting for the next chunk. */
  wake?: () => void;
}

export class TtsProcess implements TtsEngine {
  private readonly proc: EngineProcess<TtsProcessInit, TtsProcessReady, ToTtsProcess, FromTtsProcess>;
  private readonly streams = new Map<number, Stream>();
  private seq = 0;
  /** The pid of the process that was last ready (its temporary directory is removed when it dies). */
  private lastPid?: number;
  readonly name: string;
  format: TtsFormat = { encoding: 's16le', rate: 16000, channels: 1 };
  /** Piper's intra-op threads in the process (undefined for flite). */
  threads?: number;

  constructor(init: TtsProcessInit, log: Logger) {
    this.name = init.engine;
    this.proc = new EngineProcess({
      kind: 'tts',
      script: path.join(__dirname, 'host.js'),
      init,
      log,
      onMessage: (m) => this.dispatch(m),
      onCrash: (err) => {
        this.removeTempDir();
        const held = [...this.streams.values()];
        this.streams.clear();
        for (const s of held) {
          s.error = err;
          s.wake?.();
        }
      },
      onReady: (r) => {
        this.lastPid = this.proc.pid;
        this.format = r.format;
        this.threads = r.threads;
      },
    });
  }

  async start(): Promise<void> {
    await this.proc.start();
  }

  /** How many times the process died and was replaced. */
  get restarts(): number {
    return this.proc.restarts;
  }

  /** The live process's pid (tests kill it; undefined while it restarts). */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Sentences being synthesized or not yet read to their end. */
  get inFlight(): number {
    return this.streams.size;
  }

  private dispatch(m: FromTtsProcess): void {
    const s = this.streams.get(m.id);
    if (!s) return; // aborted, or its reader gave up
    if (m.type === 'chunk') s.chunks.push(Buffer.from(m.pcm.buffer, m.pcm.byteOffset, m.pcm.byteLength));
    else if (m.type === 'end') s.done = true;
    else s.error = new VoiceError(asCode(m.code), m.message);
    s.wake?.();
  }

  async *synthesize(text: string, signal: AbortSignal): AsyncIterable<Buffer> {
    if (signal.aborted) return;
    const id = ++this.seq;
    const s: Stream = { chunks: [], done: false };
    this.streams.set(id, s);
    if (!this.proc.send({ type: 'synth', id, text })) {
      this.streams.delete(id);
      throw new VoiceError('VOICE_ENGINE_CRASHED', 'the TTS engine process is restarting; the sentence was not spoken', { engine: 'tts' });
    }
    const onAbort = () => s.wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal.aborted) return;
        const chunk = s.chunks.shift();
        if (chunk) yield chunk;
        else if (s.error) throw s.error;
        else if (s.done) return;
        else {
          await new Promise<void>((resolve) => (s.wake = resolve));
          s.wake = undefined;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      // Aborted, or the reader stopped early: the process stops working on it.
      if (this.streams.delete(id) && !s.done && !s.error) this.proc.send({ type: 'abort', id });
    }
  }

  private removeTempDir(): void {
    if (this.lastPid !== undefined) fs.rmSync(ttsTempDir(this.lastPid), { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    for (const s of this.streams.values()) {
      s.done = true;
      s.wake?.();
    }
    this.streams.clear();
    await this.proc.stop();
    this.removeTempDir(); // the process removes it itself, unless it had to be killed
  }
}
