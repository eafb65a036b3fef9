/**
 * Templates compiled into one graph for the whole intent set: each sentence
 * is a path from the root to an accepting node. Edges say a word, take any
 * word (a wildcard), or say nothing and mark a slot (open, value, close).
 * Every edge goes from a lower node number to a higher one (a wildcard's
 * self-loop aside), so node order is a topological order: the matcher
 * (match.ts) relaxes nodes in that order.
 */
import { sayings } from './numbers';
import type { Node } from './template';

/** Parts of one permutation "(a; b; c)": 5 is 120 orders. */
const MAX_PERMUTED = 5;

export type SlotValue = string | number | boolean;

export type ListDef =
  /** `out` absent: the value is the words said. */
  | { kind: 'values'; values: { in: Node; out?: SlotValue }[] }
  | { kind: 'range'; from: number; to: number; step: number; multiplier: number }
  | { kind: 'wildcard' };

export interface SentenceDef {
  intent: string;
  /** The template as written, and where (file and key), for logs and errors. */
  text: string;
  where: string;
  template: Node;
  /** Slots every match of this sentence has (whole-sentence synonyms: "lights out" is HassTurnOff, name: all). */
  slots: Record<string, SlotValue>;
  /** Without an area slot in the match, the satellite's room is the area. */
  areaFromRoom: boolean;
}

export interface Edge {
  to: number;
  word?: string;
  /** Takes any one word (a wildcard slot). */
  wild?: true;
  open?: string;
  value?: SlotValue;
  close?: string;
}

export class IntentGraph {
  readonly out: Edge[][] = [];
  /** Accepting node -> the sentence it ends. */
  readonly accept = new Map<number, SentenceDef>();
  readonly root: number;
  /** Lists that are wildcards (their value is the words they took). */
  readonly wildcards = new Set<string>();
  /** Sentences that could not be compiled (a rule that refers to itself, a permutation too long), each with where it is. */
  readonly problems: string[] = [];

  constructor(sentences: SentenceDef[], private readonly lists: Map<string, ListDef>, private readonly rules: Map<string, Node>) {
    this.root = this.node();
    for (const s of sentences) {
      const start = this.node();
      this.edge(this.root, { to: start });
      let end: number;
      try {
        end = this.build(s.template, start, []);
      } catch (err) {
        // The half-built path leads to no accepting node: nothing can match it.
        this.problems.push(`${s.where}: ${(err as Error).message}`);
        continue;
      }
      const acc = this.node();
      this.edge(end, { to: acc });
      this.accept.set(acc, s);
    }
  }

  get size(): number {
    return this.out.length;
  }

  private node(): number {
    this.out.push([]);
    return this.out.length - 1;
  }

  private edge(from: number, e: Edge): void {
    this.out[from].push(e);
  }

  /** Adds `n` after node `from`; returns the node it ends at. */
  private build(n: Node, from: number, ruleStack: string[]): number {
    switch (n.type) {
      case 'word': {
        const to = this.node();
        this.edge(from, { to, word: n.text });
        return to;
      }
      case 'seq':
        return n.items.reduce((at, i) => this.build(i, at, ruleStack), from);
      case 'alt':
        return this.join(n.options.map((o) => this.build(o, from, ruleStack)));
      case 'perm':
        if (n.items.length > MAX_PERMUTED) throw new Error(`a permutation of ${n.items.length} parts has too many orders; at most ${MAX_PERMUTED} parts`);
        return this.join(permutations(n.items).map((order) => order.reduce((at, i) => this.build(i, at, ruleStack), from)));
      case 'rule': {
        const body = this.rules.get(n.name);
        if (!body) throw new Error(`unknown rule <${n.name}>`);
        if (ruleStack.includes(n.name)) throw new Error(`rule <${n.name}> refers to itself (${[...ruleStack, n.name].join(' -> ')})`);
        return this.build(body, from, [...ruleStack, n.name]);
      }
      case 'list':
        return this.list(n.name, n.slot, from, ruleStack);
    }
  }

  /** A new node every end leads to. */
  private join(ends: number[]): number {
    const to = this.node();
    for (const e of ends) this.edge(e, { to });
    return to;
  }

  private list(name: string, slot: string, from: number, ruleStack: string[]): number {
    const def = this.lists.get(name);
    if (!def) throw new Error(`unknown list {${name}}`);
    const open = this.node();
    this.edge(from, { to: open, open: slot });
    const ends: number[] = [];
    if (def.kind === 'wildcard') {
      this.wildcards.add(slot);
      const w = this.node();
      this.edge(open, { to: w, wild: true });
      this.edge(w, { to: w, wild: true });
      ends.push(w);
    } else if (def.kind === 'range') {
      for (let v = def.from; v <= def.to + 1e-9; v += def.step) {
        const s = this.node();
        this.edge(open, { to: s, value: Math.round(v * def.multiplier * 1e6) / 1e6 });
        for (const say of sayings(Math.round(v))) ends.push(say.reduce((at, w) => this.build({ type: 'word', text: w }, at, ruleStack), s));
      }
    } else {
      for (const v of def.values) {
        const s = this.node();
        this.edge(open, v.out === undefined ? { to: s } : { to: s, value: v.out });
        ends.push(this.build(v.in, s, ruleStack));
      }
    }
    const close = this.node();
    for (const e of ends) this.edge(e, { to: close, close: slot });
    return close;
  }
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]));
}
