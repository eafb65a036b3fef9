/** libpocketsphinx and libsphinxbase (Debian's 5prealpha API), bound with koffi. */
import type { IKoffiLib, KoffiFunction } from 'koffi';
import { VoiceError } from '../../common/errors';
import type { SttSettings } from './engine';

export interface PsApi {
  cmd_ln_parse_r: KoffiFunction;
  cmd_ln_free_r: KoffiFunction;
  err_set_logfp: KoffiFunction;
  ps_args: KoffiFunction;
  ps_init: KoffiFunction;
  ps_free: KoffiFunction;
  ps_start_stream: KoffiFunction;
  ps_start_utt: KoffiFunction;
  ps_process_raw: KoffiFunction;
  ps_end_utt: KoffiFunction;
  ps_get_hyp: KoffiFunction;
  ps_seg_iter: KoffiFunction;
  ps_seg_next: KoffiFunction;
  ps_seg_word: KoffiFunction;
  ps_seg_frames: KoffiFunction;
  ps_get_feat: KoffiFunction;
  cmn_live_get: KoffiFunction;
  cmn_live_set: KoffiFunction;
  logmath_init: KoffiFunction;
  logmath_free: KoffiFunction;
  ngram_model_read: KoffiFunction;
  ngram_model_free: KoffiFunction;
  ngram_wid: KoffiFunction;
  ngram_unknown_wid: KoffiFunction;
  ps_set_lm: KoffiFunction;
  ps_set_search: KoffiFunction;
  decode: (ptr: unknown, offset: number, type: string) => unknown;
  pointerSize: number;
}

export function loadApi(settings: SttSettings['pocketsphinx']): PsApi {
  // Required lazily so a hub without koffi-loadable libraries still starts its other parts.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require('koffi') as typeof import('koffi');
  let sb: IKoffiLib;
  let ps: IKoffiLib;
  try {
    sb = koffi.load(settings.sphinxbase);
    ps = koffi.load(settings.library);
  } catch (err) {
    throw new VoiceError(
      'VOICE_STT_LIBRARY_MISSING',
      `pocketsphinx library could not be loaded (${(err as Error).message}); install it with: apt-get install libpocketsphinx3 pocketsphinx-en-us`,
      undefined,
      { cause: err },
    );
  }
  return {
    cmd_ln_parse_r: sb.func('void *cmd_ln_parse_r(void *inout, void *defn, int argc, const char **argv, int strict)'),
    cmd_ln_free_r: sb.func('int cmd_ln_free_r(void *cmdln)'),
    err_set_logfp: sb.func('void err_set_logfp(void *fp)'),
    ps_args: ps.func('void *ps_args()'),
    ps_init: ps.func('void *ps_init(void *config)'),
    ps_free: ps.func('int ps_free(void *ps)'),
    ps_start_stream: ps.func('int ps_start_stream(void *ps)'),
    ps_start_utt: ps.func('int ps_start_utt(void *ps)'),
    ps_process_raw: ps.func('int ps_process_raw(void *ps, const int16_t *data, size_t n, int no_search, int full_utt)'),
    ps_end_utt: ps.func('int ps_end_utt(void *ps)'),
    ps_get_hyp: ps.func('const char *ps_get_hyp(void *ps, _Out_ int *score)'),
    // 5prealpha takes only the decoder; older releases also an out score, which a NULL satisfies on either.
    ps_seg_iter: ps.func('void *ps_seg_iter(void *ps, void *out_best_score)'),
    ps_seg_next: ps.func('void *ps_seg_next(void *seg)'),
    ps_seg_word: ps.func('const char *ps_seg_word(void *seg)'),
    ps_seg_frames: ps.func('void ps_seg_frames(void *seg, _Out_ int *sf, _Out_ int *ef)'),
    ps_get_feat: ps.func('void *ps_get_feat(void *ps)'),
    cmn_live_get: sb.func('void cmn_live_get(void *cmn, _Out_ float *vec)'),
    cmn_live_set: sb.func('void cmn_live_set(void *cmn, const float *vec)'),
    logmath_init: sb.func('void *logmath_init(double base, int shift, int use_table)'),
    logmath_free: sb.func('int logmath_free(void *lmath)'),
    // file_type 0 is NGRAM_AUTO.
    ngram_model_read: sb.func('void *ngram_model_read(void *config, const char *file_name, int file_type, void *lmath)'),
    ngram_model_free: sb.func('int ngram_model_free(void *model)'),
    ngram_wid: sb.func('int ngram_wid(void *model, const char *word)'),
    ngram_unknown_wid: sb.func('int ngram_unknown_wid(void *model)'),
    ps_set_lm: ps.func('int ps_set_lm(void *ps, const char *name, void *lm)'),
    ps_set_search: ps.func('int ps_set_search(void *ps, const char *name)'),
    decode: (ptr, offset, type): unknown => koffi.decode(ptr, offset, type) as unknown,
    pointerSize: koffi.sizeof('void *'),
  };
}
