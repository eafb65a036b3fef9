/**
 * Picovoice Porcupine (@picovoice/porcupine-node), used when an AccessKey is
 * configured. Porcupine validates keys online; offline or with a bad key its
 * constructor throws, which becomes VOICE_WAKE_ACCESS_KEY.
 */
import * as fs from 'node:fs';
import { VoiceError } from '../../common/errors';
import type { WakeDetection, WakeEngine } from './engine';

interface PorcupineInstance {
  frameLength: number;
  process(frame: Int16Array): number;
  release(): void;
}

export interface PorcupineOptions {
  accessKey: string;
  keyword: string;
  sensitivity: number;
}

export class PorcupineEngine implements WakeEngine {
  readonly name = 'porcupine';
  frameLength = 512;
  private porcupine?: PorcupineInstance;

  constructor(private readonly opts: PorcupineOptions) {}

  start(): Promise<void> {
    try {
      this.load();
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private load(): void {
    if (!this.opts.accessKey) throw new VoiceError('VOICE_WAKE_ACCESS_KEY', 'Porcupine needs wake.porcupine.accessKey (a Picovoice AccessKey)');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pv = require('@picovoice/porcupine-node') as {
      Porcupine: new (accessKey: string, keywords: string[], sensitivities: number[]) => PorcupineInstance;
      BuiltinKeyword: Record<string, string>;
      getBuiltinKeywordPath?: (k: string) => string;
    };
    const kw = this.opts.keyword;
    let keywordPath: string;
    if (kw.endsWith('.ppn')) {
      if (!fs.existsSync(kw)) throw new VoiceError('VOICE_WAKE_MODEL_MISSING', `Porcupine keyword file not found: ${kw}`);
      keywordPath = kw;
    } else {
      const builtin = Object.values(pv.BuiltinKeyword).find((k) => k.toLowerCase() === kw.toLowerCase());
      if (!builtin || !pv.getBuiltinKeywordPath) {
        throw new VoiceError('VOICE_WAKE_MODEL_MISSING', `"${kw}" is not a Porcupine built-in keyword (${Object.values(pv.BuiltinKeyword).join(', ')})`);
      }
      keywordPath = pv.getBuiltinKeywordPath(builtin);
    }
    try {
      this.porcupine = new pv.Porcupine(this.opts.accessKey, [keywordPath], [this.opts.sensitivity]);
    } catch (err) {
      const name = (err as Error).constructor?.name ?? 'Error';
      throw new VoiceError('VOICE_WAKE_ACCESS_KEY', `Porcupine refused to start (${name}: ${(err as Error).message.split('\n')[0]}); check wake.porcupine.accessKey, or use wake.engine=openwakeword`, { porcupineError: name }, { cause: err });
    }
    this.frameLength = this.porcupine.frameLength;
  }

  process(frame: Int16Array): Promise<WakeDetection | null> {
    const p = this.porcupine;
    if (!p) return Promise.reject(new VoiceError('VOICE_WAKE_FAILED', 'Porcupine not started'));
    const idx = p.process(frame);
    return Promise.resolve(idx >= 0 ? { keyword: this.opts.keyword, score: 1 } : null);
  }

  reset(): void {
    // Porcupine keeps no history worth clearing between sessions.
  }

  stop(): Promise<void> {
    this.porcupine?.release();
    this.porcupine = undefined;
    return Promise.resolve();
  }
}
