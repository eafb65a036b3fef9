/**
 * Piper voices (.onnx + .onnx.json) in Node, as Piper speaks them:
 * - the voice config is checked at start (piper-voice.ts): phoneme type,
 *   speaker id against num_speakers, the model's inputs;
 * - text is cut into pieces the phonemizer can take (piper-text.ts), then
 *   phonemized piece by piece: espeak voices by piper_phonemize in
 *   WebAssembly (piper-phonemizer.ts), which also splits sentences as Piper
 *   does; "text" voices by their codepoints;
 * - phonemes -> ids with the voice's phoneme_id_map (BOS ^, pad _ after every
 *   phoneme, EOS $); phonemes the map lacks are skipped and logged, as
 *   upstream does;
 * - inference on onnxruntime-node, one sentence at a time, with
 *   tts.piper.threads intra-op threads (in the TTS process, hub/tts/host.ts,
 *   so its synchronous run() never stalls the hub): input [1,N] int64,
 *   input_lengths [1], scales [3] (noise, length, noise_w), sid [1] for
 *   multi-speaker voices; output float32 [1,1,T] at audio.sample_rate,
 *   normalised to int16 like Piper does.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import pino from 'pino';
import { toVoiceError, VoiceError } from '../../common/errors';
import type { Logger } from '../../common/log';
import { chunkBytes, type TtsEngine, type TtsFormat } from './engine';
import { PiperPhonemizer } from './piper-phonemizer';
import { describeMissing, phonemesToIds, splitText, textPhonemes } from './piper-text';
import { checkInputs, loadVoiceConfig, type PiperVoice } from './piper-voice';

export { PiperPhonemizer } from './piper-phonemizer';
export { phonemesToIds } from './piper-text';

export interface PiperOptions {
  /** Path of the voice's .onnx file; its config is the same path + .json. */
  voice: string;
  speaker: number;
  lengthScale: number;
  /** ONNX Runtime intra-op threads; 0 or absent: PiperEngine.defaultThreads(). */
  threads?: number;
}

export class PiperEngine implements TtsEngine {
  readonly name = 'piper';
  format: TtsFormat = { encoding: 's16le', rate: 22050, channels: 1 };
  private voice!: PiperVoice;
  private ort!: typeof Ort;
  private session?: Ort.InferenceSession;
  readonly phonemizer = new PiperPhonemizer();

  constructor(
    private readonly opts: PiperOptions,
    private readonly log: Logger = pino({ level: 'silent' }),
  ) {}

  static configPath(voice: string): string {
    return `${voice}.json`;
  }

  /**
   * Intra-op threads when tts.piper.threads is 0: half the cores, 1 to 4. Measured on 2 cores
   * (docs/benchmarks.md section 7): a second thread speeds one sentence up only while the other core is
   * idle (143 -> 79 ms), and on a hub it is not (STT, the broker); with it busy, 2 threads were slower than
   * 1 (196 against 142 ms) and cost 65 % more CPU.
   */
  static defaultThreads(cores = os.availableParallelism()): number {
    return Math.max(1, Math.min(4, Math.floor(cores / 2)));
  }

  /** The intra-op threads the session runs with. */
  get threads(): number {
    return this.opts.threads || PiperEngine.defaultThreads();
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
      this.session = await this.ort.InferenceSession.create(file, { intraOpNumThreads: this.threads, interOpNumThreads: 1 });
    } catch (err) {
      throw new VoiceError('VOICE_TTS_VOICE_INVALID', `Piper voice ${file} could not be loaded: ${(err as Error).message}`, undefined, { cause: err });
    }
    checkInputs(file, this.session.inputNames, this.voice);
    if (this.voice.phonemeType !== 'espeak') return;
    await this.phonemizer.start();
    try {
      await this.phonemizer.phonemize('test', this.voice.espeakVoice);
    } catch (err) {
      throw new VoiceError('VOICE_TTS_VOICE_INVALID', `Piper voice ${cfgPath}: espeak voice "${this.voice.espeakVoice}" does not work with the bundled espeak-ng (${toVoiceError(err).message})`, undefined, { cause: err });
    }
  }

  /** Phoneme lists, one per sentence Piper would speak, for one piece of text. */
  private async phonemes(piece: string): Promise<string[][]> {
    if (this.voice.phonemeType === 'text') return [textPhonemes(piece, this.voice.phonemeIdMap)];
    return this.phonemizer.phonemize(piece, this.voice.espeakVoice);
  }

  /** Phoneme ids of each sentence of `text`, with the voice's map; phonemes it lacks are counted in `missing`. */
  async *sentences(text: string, missing = new Map<string, number>()): AsyncGenerator<number[]> {
    for (const piece of splitText(text)) {
      for (const s of await this.phonemes(piece)) yield phonemesToIds(s, this.voice.phonemeIdMap, missing);
    }
  }

  /** All sentences' ids at once (tests and tools). */
  async ids(text: string, missing?: Map<string, number>): Promise<number[][]> {
    const out: number[][] = [];
    for await (const ids of this.sentences(text, missing)) out.push(ids);
    return out;
  }

  /** Runs the voice on one sentence's ids; returns int16 PCM. */
  async infer(ids: number[]): Promise<Buffer> {
    const session = this.session;
    if (!session) throw new VoiceError('VOICE_TTS_FAILED', 'Piper voice not started');
    const inf = this.voice.inference;
    const feeds: Record<string, Ort.Tensor> = {
      input: new this.ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      input_lengths: new this.ort.Tensor('int64', BigInt64Array.from([BigInt(ids.length)]), [1]),
      scales: new this.ort.Tensor('float32', Float32Array.from([inf.noiseScale, this.opts.lengthScale || inf.lengthScale, inf.noiseW]), [3]),
    };
    if (this.voice.numSpeakers > 1) feeds.sid = new this.ort.Tensor('int64', BigInt64Array.from([BigInt(this.opts.speaker)]), [1]);
    const out = await session.run(feeds);
    const f = (out.output ?? out[session.outputNames[0]]).data as Float32Array;
    let peak = 0.01;
    for (const v of f) peak = Math.max(peak, Math.abs(v));
    const scale = 32767 / peak;
    const pcm = Buffer.alloc(f.length * 2);
    for (let i = 0; i < f.length; i++) pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(f[i] * scale))), i * 2);
    return pcm;
  }

  async *synthesize(text: string, signal: AbortSignal): AsyncIterable<Buffer> {
    const step = chunkBytes(this.format.rate);
    const missing = new Map<string, number>();
    try {
      for await (const ids of this.sentences(text, missing)) {
        if (signal.aborted) return;
        const pcm = await this.infer(ids);
        for (let off = 0; off < pcm.length; off += step) {
          if (signal.aborted) return;
          yield pcm.subarray(off, Math.min(off + step, pcm.length));
        }
      }
    } finally {
      if (missing.size) this.log.warn({ missing: describeMissing(missing) }, `Piper voice ${path.basename(this.opts.voice)} has no id for ${missing.size} phoneme(s); they were skipped and the rest was spoken`);
    }
  }

  async stop(): Promise<void> {
    await this.session?.release();
    this.session = undefined;
  }
}
