/**
 * What pocketsphinx decoders of one worker thread share: the language model,
 * loaded once per thread and given to each decoder with ps_set_lm, and a
 * dictionary trimmed to the words that model knows.
 *
 * Measured per decoder on Debian's en-us model (docs/benchmarks.md): 93 MB
 * with its own LM and the full 134,723-line cmudict; 47 MB sharing the LM and
 * reading the 79,420 lines whose word is in the LM. The search never uses a
 * dictionary word the LM does not know (the lexicon tree skips it), so the
 * trimmed dictionary decodes the same.
 *
 * One LM per thread, not per process: sphinxbase's trie LM caches its last
 * history lookups inside the model (lm_trie's hist_cache), so decoders on two
 * threads must not score against one model at once; decoders of one thread
 * run one at a time.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VoiceError } from '../../common/errors';
import type { SttSettings } from './engine';
import type { PsApi } from './ps-api';

/** Arguments that choose another search than the n-gram one: then each decoder loads its own as before. */
const OTHER_SEARCH = /(^|\s)-(jsgf|fsg|kws|keyphrase|allphone|lm)(\s|$)/;
const SEARCH = 'ngram';

export function canShareLm(args: string): boolean {
  return !OTHER_SEARCH.test(args);
}

/** -logbase from the decoder arguments (pocketsphinx's default 1.0001): the LM's scores must be in the decoder's log base. */
function logBase(args: string): number {
  const m = /(?:^|\s)-logbase\s+(\S+)/.exec(args);
  return m ? Number(m[1]) : 1.0001;
}

export class SharedLm {
  private lmath: unknown = null;
  private lm: unknown = null;
  /** The trimmed dictionary the decoders read. */
  dict = '';

  constructor(
    private readonly api: PsApi,
    private readonly settings: SttSettings['pocketsphinx'],
  ) {}

  /**
   * Reads the LM with the decoder's parsed arguments (`config`): ngram_model_read
   * applies -lw, -wip and -uw from them as ps_init does (read without them, the
   * model decodes worse).
   */
  load(config: unknown): void {
    const { api, settings } = this;
    this.lmath = api.logmath_init(logBase(settings.args), 0, 0);
    this.lm = api.ngram_model_read(config, settings.lm, 0, this.lmath);
    if (!this.lm) throw new VoiceError('VOICE_STT_MODEL_INVALID', `pocketsphinx could not read the language model ${settings.lm}`, { path: settings.lm });
    this.dict = this.trimmedDict();
  }

  /** Gives a new decoder (made without -lm) the shared model and selects it. */
  attach(decoder: unknown): void {
    if (this.api.ps_set_lm(decoder, SEARCH, this.lm) < 0 || this.api.ps_set_search(decoder, SEARCH) < 0) {
      throw new VoiceError('VOICE_STT_MODEL_INVALID', `pocketsphinx refused the language model ${this.settings.lm}`);
    }
  }

  /**
   * The dictionary's lines whose word (without a "(2)" variant mark) the LM
   * knows, written once to a cache file named by both files' paths, sizes and
   * times (written whole under another name, then renamed, as several threads
   * may make it at once).
   */
  private trimmedDict(): string {
    const { dict, lm } = this.settings;
    const key = [dict, lm].map((f) => {
      const st = fs.statSync(f);
      return `${path.resolve(f)}:${st.size}:${st.mtimeMs}`;
    });
    const dir = cacheDir();
    const file = path.join(dir, `${createHash('sha256').update(key.join('\n')).digest('hex').slice(0, 16)}.dict`);
    if (fs.existsSync(file)) return file;
    const unknown = this.api.ngram_unknown_wid(this.lm) as number;
    const lines = fs.readFileSync(dict, 'utf8').split('\n');
    const known = lines.filter((l) => {
      const word = l.split(/\s/, 1)[0].replace(/\(\d+\)$/, '');
      return word !== '' && (this.api.ngram_wid(this.lm, word) as number) !== unknown;
    });
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    fs.writeFileSync(tmp, `${known.join('\n')}\n`);
    fs.renameSync(tmp, file);
    return file;
  }

  free(): void {
    // Decoders hold their own references; this drops the thread's.
    if (this.lm) this.api.ngram_model_free(this.lm);
    if (this.lmath) this.api.logmath_free(this.lmath);
    this.lm = null;
    this.lmath = null;
  }
}

let cache: string | undefined;

/**
 * This user's cache directory under the system temp dir, private (0700): a
 * dictionary another user could write there would steer the recognizer. One
 * that exists but is not ours, or is open to others, is not used: a fresh
 * private directory is made instead.
 */
function cacheDir(): string {
  if (cache) return cache;
  const uid = process.getuid?.() ?? 0;
  const dir = path.join(os.tmpdir(), `voice-hub-pocketsphinx-${uid}`);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = fs.lstatSync(dir);
  cache = st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0 ? dir : fs.mkdtempSync(path.join(os.tmpdir(), 'voice-hub-pocketsphinx-'));
  return cache;
}
