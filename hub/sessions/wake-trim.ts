/**
 * Drops what the wake word produced from a transcript. The satellite says in
 * audio/start where in the stream its wake word fired (`wakeMs`). The
 * detector fires near the word's end, anywhere from a little before it to
 * about 250 ms after, and the pre-roll carries the whole wake phrase, so the
 * recognizer hears it: as its words ("hey jarvis"), or as fragments ("-vis"
 * of "jarvis" as "it's").
 *
 * Only leading words that end by `wakeMs + marginMs` can be the wake
 * word's. Among them, when the recognizer heard the wake phrase's last word
 * ("jarvis" of hey_jarvis), that word ends the wake word: it and what comes
 * before it are dropped, and whatever follows is the command, even a short
 * first word that ended before a late fire point ("is" in "hey jarvis is
 * the back door locked"). Otherwise every such leading word is dropped.
 * Sessions without a wake word (listen, follow-up) and words without
 * timings are kept as they are.
 */
import type { Word } from '../stt/engine';

/** The words a wake-word model's name says: hey_jarvis_v0.1 -> ["hey", "jarvis"]. */
export function wakePhrase(wakeWord: string): string[] {
  return wakeWord
    .toLowerCase()
    .replace(/[_-]v?\d+(\.\d+)*$/, '')
    .split(/[_\s-]+/)
    .filter(Boolean);
}

export function afterWake(words: readonly Word[], wakeMs: number | undefined, marginMs: number, phrase: readonly string[] = []): { kept: Word[]; dropped: Word[] } {
  if (wakeMs === undefined) return { kept: [...words], dropped: [] };
  const cut = wakeMs + marginMs;
  let lead = 0;
  while (lead < words.length && words[lead].endMs !== undefined && (words[lead].endMs as number) <= cut) lead++;
  const last = phrase.at(-1);
  let i = lead;
  if (last !== undefined) {
    for (let k = lead - 1; k >= 0; k--) {
      if (words[k].word.toLowerCase() !== last) continue;
      i = k + 1;
      break;
    }
  }
  return { kept: words.slice(i), dropped: words.slice(0, i) };
}
