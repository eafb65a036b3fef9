/**
 * stt.engine=crash-test, for tests only: pocketsphinx that calls libc's abort() half
 * a second into the first session of the first STT process, as a Kaldi
 * assertion would. The processes that replace it decode normally, so a test
 * can show that a native crash fails only the session it held and that the
 * next session succeeds (test/engine-crash.test.ts). `auto` never picks it.
 */
import type { AcceptResult, Recognizer, SttEngine, SttSettings } from './engine';
import { PocketsphinxEngine } from './pocketsphinx';

const ABORT_AFTER_SAMPLES = 16000 / 2;

/** libc's abort(), called through koffi as a native engine would (process.abort() is refused in worker threads). */
function nativeAbort(): never {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require('koffi') as typeof import('koffi');
  const abort = koffi.load('libc.so.6').func('void abort()') as () => void;
  abort();
  throw new Error('abort() returned');
}

export class CrashTestEngine implements SttEngine {
  readonly name = 'crash-test';
  private readonly inner: PocketsphinxEngine;

  /** `armed`: this is the first STT process (generation 0), which aborts. */
  constructor(
    settings: SttSettings['pocketsphinx'],
    private readonly armed: boolean,
  ) {
    this.inner = new PocketsphinxEngine(settings);
  }

  load(): void {
    this.inner.load();
  }

  createRecognizer(): Recognizer {
    const rec = this.inner.createRecognizer();
    if (!this.armed) return rec;
    let samples = 0;
    return {
      accept(pcm: Int16Array): AcceptResult {
        samples += pcm.length;
        if (samples >= ABORT_AFTER_SAMPLES) nativeAbort();
        return rec.accept(pcm);
      },
      final: () => rec.final(),
      restart: rec.restart ? () => rec.restart?.() : undefined,
      free: () => rec.free(),
    };
  }

  unload(): void {
    this.inner.unload();
  }
}
