/**
 * Intent files: the built-in English set (config/intents/en.yaml), then the
 * user's *.yaml files in intents.dir, in name order. Later files add
 * sentences to an intent, replace a list or rule of the same name, and
 * override responses. Every problem in every file is listed at once
 * (VOICE_INTENTS_INVALID: the hub exits 78), as the config is.
 * The format is in docs/intents.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDocument } from 'yaml';
import { VoiceError } from '../../common/errors';
import { IntentGraph, type ListDef, type SentenceDef, type SlotValue } from './graph';
import { type Node, parseTemplate, references, words } from './template';

export const BUILTIN_INTENTS = path.resolve(__dirname, '..', '..', '..', 'config', 'intents', 'en.yaml');

/** Where an intent goes when no built-in handler answers it and no automation claims it. */
export const UNCLAIMED = ['respond', 'llm'] as const;

export interface IntentDef {
  name: string;
  /**
   * Response templates by name: default (a built-in handler's answer), unhandled (nobody claimed it),
   * and any other a built-in handler answers with (the timers' none, several...).
   */
  responses: Record<string, string | undefined>;
  unclaimed: (typeof UNCLAIMED)[number];
  sentences: SentenceDef[];
}

export interface IntentSet {
  intents: Map<string, IntentDef>;
  lists: Map<string, ListDef>;
  rules: Map<string, Node>;
  /** Words said anywhere at almost no cost ("please"). */
  skipWords: Set<string>;
  /** Phrases of several words dropped from the start of what was said ("can you", "could you please"). */
  skipPhrases: string[][];
  /** What is said for an intent nobody handled, when the intent has no unhandled response of its own. */
  unhandled: string;
  graph: IntentGraph;
  files: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is SlotValue => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

class Reader {
  readonly problems: string[] = [];
  constructor(readonly file: string) {}
  problem(at: string, msg: string): void {
    this.problems.push(`${this.file}: ${at}: ${msg}`);
  }
  keys(o: Obj, at: string, allowed: string[]): void {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.problem(at, `unknown key "${k}" (expected ${allowed.join(', ')})`);
  }
  template(text: unknown, at: string): Node | undefined {
    if (typeof text !== 'string' || text.trim() === '') return void this.problem(at, 'must be a non-empty string');
    try {
      return parseTemplate(text);
    } catch (err) {
      return void this.problem(at, (err as Error).message);
    }
  }
}

/** How many sentence templates the set holds (logs, hub status). */
export function sentenceCount(set: Pick<IntentSet, 'intents'>): number {
  return [...set.intents.values()].reduce((n, i) => n + i.sentences.length, 0);
}

/** The user's intent files: *.yaml and *.yml in `dir`, by name; none when the directory does not exist. */
export function userIntentFiles(dir: string): string[] {
  if (!dir || !fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/i.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Loads, merges, checks and compiles intent files; throws VOICE_INTENTS_INVALID listing every problem. */
export function loadIntents(files: string[]): IntentSet {
  const set = { intents: new Map<string, IntentDef>(), lists: new Map<string, ListDef>(), rules: new Map<string, Node>(), skipWords: new Set<string>(), skipPhrases: [] as string[][], unhandled: '' };
  const problems: string[] = [];
  for (const file of files) {
    const r = new Reader(file);
    readFile(r, set);
    problems.push(...r.problems);
  }
  // References are checked once every file is in: a user's sentence may use a built-in list, and the other way round.
  const sentences = [...set.intents.values()].flatMap((i) => i.sentences);
  const sound = sentences.filter((s) => {
    const refs = references(s.template);
    const before = problems.length;
    for (const l of refs.lists) if (!set.lists.has(l)) problems.push(`${s.where}: unknown list {${l}}`);
    for (const rule of refs.rules) if (!set.rules.has(rule)) problems.push(`${s.where}: unknown rule <${rule}>`);
    return problems.length === before;
  });
  if (!set.unhandled) problems.push(`${files.join(', ')}: responses.unhandled: no file sets the response for an intent nobody handled`);
  for (const i of set.intents.values()) if (i.sentences.length === 0 && !problems.some((p) => p.includes(`intents.${i.name}`))) problems.push(`${files.join(', ')}: intents.${i.name}: has no sentences`);
  // Compiled even with problems elsewhere, so a rule that refers to itself is listed with the rest.
  const graph = new IntentGraph(sound, set.lists, set.rules);
  problems.push(...graph.problems);
  if (problems.length) {
    throw new VoiceError('VOICE_INTENTS_INVALID', `intent files are invalid (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n${problems.map((p) => `  - ${p}`).join('\n')}`, { problems });
  }
  return { ...set, graph, files };
}

function readFile(r: Reader, set: Omit<IntentSet, 'graph' | 'files'>): void {
  let doc: unknown;
  try {
    const d = parseDocument(fs.readFileSync(r.file, 'utf8'));
    if (d.errors.length) {
      for (const e of d.errors) r.problem(e.linePos ? `line ${e.linePos[0].line}` : 'yaml', e.message.split('\n')[0]);
      return;
    }
    doc = d.toJS();
  } catch (err) {
    return r.problem('file', (err as Error).message);
  }
  if (doc === null || doc === undefined) return;
  if (!isObj(doc)) return r.problem('file', 'must be a mapping with intents, lists, expansion_rules, skip_words or responses');
  r.keys(doc, 'file', ['language', 'intents', 'lists', 'expansion_rules', 'skip_words', 'responses']);
  if (doc.language !== undefined && doc.language !== 'en') r.problem('language', `${JSON.stringify(doc.language)} is not supported (only en)`);
  readRules(r, doc.expansion_rules, set.rules);
  readLists(r, doc.lists, set.lists);
  if (doc.skip_words !== undefined) {
    if (!Array.isArray(doc.skip_words) || !doc.skip_words.every((w) => typeof w === 'string')) r.problem('skip_words', 'must be a list of words');
    else
      for (const w of doc.skip_words) {
        const t = words(w);
        if (t.length === 1) set.skipWords.add(t[0]);
        else if (t.length > 1) set.skipPhrases.push(t);
      }
  }
  if (doc.responses !== undefined) {
    if (!isObj(doc.responses)) r.problem('responses', 'must be a mapping');
    else {
      r.keys(doc.responses, 'responses', ['unhandled']);
      if (doc.responses.unhandled !== undefined) {
        if (typeof doc.responses.unhandled !== 'string' || !doc.responses.unhandled.trim()) r.problem('responses.unhandled', 'must be a non-empty string');
        else set.unhandled = doc.responses.unhandled;
      }
    }
  }
  readIntents(r, doc.intents, set.intents);
}

function readRules(r: Reader, rules: unknown, into: Map<string, Node>): void {
  if (rules === undefined) return;
  if (!isObj(rules)) return r.problem('expansion_rules', 'must be a mapping of rule name to template');
  for (const [name, text] of Object.entries(rules)) {
    const t = r.template(text, `expansion_rules.${name}`);
    if (t) into.set(name, t);
  }
}

function readLists(r: Reader, lists: unknown, into: Map<string, ListDef>): void {
  if (lists === undefined) return;
  if (!isObj(lists)) return r.problem('lists', 'must be a mapping of list name to its values, range or wildcard');
  for (const [name, def] of Object.entries(lists)) {
    const at = `lists.${name}`;
    if (!isObj(def)) {
      r.problem(at, 'must be a mapping with values, range or wildcard');
      continue;
    }
    r.keys(def, at, ['values', 'range', 'wildcard']);
    const kinds = ['values', 'range', 'wildcard'].filter((k) => def[k] !== undefined);
    if (kinds.length !== 1) {
      r.problem(at, `needs exactly one of values, range or wildcard (has ${kinds.length ? kinds.join(', ') : 'none'})`);
      continue;
    }
    const list = readList(r, def, at);
    if (list) into.set(name, list);
  }
}

function readList(r: Reader, def: Obj, at: string): ListDef | undefined {
  if (def.wildcard !== undefined) {
    if (def.wildcard !== true) return void r.problem(`${at}.wildcard`, 'must be true');
    return { kind: 'wildcard' };
  }
  if (def.range !== undefined) {
    const g = def.range;
    if (!isObj(g)) return void r.problem(`${at}.range`, 'must be a mapping with from, to and optional step, multiplier');
    r.keys(g, `${at}.range`, ['from', 'to', 'step', 'multiplier', 'type']);
    const from = g.from;
    const to = g.to;
    const step = g.step ?? 1;
    const multiplier = g.multiplier ?? 1;
    const whole = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
    if (!whole(from) || !whole(to) || !whole(step) || (step as number) < 1) return void r.problem(`${at}.range`, 'from, to and step must be whole numbers (from 0, step 1 or more)');
    if ((to as number) < (from as number)) return void r.problem(`${at}.range`, `to (${String(to)}) is below from (${String(from)})`);
    if (((to as number) - (from as number)) / (step as number) > 1000) return void r.problem(`${at}.range`, 'has more than 1000 values; use a larger step');
    if (typeof multiplier !== 'number' || !Number.isFinite(multiplier)) return void r.problem(`${at}.range.multiplier`, 'must be a number');
    return { kind: 'range', from: from as number, to: to as number, step: step as number, multiplier };
  }
  if (!Array.isArray(def.values)) return void r.problem(`${at}.values`, 'must be a list (empty: the list matches nothing until a later file gives it values)');
  const values: { in: Node; out?: SlotValue }[] = [];
  def.values.forEach((v, i) => {
    const vat = `${at}.values[${i}]`;
    if (typeof v === 'string') {
      const t = r.template(v, vat);
      // A plain value is its own words; one with alternatives ("(red | crimson)") is the words said.
      if (t) values.push({ in: t, out: /[()[\]|;{}<>]/.test(v) ? undefined : words(v).join(' ') });
      return;
    }
    if (!isObj(v)) return r.problem(vat, 'must be a string or a mapping with in and out');
    r.keys(v, vat, ['in', 'out']);
    if (!isScalar(v.out)) return r.problem(`${vat}.out`, 'must be a string, number or boolean');
    const t = r.template(v.in, `${vat}.in`);
    if (!t) return;
    const refs = references(t);
    if (refs.lists.size || refs.rules.size) return r.problem(`${vat}.in`, 'a list value cannot use lists or rules');
    values.push({ in: t, out: v.out });
  });
  return { kind: 'values', values };
}

function readIntents(r: Reader, intents: unknown, into: Map<string, IntentDef>): void {
  if (intents === undefined) return;
  if (!isObj(intents)) return r.problem('intents', 'must be a mapping of intent name to its data');
  for (const [name, def] of Object.entries(intents)) {
    const at = `intents.${name}`;
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) r.problem(at, 'an intent name is letters, digits and _, starting with a letter (it is part of no topic, but automations match it)');
    if (!isObj(def)) {
      r.problem(at, 'must be a mapping with data (and optional responses, unclaimed)');
      continue;
    }
    r.keys(def, at, ['data', 'responses', 'unclaimed']);
    const intent = into.get(name) ?? { name, responses: {}, unclaimed: 'respond', sentences: [] };
    if (def.unclaimed !== undefined) {
      if (!UNCLAIMED.includes(def.unclaimed as IntentDef['unclaimed'])) r.problem(`${at}.unclaimed`, `must be one of ${UNCLAIMED.join(', ')}`);
      else intent.unclaimed = def.unclaimed as IntentDef['unclaimed'];
    }
    if (def.responses !== undefined) {
      if (!isObj(def.responses)) r.problem(`${at}.responses`, 'must be a mapping of response names (default, unhandled, or one a built-in handler names) to sentences');
      else {
        for (const [k, v] of Object.entries(def.responses)) {
          if (!/^[a-z][a-z0-9_]*$/.test(k)) r.problem(`${at}.responses.${k}`, 'a response name is lower-case letters, digits and _');
          else if (typeof v !== 'string') r.problem(`${at}.responses.${k}`, 'must be a string');
          else intent.responses[k] = v;
        }
      }
    }
    if (def.data !== undefined) {
      if (!Array.isArray(def.data)) r.problem(`${at}.data`, 'must be a list of blocks with sentences');
      else def.data.forEach((block, i) => readBlock(r, block, `${at}.data[${i}]`, intent));
    } else if (!into.has(name)) r.problem(at, 'a new intent needs data with sentences');
    into.set(name, intent);
  }
}

function readBlock(r: Reader, block: unknown, at: string, intent: IntentDef): void {
  if (!isObj(block)) return r.problem(at, 'must be a mapping with sentences');
  r.keys(block, at, ['sentences', 'slots', 'area_from_room']);
  const slots: Record<string, SlotValue> = {};
  if (block.slots !== undefined) {
    if (!isObj(block.slots)) r.problem(`${at}.slots`, 'must be a mapping of slot name to value');
    else
      for (const [k, v] of Object.entries(block.slots)) {
        if (isScalar(v)) slots[k] = v;
        else r.problem(`${at}.slots.${k}`, 'must be a string, number or boolean');
      }
  }
  if (block.area_from_room !== undefined && typeof block.area_from_room !== 'boolean') r.problem(`${at}.area_from_room`, 'must be true or false');
  if (!Array.isArray(block.sentences) || block.sentences.length === 0) return r.problem(`${at}.sentences`, 'must be a non-empty list of templates');
  block.sentences.forEach((text, i) => {
    const where = `${r.file}: ${at}.sentences[${i}]`;
    const template = r.template(text, `${at}.sentences[${i}]`);
    if (template) intent.sentences.push({ intent: intent.name, text: String(text), where, template, slots, areaFromRoom: block.area_from_room === true });
  });
}
