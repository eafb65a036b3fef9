/**
 * Phonemes on their way to a Piper voice:
 * - textPhonemes is Piper's "text" phoneme type (codepoints as phonemes);
 * - phonemesToIds maps phonemes to ids with the voice's phoneme_id_map, as
 *   Piper does, skipping (and counting) phonemes the map lacks.
 */

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
