/**
 * Numbers as people say them and recognizers write them: "nineteen",
 * "twenty one", "one hundred" (or "a hundred"). Ranges in templates expand to
 * these words; digits in a transcript ("19", "50%") become them before matching.
 */
import { toWords } from 'number-to-words';

/** The ways to say a whole number, the usual one first, each as words. */
export function sayings(n: number): string[][] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${n} is not a whole number from 0 up`);
  const usual = toWords(n).replace(/,/g, '').split(/[\s-]+/).filter(Boolean);
  const all = [usual];
  // "a hundred", "a thousand": what people say for one hundred, one thousand.
  if (usual[0] === 'one' && (usual[1] === 'hundred' || usual[1] === 'thousand')) all.push(['a', ...usual.slice(1)]);
  // "one hundred and five": British and careful speech.
  const h = usual.indexOf('hundred');
  if (h >= 0 && h < usual.length - 1 && usual[h + 1] !== 'thousand') all.push([...usual.slice(0, h + 1), 'and', ...usual.slice(h + 1)]);
  return all;
}

/** Replaces whole-number tokens with their words ("19" -> "nineteen"). */
export function digitsToWords(tokens: string[]): string[] {
  return tokens.flatMap((t) => (/^\d{1,6}$/.test(t) ? sayings(Number(t))[0] : [t]));
}
