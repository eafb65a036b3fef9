/**
 * The LLM's tools (docs/intents.md, "The LLM's tools"), generated once at
 * start from the intent set: one function per intent (HassNevermind aside),
 * named as the intent, described by its name and one example sentence, with
 * one parameter per slot its templates fill from a list:
 *   values list -> enum of the list's values (left out while the list is empty);
 *   range       -> integer (number with a multiplier) with minimum and maximum;
 *   wildcard    -> string.
 * A slot filled by several lists (a timer's name: timer_name or timer_free)
 * takes them all: any wildcard makes it a plain string, values are joined,
 * ranges widened. A sentence's fixed slots (domain...) are not parameters.
 */
import type { Tool } from 'ollama';
import type { ListDef, SlotValue } from '../intents/graph';
import type { IntentDef, IntentSet } from '../intents/load';
import type { Node } from '../intents/template';

/** Intents that are never tools: nevermind only stops what is being said, which a tool call cannot. */
const NOT_TOOLS = new Set(['HassNevermind']);

export interface ToolParameter {
  type: 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  enum?: SlotValue[];
  minimum?: number;
  maximum?: number;
}

export interface LlmTool extends Tool {
  type: 'function';
  function: { name: string; description: string; parameters: { type: 'object'; properties: Record<string, ToolParameter>; required: string[] } };
}

/** One tool per intent the LLM may call, in the intent set's order. */
export function generateTools(set: Pick<IntentSet, 'intents' | 'lists' | 'rules'>): LlmTool[] {
  const tools: LlmTool[] = [];
  for (const intent of set.intents.values()) {
    if (NOT_TOOLS.has(intent.name) || intent.sentences.length === 0) continue;
    tools.push({
      type: 'function',
      function: { name: intent.name, description: describe(intent, set), parameters: { type: 'object', properties: parameters(intent, set), required: [] } },
    });
  }
  return tools;
}

function parameters(intent: IntentDef, set: Pick<IntentSet, 'lists' | 'rules'>): Record<string, ToolParameter> {
  const bySlot = new Map<string, Set<string>>();
  for (const s of intent.sentences)
    for (const { list, slot } of slotLists(s.template, set.rules, [])) {
      const lists = bySlot.get(slot) ?? new Set<string>();
      lists.add(list);
      bySlot.set(slot, lists);
    }
  const out: Record<string, ToolParameter> = {};
  for (const [slot, lists] of bySlot) {
    const p = merge([...lists].map((l) => set.lists.get(l)));
    if (p) out[slot] = p;
  }
  return out;
}

function merge(defs: (ListDef | undefined)[]): ToolParameter | undefined {
  if (defs.some((d) => d?.kind === 'wildcard')) return { type: 'string' };
  const values: SlotValue[] = [];
  let min = Infinity;
  let max = -Infinity;
  let whole = true;
  for (const d of defs) {
    if (d?.kind === 'values') for (const v of d.values) for (const x of v.out !== undefined ? [v.out] : sayings(v.in)) if (!values.includes(x)) values.push(x);
    if (d?.kind === 'range') {
      min = Math.min(min, d.from * d.multiplier);
      max = Math.max(max, d.to * d.multiplier);
      whole &&= Number.isInteger(d.multiplier);
    }
  }
  if (values.length) {
    const type = values.every((v) => typeof v === 'number') ? 'number' : values.every((v) => typeof v === 'boolean') ? 'boolean' : 'string';
    return { type, enum: type === 'string' ? values.map(String) : values };
  }
  if (min <= max) return { type: whole ? 'integer' : 'number', minimum: min, maximum: max };
  return undefined; // only empty values lists: nothing could be named
}

/** The lists a template (through its rules) fills slots from. */
function slotLists(n: Node, rules: Map<string, Node>, stack: string[]): { list: string; slot: string }[] {
  switch (n.type) {
    case 'word':
      return [];
    case 'seq':
    case 'perm':
      return n.items.flatMap((i) => slotLists(i, rules, stack));
    case 'alt':
      return n.options.flatMap((o) => slotLists(o, rules, stack));
    case 'list':
      return [{ list: n.name, slot: n.slot }];
    case 'rule': {
      const body = rules.get(n.name);
      return body && !stack.includes(n.name) ? slotLists(body, rules, [...stack, n.name]) : [];
    }
  }
}

/** Every saying of a list value written with alternatives ("(red | crimson)"), up to a few. */
function sayings(n: Node): string[] {
  const all = (m: Node): string[][] => {
    switch (m.type) {
      case 'word':
        return [[m.text]];
      case 'seq':
      case 'perm':
        return m.items.reduce<string[][]>((acc, i) => acc.flatMap((a) => all(i).map((b) => [...a, ...b])).slice(0, 16), [[]]);
      case 'alt':
        return m.options.flatMap(all).slice(0, 16);
      default:
        return [[]];
    }
  };
  return all(n)
    .map((w) => w.join(' '))
    .filter((s) => s !== '');
}

/** "Turn off, as in: turn off kitchen light". */
function describe(intent: IntentDef, set: Pick<IntentSet, 'lists' | 'rules'>): string {
  const words = intent.name
    .replace(/^(Hass|Voice)/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
  const said = example(intent.sentences[0].template, set, []).join(' ').replace(/\s+/g, ' ').trim();
  return `${words.charAt(0).toUpperCase()}${words.slice(1)}, as in: "${said}"`;
}

/** One sentence a template says: first alternatives, optional parts left out, a list's first value, a range's middle. */
function example(n: Node, set: Pick<IntentSet, 'lists' | 'rules'>, stack: string[]): string[] {
  switch (n.type) {
    case 'word':
      return [n.text];
    case 'seq':
    case 'perm':
      return n.items.flatMap((i) => example(i, set, stack));
    case 'alt':
      return n.optional ? [] : example(n.options[0], set, stack);
    case 'rule': {
      const body = set.rules.get(n.name);
      return body && !stack.includes(n.name) ? example(body, set, [...stack, n.name]) : [];
    }
    case 'list': {
      const d = set.lists.get(n.name);
      if (d?.kind === 'range') return [String(Math.round((d.from + d.to) / 2 / d.step) * d.step)];
      if (d?.kind === 'values' && d.values.length) return example(d.values[0].in, set, stack);
      return [n.slot];
    }
  }
}
