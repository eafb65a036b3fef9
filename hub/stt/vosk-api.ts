/**
 * libvosk's C API through koffi, with the signatures of vosk_api.h (the same
 * as the `vosk-koffi` package's). We bind it ourselves rather than
 * `require('vosk-koffi')`, which loads its library at require time from a
 * fixed place and throws when its (offline-failing) download left none: the
 * path is configurable (stt.vosk.library; an arm64 Pi needs its own) and
 * every failure is a coded error.
 *
 * Types: koffi keeps type names per thread, and declaring `VoskModel` twice
 * in one thread throws "Duplicate type name". The opaque types are declared
 * by the first load in a thread and found by every later one (also when
 * another binding, such as vosk-koffi, declared them first).
 *
 * Version: libvosk exports no version. `vosk_recognizer_set_partial_words`
 * (word times in partials, which the hub needs to drop the wake word) came
 * in 0.3.37, after 0.3.32's exception guards (vosk_model_new returns NULL on
 * a bad model, accept_waveform returns -1; before them an exception aborts
 * the process). 0.3.32 itself added no function, so 0.3.32-0.3.36 cannot be
 * told from 0.3.31 and are refused too: a library without the marker is
 * VOICE_STT_LIBRARY_UNSUPPORTED, before any model is loaded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KoffiFunction } from 'koffi';
import { VoiceError } from '../../common/errors';

const SIGNATURES = {
  vosk_set_log_level: 'void vosk_set_log_level(int log_level)',
  vosk_model_new: 'VoskModel *vosk_model_new(const char *model_path)',
  vosk_model_free: 'void vosk_model_free(VoskModel *model)',
  vosk_recognizer_new: 'VoskRecognizer *vosk_recognizer_new(VoskModel *model, float sample_rate)',
  vosk_recognizer_new_grm: 'VoskRecognizer *vosk_recognizer_new_grm(VoskModel *model, float sample_rate, const char *grammar)',
  vosk_recognizer_free: 'void vosk_recognizer_free(VoskRecognizer *recognizer)',
  vosk_recognizer_set_words: 'void vosk_recognizer_set_words(VoskRecognizer *recognizer, int words)',
  vosk_recognizer_set_partial_words: 'void vosk_recognizer_set_partial_words(VoskRecognizer *recognizer, int partial_words)',
  vosk_recognizer_accept_waveform: 'int vosk_recognizer_accept_waveform(VoskRecognizer *recognizer, const char *data, int length)',
  vosk_recognizer_result: 'const char *vosk_recognizer_result(VoskRecognizer *recognizer)',
  vosk_recognizer_final_result: 'const char *vosk_recognizer_final_result(VoskRecognizer *recognizer)',
  vosk_recognizer_partial_result: 'const char *vosk_recognizer_partial_result(VoskRecognizer *recognizer)',
} as const;

export type VoskApi = Record<keyof typeof SIGNATURES, KoffiFunction>;

/** The function whose presence marks a libvosk new enough (see above). */
export const VOSK_VERSION_MARKER = 'vosk_recognizer_set_partial_words';
export const VOSK_MIN_VERSION = '0.3.37';

type Koffi = typeof import('koffi');

function koffi(): Koffi {
  // Required lazily so a hub without koffi-loadable libraries still starts its other parts.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('koffi') as Koffi;
}

/** Where vosk-koffi's postinstall puts libvosk (and where scripts/install-libvosk.sh copies it). */
export function defaultVoskLibrary(): string {
  // vosk-koffi exports only its entry (lib/index.js); resolving does not run it.
  const dir = path.dirname(path.dirname(require.resolve('vosk-koffi')));
  const file = process.platform === 'darwin' ? 'libvosk.dylib' : process.platform === 'win32' ? 'libvosk.dll' : 'libvosk.so';
  return path.join(dir, `bin-${process.platform}-${process.arch}`, file);
}

/** Declares libvosk's opaque types in this thread unless they already are. */
function declareTypes(k: Koffi): void {
  for (const name of ['VoskModel', 'VoskRecognizer']) {
    try {
      k.resolve(name);
    } catch {
      k.opaque(name);
    }
  }
}

/** Loads libvosk and binds the functions the hub uses; refuses a library too old to be safe. */
export function loadVoskApi(library: string): VoskApi {
  const lib = library || defaultVoskLibrary();
  if (!fs.existsSync(lib)) {
    throw new VoiceError('VOICE_STT_LIBRARY_MISSING', `libvosk not found at ${lib}; run scripts/install-libvosk.sh (x86_64) or set stt.vosk.library to your libvosk.so`, { path: lib });
  }
  const k = koffi();
  let l: ReturnType<Koffi['load']>;
  try {
    l = k.load(lib);
  } catch (err) {
    throw new VoiceError('VOICE_STT_LIBRARY_MISSING', `libvosk at ${lib} could not be loaded: ${(err as Error).message}`, { path: lib }, { cause: err });
  }
  declareTypes(k);
  const api: Partial<VoskApi> = {};
  const missing: string[] = [];
  for (const [name, signature] of Object.entries(SIGNATURES) as [keyof VoskApi, string][]) {
    try {
      api[name] = l.func(signature);
    } catch (err) {
      if (!/Cannot find function/.test((err as Error).message)) throw err;
      missing.push(name);
    }
  }
  const others = missing.filter((n) => n !== VOSK_VERSION_MARKER);
  if (others.length > 0) {
    throw new VoiceError('VOICE_STT_LIBRARY_MISSING', `${lib} is not a libvosk the hub can use: it lacks ${others.join(', ')}; set stt.vosk.library to a libvosk.so ${VOSK_MIN_VERSION} or newer`, { path: lib, missing: others });
  }
  if (missing.length > 0) {
    throw new VoiceError(
      'VOICE_STT_LIBRARY_UNSUPPORTED',
      `libvosk at ${lib} is older than ${VOSK_MIN_VERSION} (it lacks ${VOSK_VERSION_MARKER}); the hub needs ${VOSK_MIN_VERSION} or newer (older releases abort the process on a bad model): run scripts/install-libvosk.sh (x86_64) or set stt.vosk.library to a newer libvosk.so`,
      { path: lib, missing },
    );
  }
  return api as VoskApi;
}

/** A native pointer's address, which another thread of this process can pass back to koffi as the same pointer. */
export function addressOf(pointer: unknown): bigint {
  return typeof pointer === 'bigint' ? pointer : koffi().address(pointer);
}
