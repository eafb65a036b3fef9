/**
 * One pocketsphinx decoder decoding one session: its utterance, its
 * cepstral mean (ps-cmn.ts) and its timed words. A session has one on the
 * general model, and one on the command model when the hub gave one
 * (pocketsphinx.ts); both hear the same audio.
 */
import { VoiceError } from '../../common/errors';
import type { Word } from './engine';
import type { PsApi } from './ps-api';
import { cmnOf, getMean } from './ps-cmn';

/** pocketsphinx frames per second (-frate, 100 by default). */
const FRAME_MS = 10;
/** Segments that are not words: <s>, </s>, <sil>, and fillers such as [NOISE] or ++BREATH++. */
const NOT_A_WORD = /^[<[+]/;

/** What a stream needs of its engine: where sessions start from, and where the decoder goes back to. */
export interface StreamOwner {
  /** The cepstral mean the latest session ended with (null until one has). */
  readonly latestMean: Float32Array | null;
  release(decoder: unknown, cmn: unknown, stream: PsStream): void;
}

export class PsStream {
  private freed = false;
  /** The decoder's cepstral mean when this session began (see ps-cmn.ts); null where it cannot be read, and in a worker's first session. */
  private readonly startMean: Float32Array | null;
  readonly cmn: unknown;

  constructor(
    private readonly owner: StreamOwner,
    private readonly api: PsApi,
    readonly decoder: unknown,
    /** Which model: the general one, or the command model. */
    readonly model: 'general' | 'commands',
  ) {
    // A new stream per session: word times count from its first sample.
    this.cmn = cmnOf(api, decoder);
    // Every session starts from the mean the last session in this worker ended with (see ps-cmn.ts).
    // A worker's first session starts from the model's -cmninit, which fits this audio worse than
    // what the session's own pre-roll teaches: its restart keeps the adapted mean (startMean null).
    const latest = owner.latestMean;
    if (this.cmn && latest) api.cmn_live_set(this.cmn, latest);
    this.startMean = this.cmn ? latest : null;
    this.begin();
  }

  private begin(): void {
    const api = this.api;
    if (api.ps_start_stream(this.decoder) < 0 || api.ps_start_utt(this.decoder) < 0) throw new VoiceError('VOICE_STT_FAILED', 'ps_start_utt failed');
  }

  /** The decoder's cepstral mean now (null where it cannot be read). */
  get cepstralMean(): Float32Array | null {
    return this.cmn ? getMean(this.api, this.cmn) : null;
  }

  /** Decodes anew from the next sample, with the cepstral mean the session started with, unless it was the model's (see ps-cmn.ts). */
  restart(): void {
    this.api.ps_end_utt(this.decoder);
    if (this.cmn && this.startMean) this.api.cmn_live_set(this.cmn, this.startMean);
    this.begin();
  }

  process(pcm: Int16Array): void {
    if (this.api.ps_process_raw(this.decoder, pcm, pcm.length, 0, 0) < 0) throw new VoiceError('VOICE_STT_FAILED', 'ps_process_raw failed');
  }

  /** Ends the utterance: words() is then the final hypothesis. */
  end(): void {
    this.api.ps_end_utt(this.decoder);
  }

  /** The best hypothesis so far as timed words. */
  words(): Word[] {
    const text = ((this.api.ps_get_hyp(this.decoder, [0]) as string | null) ?? '').trim();
    return text === '' ? [] : this.segments();
  }

  private segments(): Word[] {
    const api = this.api;
    const words: Word[] = [];
    for (let seg: unknown = api.ps_seg_iter(this.decoder, null); seg; seg = api.ps_seg_next(seg)) {
      const word = (api.ps_seg_word(seg) as string | null) ?? '';
      if (word === '' || NOT_A_WORD.test(word)) continue;
      const sf = [0];
      const ef = [0];
      api.ps_seg_frames(seg, sf, ef);
      // Alternative pronunciations are "word(2)"; the hypothesis says "word".
      words.push({ word: word.replace(/\(\d+\)$/, ''), startMs: sf[0] * FRAME_MS, endMs: (ef[0] + 1) * FRAME_MS });
    }
    return words;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.owner.release(this.decoder, this.cmn, this);
  }
}
