/**
 * Scoring for the accuracy harness: pooled word error rate (errors and
 * words summed over utterances, test/helpers wer()), pipeline against the
 * recognizer alone, per voice x pause, per voice, per pause and overall;
 * with issue 8's failure counts.
 */
import type { Utterance } from './accuracy-corpus';
import type { UtteranceResult } from './accuracy-harness';
import { wer } from './helpers';

export interface ScoreRow {
  /** '*' where the row pools every voice or every pause. */
  voice: string;
  pauseMs: number | '*';
  utterances: number;
  /** Words in the references. */
  words: number;
  /** Pooled WER of the recognizer alone (NaN without engine results). */
  engineWer: number;
  /** Pooled WER of the pipeline's transcripts (NaN without pipeline results). */
  pipelineWer: number;
  /** Pipeline transcripts whose first word is not a word of the command (e.g. "jarvis" or debris of the wake word). */
  debris: number;
  /** The same count for the recognizer alone. */
  engineDebris: number;
  /** Empty pipeline transcripts (no session, or a session with no text). */
  empty: number;
  /** Utterances that did not produce exactly one wake (session). */
  wrongWakes: number;
  /** Utterances whose first session ended before the command did. */
  earlyEnds: number;
  /** Median end of speech -> final transcript, ms (first sessions that have one). */
  medianLatencyMs: number;
}

function words(s: string): string[] {
  return s.toLowerCase().replace(/[^a-z' ]/g, ' ').split(/\s+/).filter(Boolean);
}

/** The transcript's first word is not a word of the command (an empty transcript is not debris). */
export function isDebris(command: string, text: string): boolean {
  const first = words(text)[0];
  return first !== undefined && !words(command).includes(first);
}

function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

function pooled(pairs: [string, string][]): number {
  if (pairs.length === 0) return Number.NaN;
  let errors = 0;
  let total = 0;
  for (const [ref, hyp] of pairs) {
    const w = wer(ref, hyp);
    errors += w.errors;
    total += w.words;
  }
  return total ? errors / total : 0;
}

/** One row over a set of utterances. */
export function scoreRows(utts: readonly Utterance[], voice: string, pauseMs: number | '*', pipeline?: ReadonlyMap<string, UtteranceResult>, engine?: ReadonlyMap<string, string>): ScoreRow {
  const eng = engine ? utts.map((u): [string, string] => [u.command, engine.get(u.id) ?? '']) : [];
  const res = pipeline ? utts.map((u) => ({ u, r: pipeline.get(u.id) })) : [];
  return {
    voice,
    pauseMs,
    utterances: utts.length,
    words: utts.reduce((a, u) => a + words(u.command).length, 0),
    engineWer: pooled(eng),
    pipelineWer: pooled(res.map(({ u, r }): [string, string] => [u.command, r?.text ?? ''])),
    debris: res.filter(({ u, r }) => isDebris(u.command, r?.text ?? '')).length,
    engineDebris: eng.filter(([ref, hyp]) => isDebris(ref, hyp)).length,
    empty: res.filter(({ r }) => !r?.text).length,
    wrongWakes: res.filter(({ r }) => (r?.wakes ?? 0) !== 1).length,
    earlyEnds: res.filter(({ r }) => r?.endedEarly).length,
    medianLatencyMs: median(res.flatMap(({ r }) => (r?.latencyMs !== undefined ? [r.latencyMs] : []))),
  };
}

/**
 * Scores a corpus: a row per voice x pause (in corpus order), then per voice,
 * per pause, and overall. Either result set may be missing (its columns are NaN / 0).
 */
export function score(utts: readonly Utterance[], results: { pipeline?: readonly UtteranceResult[]; engine?: ReadonlyMap<string, string> }): ScoreRow[] {
  const pipeline = results.pipeline ? new Map(results.pipeline.map((r) => [r.id, r])) : undefined;
  const voices = [...new Set(utts.map((u) => u.voice))];
  const pauses = [...new Set(utts.map((u) => u.pauseMs))];
  const rows: ScoreRow[] = [];
  for (const v of voices) for (const p of pauses) rows.push(scoreRows(utts.filter((u) => u.voice === v && u.pauseMs === p), v, p, pipeline, results.engine));
  for (const v of voices) rows.push(scoreRows(utts.filter((u) => u.voice === v), v, '*', pipeline, results.engine));
  for (const p of pauses) rows.push(scoreRows(utts.filter((u) => u.pauseMs === p), '*', p, pipeline, results.engine));
  rows.push(scoreRows(utts, '*', '*', pipeline, results.engine));
  return rows;
}
