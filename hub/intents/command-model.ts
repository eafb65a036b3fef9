/**
 * The command model: a language model of the intent templates that the
 * recognizer decodes beside its general one (hub/stt/pocketsphinx.ts). It is
 * written under hub.stateDir/intents, named by a hash of everything it is
 * made from (the intent files' contents and this hub's version), so a start
 * with the same files reuses it and a changed file makes a new one (the old
 * one is removed).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../../common/log';
import { VERSION } from '../../common/version';
import { arpa, sampleSentences, vocabulary } from './arpa';
import type { IntentSet } from './load';

/** Random sentences per template: enough for every branch of a template to be walked many times. */
const PER_SENTENCE = 60;

export interface CommandModel {
  /** The ARPA file. */
  lm: string;
  /** Words it can say. */
  words: number;
  reused: boolean;
}

export function commandModel(set: IntentSet, stateDir: string): CommandModel {
  const dir = path.join(stateDir, 'intents');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hash = createHash('sha256').update(`${VERSION}\n${PER_SENTENCE}\n`);
  for (const f of set.files) hash.update(`${f}\n`).update(fs.readFileSync(f));
  const name = `commands-${hash.digest('hex').slice(0, 16)}.arpa`;
  const lm = path.join(dir, name);
  const words = vocabulary(set.graph).size;
  if (fs.existsSync(lm)) return { lm, words, reused: true };
  const tmp = `${lm}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, arpa(sampleSentences(set.graph, PER_SENTENCE), vocabulary(set.graph)));
  fs.renameSync(tmp, lm);
  for (const f of fs.readdirSync(dir)) if (/^commands-[0-9a-f]+\.arpa$/.test(f) && f !== name) fs.rmSync(path.join(dir, f), { force: true });
  return { lm, words, reused: false };
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
