/**
 * Drops what the wake word produced from a transcript. The satellite says in
 * audio/start where in the stream its wake word fired (`wakeMs`); the detector
 * fires before the word is over and the pre-roll carries the word's end, so
 * the recognizer hears a piece of it ("-vis" of "jarvis" as "it's", "this").
 * Every leading word that ends by `wakeMs + marginMs` is the wake word's, not
 * the command's. Sessions without a wake word (listen, follow-up) and words
 * without timings are kept as they are.
 */
import type { Word } from '../stt/engine';

export function afterWake(words: readonly Word[], wakeMs: number | undefined, marginMs: number): { kept: Word[]; dropped: Word[] } {
  if (wakeMs === undefined) return { kept: [...words], dropped: [] };
  const cut = wakeMs + marginMs;
  let i = 0;
  while (i < words.length && words[i].endMs !== undefined && (words[i].endMs as number) <= cut) i++;
  return { kept: words.slice(i), dropped: words.slice(0, i) };
}
