/**
 * Text on its way to a Piper voice, before and after the phonemizer:
 * - splitText cuts any text into pieces the phonemizer can take (see
 *   PIECE_CHARS), at sentence ends first, then at clause ends, then between
 *   words, and only a word longer than a piece is cut inside;
 * - textPhonemes is Piper's "text" phoneme type (codepoints as phonemes);
 * - phonemesToIds maps phonemes to ids with the voice's phoneme_id_map, as
 *   Piper does, skipping (and counting) phonemes the map lacks.
 */
import { SentenceSplitter } from '../reply/sentences';

/**
 * Longest piece handed to the phonemizer at once. Normal sentences are far
 * shorter and stay whole (espeak-ng then splits them exactly as Piper does);
 * only a longer sentence is cut at a clause or word boundary. A piece of this
 * size costs about 4 % of a fresh phonemizer's memory (piper-phonemizer.ts).
 */
export const PIECE_CHARS = 500;

/** A clause ends at , ; : or a dash, followed by white space. */
const CLAUSE_END = /[,;:]\s+|\s+[-–—]+\s+|—/g;

/**
 * Splits `text` into pieces of at most `max` characters. Text that fits is one
 * piece; longer text is cut between sentences (packing whole sentences into
 * each piece), a sentence longer than `max` between clauses, a clause longer
 * than `max` between words, and a word longer than `max` every `max`
 * characters. Pieces are trimmed and never empty.
 */
export function splitText(text: string, max = PIECE_CHARS): string[] {
  const t = text.trim();
  if (!t) return [];
  if (t.length <= max) return [t];
  const splitter = new SentenceSplitter();
  const sentences = [...splitter.push(`${t} `), ...splitter.flush()];
  return pack(sentences.flatMap((s) => (s.length <= max ? [s] : splitSentence(s, max))), max);
}

function splitSentence(s: string, max: number): string[] {
  const clauses: string[] = [];
  let at = 0;
  for (const m of s.matchAll(CLAUSE_END)) {
    const end = (m.index ?? 0) + m[0].length;
    clauses.push(s.slice(at, end));
    at = end;
  }
  clauses.push(s.slice(at));
  return pack(clauses.flatMap((c) => (c.trim().length <= max ? [c] : splitWords(c, max))), max);
}

function splitWords(clause: string, max: number): string[] {
  return pack(clause.split(/(?<=\s)/).flatMap((w) => (w.trim().length <= max ? [w] : cutWord(w.trim(), max))), max);
}

/** Cuts every `max` UTF-16 units, never inside a surrogate pair. */
function cutWord(word: string, max: number): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < word.length) {
    let end = Math.min(at + max, word.length);
    if (end < word.length && /[\uD800-\uDBFF]/.test(word[end - 1])) end--;
    out.push(word.slice(at, end));
    at = end;
  }
  return out;
}

/** Joins consecutive parts while the joined piece stays within `max`. */
function pack(parts: string[], max: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const p of parts) {
    const joined = cur && !/\s$/.test(cur) && !/^\s/.test(p) ? `${cur} ${p}` : cur + p;
    if (joined.trim().length <= max) cur = joined;
    else {
      if (cur.trim()) out.push(cur.trim());
      cur = p;
    }
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/**
 * Piper's "text" phoneme type: the text's codepoints after NFD, one
 * utterance (no sentence detection), as piper1-gpl trains and speaks it. A
 * codepoint the voice's map lacks is case-folded if the folded one is in the
 * map (rhasspy/piper's C++ folds every codepoint; a voice trained with its
 * default "ignore" casing keeps both cases in its map).
 */
export function textPhonemes(text: string, map: Record<string, number[]>): string[] {
  return Array.from(text.normalize('NFD')).flatMap((c) => {
    if (map[c]) return [c];
    const folded = Array.from(c.toUpperCase().toLowerCase().normalize('NFD'));
    return folded.every((f) => map[f]) ? folded : [c];
  });
}

/** Piper's phonemes -> ids: ^ _ (p _)* $ with the voice's map; phonemes it lacks are skipped and counted. */
export function phonemesToIds(phonemes: string[], map: Record<string, number[]>, missing?: Map<string, number>): number[] {
  const pad = map._ ?? [0];
  const ids: number[] = [...(map['^'] ?? [1]), ...pad];
  for (const p of phonemes) {
    const id = map[p];
    if (!id) {
      missing?.set(p, (missing.get(p) ?? 0) + 1);
      continue;
    }
    ids.push(...id, ...pad);
  }
  ids.push(...(map.$ ?? [2]));
  return ids;
}

/** "͡ (U+0361) x3" for a log line. */
export function describeMissing(missing: Map<string, number>): string[] {
  return [...missing].map(([p, n]) => `${p} (U+${(p.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}) x${n}`);
}
