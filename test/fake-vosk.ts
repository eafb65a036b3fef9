/**
 * A fake libvosk (test/fixtures/fake-libvosk.c), compiled with `cc` when a
 * test first asks for it: no Vosk model can be had here, so the hub's Vosk
 * code runs against this scriptable stand-in with libvosk's C signatures.
 * `FakeVosk` gives a test its own call log and script (the library reads
 * them from FAKE_VOSK_LOG and FAKE_VOSK_SCRIPT, set in this process's
 * environment, which the library's getenv() sees from every worker thread).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, TMP } from './helpers';

const SOURCE = path.join(ROOT, 'test', 'fixtures', 'fake-libvosk.c');

/** Builds the fake once per test process: `old` is a libvosk before 0.3.37 (no vosk_recognizer_set_partial_words). */
export function buildFakeVosk(opts: { old?: boolean } = {}): string {
  const out = path.join(TMP, opts.old ? 'libvosk-fake-old.so' : 'libvosk-fake.so');
  if (!fs.existsSync(out)) execFileSync('cc', ['-shared', '-fPIC', '-O1', '-Wall', ...(opts.old ? ['-DFAKE_VOSK_OLD'] : []), '-o', out, SOURCE], { stdio: 'pipe' });
  return out;
}

/**
 * A directory that passes the hub's model check (am/, conf/); the fake loads any path.
 * `graph`: empty files marking the model's graph as libvosk looks for it: `runtime` (graph/HCLr.fst and
 * graph/Gr.fst, as the small models have) or `static` (graph/HCLG.fst).
 */
export function fakeVoskModelDir(name = 'fake-vosk-model', graph?: 'runtime' | 'static'): string {
  const dir = path.join(TMP, name);
  fs.mkdirSync(path.join(dir, 'am'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'conf'), { recursive: true });
  if (graph) {
    fs.mkdirSync(path.join(dir, 'graph'), { recursive: true });
    for (const f of graph === 'runtime' ? ['HCLr.fst', 'Gr.fst'] : ['HCLG.fst']) fs.writeFileSync(path.join(dir, 'graph', f), '');
  }
  return dir;
}

/** A word as the fake's scripted results give it: seconds from the recognizer's first sample, as libvosk does. */
export interface FakeWord {
  word: string;
  start: number;
  end: number;
  conf?: number;
}

export const resultJson = (words: FakeWord[]) => JSON.stringify({ result: words.map((w) => ({ conf: 1, ...w })), text: words.map((w) => w.word).join(' ') });

export class FakeVosk {
  readonly log: string;
  readonly script: string;

  constructor(readonly name: string) {
    this.log = path.join(TMP, `${name}.log`);
    this.script = path.join(TMP, `${name}.script`);
    fs.writeFileSync(this.log, '');
    fs.writeFileSync(this.script, '');
  }

  /** The environment the library reads (for a child process, or `use()` for this one). */
  get env(): Record<string, string> {
    return { FAKE_VOSK_LOG: this.log, FAKE_VOSK_SCRIPT: this.script };
  }

  /** Points this process's environment (and so the library in every thread of it) at this fake's files. */
  use(): void {
    Object.assign(process.env, this.env);
  }

  /** Sets the script recognizers created from now on follow (see the C file's header). */
  setScript(lines: string[]): void {
    fs.writeFileSync(this.script, lines.map((l) => `${l}\n`).join(''));
  }

  /** The grammar the last vosk_recognizer_new_grm was given. */
  grammar(): string {
    return fs.readFileSync(`${this.log}.grammar`, 'utf8');
  }

  lines(): string[] {
    return fs.readFileSync(this.log, 'utf8').split('\n').filter(Boolean);
  }

  /** How many calls of `fn` the library saw. */
  calls(fn: string): number {
    return this.lines().filter((l) => l === fn || l.startsWith(`${fn} `)).length;
  }
}
