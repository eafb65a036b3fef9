/**
 * Matches a transcript against the intent graph with a word-level edit
 * distance (one pass of dynamic programming over words x nodes, in the
 * graph's topological order):
 *   a word said as written       0
 *   a word misheard as another   0.3 + 0.7 x (letter edit distance / longer word's length)
 *   a template word not said     1
 *   a word said that no template has   1 (0.02 for skip words: "please")
 *   a word a wildcard takes      0.01 (so a list's value beats free text,
 *                                and a wildcard keeps a skip word it takes)
 * The cheapest path to an accepting node wins. Confidence is
 * 1 - cost / words said (skip words and the words a wildcard took not
 * counted: they are no evidence for the intent): an exact match is 1, one
 * misheard word in five ("turn off the kitchen like") about 0.86.
 */
import { distance } from 'fastest-levenshtein';
import type { Edge, IntentGraph, SentenceDef, SlotValue } from './graph';
import { digitsToWords } from './numbers';
import { words } from './template';

const DELETE = 1;
const INSERT = 1;
const WILD = 0.01;
/** A skip word costs a little more than a wildcard's word, so a wildcard keeps one ("add can openers..."). */
const SKIP = 0.02;

export interface MatchedSlot {
  name: string;
  /** A wildcard's free text. */
  wild?: true;
  value: SlotValue;
  /** The words said for it ('' for a sentence's fixed slots). */
  text: string;
}

export interface Match {
  intent: string;
  sentence: SentenceDef;
  slots: MatchedSlot[];
  confidence: number;
  /** Every word matched as written: no misheard, missing or extra words (skip words aside). */
  exact: boolean;
  /** The words matched (lowercase, numbers as words). */
  words: string[];
}

function substitute(word: string, said: string): number {
  if (word === said) return 0;
  return 0.3 + (0.7 * distance(word, said)) / Math.max(word.length, said.length);
}

/** A step of the best path: from node `from` by edge `edge` (none: a word said that no template has), taking word `took` (-1: none). */
interface Step {
  from: number;
  edge: Edge | null;
  took: number;
}

export class Matcher {
  constructor(
    private readonly graph: IntentGraph,
    private readonly skipWords: ReadonlySet<string>,
    /** Phrases dropped from the start of what was said ("can you"), longest first. */
    private readonly skipPhrases: readonly (readonly string[])[] = [],
  ) {
    this.skipPhrases = [...skipPhrases].sort((a, b) => b.length - a.length);
  }

  /** The words to match: numbers as words, leading skip phrases dropped. */
  private tokens(text: string): string[] {
    let t = digitsToWords(words(text));
    for (let again = true; again; ) {
      again = false;
      for (const p of this.skipPhrases) {
        if (p.length < t.length && p.every((w, i) => t[i] === w)) {
          t = t.slice(p.length);
          again = true;
          break;
        }
      }
    }
    return t;
  }

  /** The best match, or null when nothing reaches `minConfidence`: an exact match first (cheap: every other path is cut at once), else the fuzzy one. */
  match(text: string, minConfidence: number): Match | null {
    const tokens = this.tokens(text);
    if (tokens.length === 0) return null;
    return this.search(tokens, 1) ?? (minConfidence < 1 ? this.search(tokens, minConfidence) : null);
  }

  /**
   * Whether the words are a whole command that no template could go on from:
   * they match a template exactly, and no exact path through them, as plain
   * as the match (no more words taken as a wildcard's free text), has words
   * after them ("what time is it": yes; "turn off the lights": no, "in the
   * bedroom" may follow; "pause the music": yes, though "pause the music
   * timer" would be a timer's name). Semantic end of speech
   * (hub/sessions/commands.ts) ends such a session sooner.
   */
  complete(text: string): boolean {
    const tokens = this.tokens(text);
    if (tokens.length === 0) return false;
    const dp = this.run(tokens, 1);
    if (this.best(dp, tokens, 1) === null) return false;
    const last = dp.cost[tokens.length];
    let best = Infinity;
    for (const acc of this.graph.accept.keys()) best = Math.min(best, last[acc]);
    for (let u = 0; u < last.length; u++) {
      if (last[u] > best + WILD / 2) continue;
      if (this.graph.out[u].some((e) => e.word !== undefined || e.wild)) return false;
    }
    return true;
  }

