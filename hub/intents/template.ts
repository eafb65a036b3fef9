/**
 * Sentence templates, in hassil's syntax (docs/intents.md):
 *   words            turn on the light
 *   alternatives     (turn | switch) on
 *   optional         turn on [the] light
 *   permutation      (in the kitchen; turn on the light)   any order
 *   lists            {area}  {brightness:level}   a list's value fills a slot
 *   rules            <name>  an expansion rule, written once, used anywhere
 *   inside a word    light[s]  (turn|switch)ed   glued without a space
 * The parser comes from a peggy grammar, generated once when this module loads.
 */
import peggy from 'peggy';
import { digitsToWords } from './numbers';

export type Node =
  | { type: 'seq'; items: Node[] }
  | { type: 'word'; text: string }
  | { type: 'alt'; options: Node[]; optional?: boolean }
  | { type: 'perm'; items: Node[] }
  | { type: 'list'; name: string; slot: string }
  | { type: 'rule'; name: string };

const GRAMMAR = String.raw`
Template = _ a:Alt _ { return a; }
Alt = first:Seq rest:(_ "|" _ s:Seq { return s; })* {
  return rest.length ? { type: 'alt', options: [first, ...rest] } : first;
}
Body = first:Alt rest:(_ ";" _ a:Alt { return a; })* {
  return rest.length ? { type: 'perm', items: [first, ...rest] } : first;
}
Seq = head:Chunk? tail:(__ c:Chunk { return c; })* {
  const items = head ? [head, ...tail] : tail;
  return { type: 'seq', items };
}
Chunk = parts:Part+ { return parts.length === 1 ? parts[0] : { type: 'glued', parts }; }
Part = Group / Optional / ListRef / RuleRef / Word
Group = "(" _ b:Body _ ")" { return b; }
Optional = "[" _ b:Body _ "]" { return { type: 'alt', options: [b, { type: 'seq', items: [] }], optional: true }; }
ListRef = "{" _ name:Name _ slot:(":" _ n:Name _ { return n; })? "}" { return { type: 'list', name, slot: slot ?? name }; }
RuleRef = "<" _ name:Name _ ">" { return { type: 'rule', name }; }
Word = text:$[^ \t()[\]{}<>|;]+ { return { type: 'word', text }; }
Name = $[A-Za-z0-9_.-]+
_ = [ \t]*
__ = [ \t]+
`;

const parser = peggy.generate(GRAMMAR);

/** Punctuation a transcript never has: dropped from template words and from what is matched. */
const PUNCT = /[,.?!:"“”]/g;

/** Lowercase words without punctuation; "%" is "percent" (the recognizer says it, a typist types it). */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/%/g, ' percent ')
    .replace(PUNCT, ' ')
    .replace(/-/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
}

type Raw = Node | { type: 'glued'; parts: Raw[] };

/** Parses one template; throws an Error whose message says where it went wrong. */
export function parseTemplate(text: string): Node {
  let raw: Raw;
  try {
    raw = parser.parse(text) as Raw;
  } catch (err) {
    const e = err as { message: string; location?: { start: { column: number } } };
    const at = e.location ? ` at column ${e.location.start.column}` : '';
    throw new Error(`cannot parse template "${text}"${at}: ${e.message}`, { cause: err });
  }
  try {
    return clean(raw);
  } catch (err) {
    throw new Error(`template "${text}": ${(err as Error).message}`, { cause: err });
  }
}

function clean(n: Raw): Node {
  switch (n.type) {
    case 'glued':
      return glue(n.parts.map(clean));
    case 'seq':
      return { type: 'seq', items: n.items.map(clean) };
    case 'alt':
      return { ...n, options: n.options.map(clean) };
    case 'perm':
      return { type: 'perm', items: n.items.map(clean) };
    case 'word': {
      // Digits are words, as in a transcript ("play radio 4" is "play radio four").
      const ws = digitsToWords(words(n.text));
      if (ws.length === 1) return { type: 'word', text: ws[0] };
      return { type: 'seq', items: ws.map((w) => ({ type: 'word', text: w })) };
    }
    default:
      return n;
  }
}

/** Every string a node can say, for parts glued inside a word ("light[s]"); only words and their alternatives may be glued. */
function strings(n: Node): string[] {
  switch (n.type) {
    case 'word':
      return [n.text];
    case 'seq':
      return n.items.reduce<string[]>((acc, i) => acc.flatMap((a) => strings(i).map((s) => (a && s ? `${a} ${s}` : a + s))), ['']);
    case 'alt':
      return n.options.flatMap(strings);
    default:
      throw new Error(`a ${n.type === 'list' ? `list {${n.name}}` : n.type === 'rule' ? `rule <${n.name}>` : 'permutation'} cannot be glued to a word; put a space before it`);
  }
}

/** A part that is punctuation or "%" only: it stays a word of its own ("{brightness}%", "{name}?"). */
const SYMBOL = /^[%,.?!:"“”]+$/;

function glue(parts: Node[]): Node {
  const ref = (p: Node) => p.type === 'list' || p.type === 'rule' || p.type === 'perm';
  const symbol = (p: Node) => (p.type === 'word' && (SYMBOL.test(p.text) || p.text === 'percent')) || (p.type === 'seq' && p.items.length === 0);
  if (parts.some(ref) && parts.every((p) => ref(p) || symbol(p))) {
    return { type: 'seq', items: parts };
  }
  let acc = [''];
  for (const p of parts) acc = acc.flatMap((a) => strings(p).map((s) => a + s));
  const options: Node[] = [...new Set(acc)].map((s) => {
    const ws = words(s);
    return ws.length === 1 ? { type: 'word', text: ws[0] } : { type: 'seq', items: ws.map((w) => ({ type: 'word', text: w })) };
  });
  return options.length === 1 ? options[0] : { type: 'alt', options };
}

/** The lists and rules a template refers to (for validation). */
export function references(n: Node, out: { lists: Set<string>; rules: Set<string>; slots: Set<string> } = { lists: new Set(), rules: new Set(), slots: new Set() }) {
  switch (n.type) {
    case 'list':
      out.lists.add(n.name);
      out.slots.add(n.slot);
      break;
    case 'rule':
      out.rules.add(n.name);
      break;
    case 'seq':
    case 'perm':
      for (const i of n.items) references(i, out);
      break;
    case 'alt':
      for (const o of n.options) references(o, out);
      break;
    default:
  }
  return out;
}
