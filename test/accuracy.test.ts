/**
 * Speech accuracy through the whole pipeline (issue 8): 20 home commands in
 * two flite voices, each after "hey jarvis" with pauses of 0, 0.35, 0.7 and
 * 1.2 s, over a pink-noise floor 40 dB below the speech, generated here with
 * flite and sox. Real satellite processes (WAV source, real-time pace), the
 * hub process with its embedded broker, pocketsphinx. In the same run the
 * recognizer alone hears each command's audio over the same noise.
 *
 * For each corpus (no pause; pause) the pipeline's pooled WER is within 2
 * points of the recognizer alone; every utterance wakes exactly once; no
 * session ends before its command was spoken; and no transcript starts with
 * a word the command does not have, unless the recognizer alone starts with
 * that same word (then it is the recognizer's error, not the wake word's).
 * The full corpus (24 commands) is in `npm run bench`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACCURACY_COMMANDS, buildCorpus, type Utterance } from './accuracy-corpus';
import { engineAlone, runPipeline, type UtteranceResult } from './accuracy-harness';
import { isDebris, scoreRows } from './accuracy-score';

const firstWord = (s: string) => s.toLowerCase().replace(/[^a-z' ]/g, ' ').split(/\s+/).filter(Boolean)[0];

test('pipeline accuracy: within 2 WER points of the recognizer alone, with and without a pause after the wake word', { timeout: 1_200_000 }, async (t) => {
  const utts = buildCorpus({ commands: ACCURACY_COMMANDS.slice(0, 20) });
  const run = await runPipeline(utts, { satellites: 4 });
  const engine = engineAlone(utts);
  const results = new Map(run.results.map((r) => [r.id, r]));
  const describe = (u: Utterance, r: UtteranceResult | undefined) => `${u.id} "${u.command}": engine "${engine.get(u.id) ?? ''}", pipeline "${r?.text ?? ''}" (${r?.wakes ?? 0} wake(s), stop ${r?.stopReason ?? '-'})`;

  const corpora: [string, Utterance[]][] = [
    ['no pause', utts.filter((u) => u.pauseMs === 0)],
    ['pause', utts.filter((u) => u.pauseMs > 0)],
  ];
  for (const [name, set] of corpora) {
    const row = scoreRows(set, '*', '*', results, engine);
    t.diagnostic(`${name}: ${set.length} utterances, recognizer alone ${(row.engineWer * 100).toFixed(1)} %, pipeline ${(row.pipelineWer * 100).toFixed(1)} % WER`);
    assert.ok(row.pipelineWer <= row.engineWer + 0.02, `${name}: pipeline WER ${(row.pipelineWer * 100).toFixed(1)} % > recognizer alone ${(row.engineWer * 100).toFixed(1)} % + 2 points`);
  }

  const wrongWakes = utts.filter((u) => results.get(u.id)?.wakes !== 1);
  assert.deepEqual(wrongWakes.map((u) => describe(u, results.get(u.id))), [], 'every utterance wakes exactly once');
  const early = utts.filter((u) => results.get(u.id)?.endedEarly);
  assert.deepEqual(early.map((u) => describe(u, results.get(u.id))), [], 'no session ends before its command was spoken');
  const debris = utts.filter((u) => {
    const text = results.get(u.id)?.text ?? '';
    return isDebris(u.command, text) && firstWord(text) !== firstWord(engine.get(u.id) ?? '');
  });
  assert.deepEqual(debris.map((u) => describe(u, results.get(u.id))), [], 'no transcript starts with a word the wake word left');
  assert.deepEqual(run.hubWarnings, [], 'the hub kept up');
});