  /** The dynamic programme: cost[pos][node] of the cheapest way to have heard `pos` words and stand at `node`. */
  private run(tokens: string[], minConfidence: number) {
    const said = tokens.filter((t) => !this.skipWords.has(t)).length;
    const g = this.graph;
    const N = g.size;
    const n = tokens.length;
    // Anything costlier than saying every word wrong can never pass.
    const bound = Math.max(1, said) * (1 - minConfidence) + SKIP * n + 1e-9;
    const cost: Float64Array[] = Array.from({ length: n + 1 }, () => new Float64Array(N).fill(Infinity));
    const back: (Step | undefined)[][] = Array.from({ length: n + 1 }, () => new Array<Step | undefined>(N));
    const relax = (pos: number, node: number, c: number, from: number, edge: Edge | null, took: number) => {
      if (c < cost[pos][node] - 1e-12 && c <= bound) {
        cost[pos][node] = c;
        back[pos][node] = { from, edge, took };
      }
    };
    cost[0][g.root] = 0;
    for (let pos = 0; pos <= n; pos++) {
      const here = cost[pos];
      // Moves that take no word: slot marks, and template words not said.
      for (let u = 0; u < N; u++) {
        const c = here[u];
        if (c === Infinity) continue;
        for (const e of g.out[u]) {
          if (e.wild || e.to === u) continue;
          relax(pos, e.to, c + (e.word ? DELETE : 0), u, e, -1);
        }
      }
      if (pos === n) break;
      const tok = tokens[pos];
      const sub = new Map<string, number>();
      const subst = (w: string) => {
        let v = sub.get(w);
        if (v === undefined) sub.set(w, (v = substitute(w, tok)));
        return v;
      };
      const extra = this.skipWords.has(tok) ? SKIP : INSERT;
      for (let u = 0; u < N; u++) {
        const c = here[u];
        if (c === Infinity) continue;
        relax(pos + 1, u, c + extra, u, null, pos);
        for (const e of g.out[u]) {
          if (e.word !== undefined) relax(pos + 1, e.to, c + subst(e.word), u, e, pos);
          else if (e.wild) relax(pos + 1, e.to, c + WILD, u, e, pos);
        }
      }
    }
    return { cost, back, said };
  }

  private search(tokens: string[], minConfidence: number): Match | null {
    return this.best(this.run(tokens, minConfidence), tokens, minConfidence);
  }

  /** The cheapest accepting path of a run, read, if it reaches `minConfidence`. */
  private best({ cost, back, said }: ReturnType<Matcher['run']>, tokens: string[], minConfidence: number): Match | null {
    const g = this.graph;
    const n = tokens.length;
    let best = -1;
    for (const acc of g.accept.keys()) if (cost[n][acc] < Infinity && (best < 0 || cost[n][acc] < cost[n][best] - 1e-12)) best = acc;
    if (best < 0) return null;
    const m = this.read(best, cost[n][best], tokens, back, said);
    return m && m.confidence >= minConfidence ? m : null;
  }

  /** Walks the best path back from the accepting node and reads its slots. */
  private read(acc: number, total: number, tokens: string[], back: (Step | undefined)[][], said: number): Match | null {
    const steps: Step[] = [];
    let pos = tokens.length;
    let node = acc;
    while (node !== this.graph.root || pos > 0) {
      const s = back[pos][node];
      if (!s) break;
      steps.push(s);
      if (s.took >= 0) pos--;
      node = s.from;
    }
    steps.reverse();
    const sentence = this.graph.accept.get(acc) as SentenceDef;
    let exact = true;
    let wildCost = 0;
    let skipCost = 0;
    /** Words a wildcard took that are not skip words (those are out of `said` already). */
    let wildSaid = 0;
    const slots: MatchedSlot[] = [];
    const open: { name: string; value?: SlotValue; words: string[]; wild?: true }[] = [];
    for (const s of steps) {
      const e = s.edge;
      const word = s.took >= 0 ? tokens[s.took] : undefined;
      if (e?.wild) {
        wildCost += WILD;
        if (word !== undefined && !this.skipWords.has(word)) wildSaid++;
        const inner = open.at(-1);
        if (inner) inner.wild = true;
      }
      else if (!e && word !== undefined && this.skipWords.has(word)) skipCost += SKIP;
      else if (!e && word !== undefined) exact = false;
      else if (e?.word !== undefined && e.word !== word) exact = false;
      if (word !== undefined && !(e === null && this.skipWords.has(word))) for (const o of open) o.words.push(word);
      if (e?.open) open.push({ name: e.open, words: [] });
      if (e?.value !== undefined && open.length) open[open.length - 1].value = e.value;
      if (e?.close) {
        const o = open.pop();
        if (o) {
          const text = o.words.join(' ');
          // A slot none of whose words was heard is made up: no match.
          if (text === '') return null;
          slots.push({ name: o.name, value: o.value ?? text, text, ...(o.wild ? { wild: true as const } : {}) });
        }
      }
    }
    for (const [name, value] of Object.entries(sentence.slots)) if (!slots.some((s) => s.name === name)) slots.push({ name, value, text: '' });
    // Words a wildcard took are no evidence for the intent: only the others count.
    const evidence = said - wildSaid;
    const confidence = exact ? 1 : Math.max(0, Math.min(1, 1 - (total - wildCost - skipCost) / Math.max(1, evidence)));
    return { intent: sentence.intent, sentence, slots, confidence: Math.round(confidence * 1000) / 1000, exact, words: tokens };
  }
}
