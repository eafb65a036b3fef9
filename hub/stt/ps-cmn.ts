/**
 * pocketsphinx's live cepstral-mean normalisation (CMN) state, per decoder.
 *
 * In live decoding pocketsphinx subtracts a running cepstral mean that it
 * carries from one utterance to the next (ps_start_stream does not reset it)
 * and updates at every ps_end_utt. That adaptation matters: starting every
 * session from the model's initial mean (-cmninit) instead made the engine
 * alone 8.6 points worse on the accuracy corpus (28.1 % against 19.5 % WER,
 * pause corpus, offline replay of test/accuracy-corpus). But when the decode
 * restarts after the wake word (session-decoder.ts), ending the first
 * utterance would update the mean from the pre-roll: the wake word and the
 * pause, mostly noise. The restarted decode then misheard the command's
 * first words ("set" as "should", "how" as "our"): 21.3 % against 19.5 % for
 * the engine alone. So a restart puts back the mean the session started
 * with (PsRecognizer.restart): 20.0 %.
 *
 * Decoders are pooled, and a new one (a second session at once) would start
 * from -cmninit. So the engine keeps the mean the latest session ended with,
 * and every session, on any decoder, starts there (PocketsphinxEngine
 * .latestMean): one adaptation per STT worker, not one per decoder. A
 * worker's first session has no such mean: it starts from -cmninit, and
 * its restart keeps what the pre-roll taught the decoder, which fits the
 * audio better than -cmninit does.
 *
 * libsphinxbase exports cmn_live_get/cmn_live_set but no getter for the
 * decoder's cmn_t, so it is read from feat_t (sphinxbase 5prealpha feat.h:
 * int refcount; char *name; int32 cepsize; ... cmn_t *cmn_struct), with the
 * layout checked against what it must contain before it is trusted.
 */

export interface CmnApi {
  ps_get_feat: (ps: unknown) => unknown;
  cmn_live_get: (cmn: unknown, out: Float32Array) => void;
  cmn_live_set: (cmn: unknown, vec: Float32Array) => void;
  decode: (ptr: unknown, offset: number, type: string) => unknown;
  pointerSize: number;
}

const align = (n: number, to: number) => Math.ceil(n / to) * to;

/** Field offsets in feat_t and cmn_t for this platform's pointer size. */
function offsets(p: number): { cepsize: number; cmnStruct: number; veclen: number } {
  const cepsize = 2 * p; // after int refcount (padded) and char *name
  const streamLen = align(cepsize + 8, p); // after int32 cepsize, n_stream
  const svLen = align(streamLen + p + 8, p); // after window_size, n_sv
  const svDim = svLen + 3 * p; // after sv_len, subvecs, sv_buf
  const computeFeat = align(svDim + 16, p); // after sv_dim, cmn, varnorm, agc
  // cmn_t: mfcc_t *cmn_mean, *cmn_var, *sum; int32 nframe, veclen.
  return { cepsize, cmnStruct: computeFeat + p, veclen: 3 * p + 4 };
}

/** The decoder's cmn_t, or null when the library's layout is not the one expected. */
export function cmnOf(api: CmnApi, decoder: unknown): unknown {
  const o = offsets(api.pointerSize);
  const feat = api.ps_get_feat(decoder);
  if (!feat) return null;
  const cepsize = api.decode(feat, o.cepsize, 'int32') as number;
  if (cepsize < 1 || cepsize > 64) return null;
  const cmn = api.decode(feat, o.cmnStruct, 'void *');
  if (!cmn) return null;
  return api.decode(cmn, o.veclen, 'int32') === cepsize ? cmn : null;
}

/** The mean a decoder holds now (after ps_init: the model's -cmninit). */
export function getMean(api: CmnApi, cmn: unknown): Float32Array {
  const v = new Float32Array(api.decode(cmn, offsets(api.pointerSize).veclen, 'int32') as number);
  api.cmn_live_get(cmn, v);
  return v;
}
