/**
 * Streaming sentence splitter for LLM output: push() text deltas, get back
 * every sentence completed so far; flush() returns the rest. A sentence ends
 * at . ! ? (or … or a line break) followed by whitespace, except after
 * abbreviations, initials and inside numbers ("3.5", "1,000.25").
 */
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'ft', 'vs', 'etc', 'e.g', 'i.e', 'approx', 'no', 'nos', 'vol', 'fig',
  'inc', 'ltd', 'co', 'corp', 'dept', 'est', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
  'a.m', 'p.m', 'u.s', 'u.k', 'ave', 'blvd', 'rd', 'approx',
]);

export class SentenceSplitter {
  private buf = '';

  /** Adds text; returns the sentences completed by it (trimmed, non-empty). */
  push(delta: string): string[] {
    this.buf += delta;
    const out: string[] = [];
    let start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const ch = this.buf[i];
      if (ch === '\n') {
        this.cut(start, i + 1, out);
        start = i + 1;
        continue;
      }
      if (ch !== '.' && ch !== '!' && ch !== '?' && ch !== '…') continue;
      // Swallow runs of terminators and closing quotes/brackets: "Really?!" / 'end."'
      let j = i + 1;
      while (j < this.buf.length && /[.!?…"'”’)\]]/.test(this.buf[j])) j++;
      if (j >= this.buf.length) break; // need the next character to decide
      if (!/\s/.test(this.buf[j])) {
        i = j - 1;
        continue; // "3.5", "example.com"
      }
      if (ch === '.' && this.isAbbreviation(start, i)) continue;
      this.cut(start, j, out);
      start = j;
      i = j - 1;
    }
    this.buf = this.buf.slice(start);
    return out;
  }

  /** Returns whatever is left as a last sentence (end of the stream). */
  flush(): string[] {
    const rest = this.buf.trim();
    this.buf = '';
    return rest ? [rest] : [];
  }

  private cut(from: number, to: number, out: string[]): void {
    const s = this.buf.slice(from, to).trim();
    if (s) out.push(s);
  }

  /** The word before the period at `dot` is an abbreviation or an initial. */
  private isAbbreviation(start: number, dot: number): boolean {
    const before = this.buf.slice(start, dot);
    const m = /([A-Za-z.]+)$/.exec(before);
    if (!m) return false;
    const word = (m[1]).toLowerCase();
    if (ABBREVIATIONS.has(word) || ABBREVIATIONS.has(word.replace(/^\.+|\.+$/g, ''))) return true;
    if (word.length === 1 && /[A-Z]$/.test(before)) return true; // initial: "J. R. R. Tolkien"
    if (/^([a-z]\.)+[a-z]$/.test(word)) return true; // "U.S", "p.m"
    return false;
  }
}

/** True if a reply ends by asking something (triggers follow-up listening). */
export function asksQuestion(text: string): boolean {
  return /\?["'”’)\]]*\s*$/.test(text.trim());
}
