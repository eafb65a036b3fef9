/**
 * The command model: a language model of the intent templates that the
 * recognizer decodes beside its general one, in two forms made from the same
 * sampled sentences: an ARPA trigram (pocketsphinx, hub/stt/pocketsphinx.ts)
 * and a Vosk grammar (hub/stt/vosk.ts): a JSON array of the distinct
 * sentences and "[unk]", from which libvosk estimates its own bigram when a
 * recognizer is made with vosk_recognizer_new_grm. Both are written under
 * hub.stateDir/intents, named by a hash of everything they are made from
 * (the intent files' contents and this hub's version), so a start with the
 * same files reuses them and a changed file makes new ones (the old ones are
 * removed).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../../common/log';
import { VERSION } from '../../common/version';
import { arpa, sampleSentences, vocabulary } from './arpa';
import type { IntentGraph } from './graph';
import type { IntentSet } from './load';

/** Random sentences per template: enough for every branch of a template to be walked many times. */
const PER_SENTENCE = 60;
/**
 * The most phrases in the Vosk grammar. libvosk estimates a bigram from them
 * and composes it with the model's graph for every recognizer it makes (one
 * per session), so the list is bounded: past it, fewer sentences are sampled
 * per template (halving), so that every template keeps some. The built-in
 * templates give about 1,900.
 */
export const MAX_GRAMMAR_PHRASES = 3000;

export interface CommandModel {
  /** The ARPA file. */
  lm: string;
  /** The Vosk grammar: a JSON array of phrases, "[unk]" last. */
  grammar: string;
  /** Words it can say. */
  words: number;
  reused: boolean;
}

export function commandModel(set: IntentSet, stateDir: string): CommandModel {
  const dir = path.join(stateDir, 'intents');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hash = createHash('sha256').update(`${VERSION}\n${PER_SENTENCE}\n`);
  for (const f of set.files) hash.update(`${f}\n`).update(fs.readFileSync(f));
  const base = `commands-${hash.digest('hex').slice(0, 16)}`;
  const lm = path.join(dir, `${base}.arpa`);
  const grammar = path.join(dir, `${base}.json`);
  const words = vocabulary(set.graph).size;
  if (fs.existsSync(lm) && fs.existsSync(grammar)) return { lm, grammar, words, reused: true };
  const sentences = sampleSentences(set.graph, PER_SENTENCE);
  write(lm, arpa(sentences, vocabulary(set.graph)));
  write(grammar, voskGrammar(set.graph, sentences));
  for (const f of fs.readdirSync(dir)) if (/^commands-[0-9a-f]+\.(arpa|json)$/.test(f) && !f.startsWith(`${base}.`)) fs.rmSync(path.join(dir, f), { force: true });
  return { lm, grammar, words, reused: false };
}

function write(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * libvosk's grammar: the distinct sampled sentences (PER_SENTENCE per
 * template, fewer when that makes more than MAX_GRAMMAR_PHRASES) and "[unk]",
 * which lets the grammar recognizer hear speech outside the templates as an
 * unknown word instead of forcing it onto a command.
 */
export function voskGrammar(graph: IntentGraph, sampled: string[][]): string {
  let phrases = new Set(sampled.map((s) => s.join(' ')));
  for (let n = PER_SENTENCE >> 1; phrases.size > MAX_GRAMMAR_PHRASES && n >= 1; n >>= 1) phrases = new Set(sampleSentences(graph, n).map((s) => s.join(' ')));
  return `${JSON.stringify([...phrases].slice(0, MAX_GRAMMAR_PHRASES).concat('[unk]'))}\n`;
}

/** The template words a pronunciation dictionary (pocketsphinx's -dict) has no entry for: the recognizer cannot say them. */
export function unsayable(set: IntentSet, dict: string, log: Logger): string[] {
  let text: string;
  try {
    text = fs.readFileSync(dict, 'utf8');
  } catch (err) {
    log.debug({ err, dict }, 'dictionary not readable: template words not checked');
    return [];
  }
  const known = new Set<string>();
  for (const line of text.split('\n')) known.add(line.split(/\s/, 1)[0].replace(/\(\d+\)$/, ''));
  return [...vocabulary(set.graph)].filter((w) => !known.has(w)).sort();
}
