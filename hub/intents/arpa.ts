/**
 * A trigram language model of the intent templates, in ARPA text format, for
 * a recognizer (pocketsphinx reads it; hub/stt/ps-lm.ts mixes it with the
 * general model). The sentences are random walks through the intent graph,
 * each branch equally likely, a fixed number per template (a seeded
 * generator, so the same templates give the same model); a wildcard's words
 * are left out (the general model hears them). Every word of the graph is in
 * the vocabulary, seen in a walk or not. Probabilities are absolute
 * discounting with back-off (D = 0.5).
 */
import type { IntentGraph } from './graph';

const D = 0.5;
/** A word of the graph no walk took still gets this count as a unigram. */
const FLOOR = 0.25;

/** Mulberry32: a small seeded generator (the model must not change between starts). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `perSentence` random sentences of each template, as words. */
export function sampleSentences(graph: IntentGraph, perSentence: number, seed = 1): string[][] {
  const rnd = random(seed);
  const out: string[][] = [];
  for (const start of graph.out[graph.root].map((e) => e.to)) {
    for (let i = 0; i < perSentence; i++) {
      const words: string[] = [];
      let node = start;
      for (let guard = 0; guard < 10000; guard++) {
        // A wildcard's self-loop is never taken: its words are not the commands'.
        const edges = graph.out[node].filter((e) => e.to !== node);
        if (edges.length === 0) break;
        const e = edges[Math.floor(rnd() * edges.length)];
        if (e.word) words.push(e.word);
        node = e.to;
      }
      if (graph.accept.has(node) && words.length) out.push(words);
    }
  }
  return out;
}

/** Every word the graph can say. */
export function vocabulary(graph: IntentGraph): Set<string> {
  const v = new Set<string>();
  for (const edges of graph.out) for (const e of edges) if (e.word) v.add(e.word);
  return v;
}

const log10 = (p: number) => (p > 0 ? Math.log10(p) : -99).toFixed(6);

/**
 * Absolute discounting of one order's counts (history -> word -> count), and
 * each history's back-off weight: the probability mass left, over what the
 * order below (`lower(history, word)`) gives the words not seen after it.
 */
function discount(counts: Map<string, Map<string, number>>, lower: (history: string, word: string) => number) {
  const probs = new Map<string, Map<string, number>>();
  const backoff = new Map<string, number>();
  for (const [h, ws] of counts) {
    const n = [...ws.values()].reduce((a, b) => a + b, 0);
    const p = new Map<string, number>();
    for (const [w, c] of ws) p.set(w, (c - D) / n);
    probs.set(h, p);
    const left = 1 - [...p.values()].reduce((a, b) => a + b, 0);
    const below = 1 - [...p.keys()].reduce((a, w) => a + lower(h, w), 0);
    backoff.set(h, below > 0 ? left / below : 1);
  }
  return { probs, backoff };
}

/** The ARPA text of a trigram model of `sentences`, with every word of `vocab` as a unigram. */
export function arpa(sentences: string[][], vocab: Set<string>): string {
  const c1 = new Map<string, number>();
  const c2 = new Map<string, Map<string, number>>();
  const c3 = new Map<string, Map<string, number>>();
  const add = (m: Map<string, Map<string, number>>, k: string, w: string) => {
    let inner = m.get(k);
    if (!inner) m.set(k, (inner = new Map<string, number>()));
    inner.set(w, (inner.get(w) ?? 0) + 1);
  };
  for (const s of sentences) {
    const w = ['<s>', ...s, '</s>'];
    for (let i = 0; i < w.length; i++) {
      if (i > 0) c1.set(w[i], (c1.get(w[i]) ?? 0) + 1);
      if (i >= 1) add(c2, w[i - 1], w[i]);
      if (i >= 2) add(c3, `${w[i - 2]} ${w[i - 1]}`, w[i]);
    }
  }
  for (const w of vocab) if (!c1.has(w)) c1.set(w, FLOOR);
  const total = [...c1.values()].reduce((a, b) => a + b, 0);
  const p1 = new Map<string, number>([...c1].map(([w, c]) => [w, c / total]));
  // Bigrams, then trigrams: discounted, and each history's back-off weight to the order below.
  const { probs: p2, backoff: bo1 } = discount(c2, (_h, w) => p1.get(w) ?? 0);
  const bigram = (h: string, w: string) => p2.get(h)?.get(w) ?? (bo1.get(h) ?? 1) * (p1.get(w) ?? 0);
  const { probs: p3, backoff: bo2 } = discount(c3, (h, w) => bigram(h.split(' ')[1], w));
  const uni = ['<s>', ...[...p1.keys()].filter((w) => w !== '<s>').sort()];
  const lines1 = uni.map((w) => `${w === '<s>' ? '-99.000000' : log10(p1.get(w) ?? 0)} ${w}${bo1.has(w) ? ` ${log10(bo1.get(w) ?? 1)}` : w === '</s>' ? '' : ' 0.000000'}`);
  const lines2: string[] = [];
  for (const [h, ws] of [...p2].sort()) for (const [w, p] of [...ws].sort()) lines2.push(`${log10(p)} ${h} ${w}${bo2.has(`${h} ${w}`) ? ` ${log10(bo2.get(`${h} ${w}`) ?? 1)}` : ''}`);
  const lines3: string[] = [];
  for (const [h, ws] of [...p3].sort()) for (const [w, p] of [...ws].sort()) lines3.push(`${log10(p)} ${h} ${w}`);
  return ['\\data\\', `ngram 1=${lines1.length}`, `ngram 2=${lines2.length}`, `ngram 3=${lines3.length}`, '', '\\1-grams:', ...lines1, '', '\\2-grams:', ...lines2, '', '\\3-grams:', ...lines3, '', '\\end\\', ''].join('\n');
}
