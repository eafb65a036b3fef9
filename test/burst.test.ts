/**
 * A cold burst with real satellite processes (issue 15; test/burst-harness.ts):
 * after the hub has idled, satellites say "hey jarvis" and a command at the
 * same moment. Within the warm capacity every session gets its whole final
 * transcript; far beyond it none is lost silently: each completes or is
 * refused with VOICE_BUSY and the busy tone.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { burst, type BurstOutcome } from './burst-harness';
import { type Proc, startHubProcess } from './helpers';

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(0.95 * xs.length) - 1)];
const show = (o: BurstOutcome) => `${o.satellite} "${o.command}" -> ${o.text === undefined ? `no final (${o.errors.join(',') || 'nothing'})` : `"${o.text}" ${o.reason}, stop -> final ${o.stopToFinalMs} ms, end of speech -> final ${o.speechEndToFinalMs} ms`}`;

/**
 * Stop -> final p95 allowed. The bench (docs/benchmarks.md section 9) measured 1064 ms for 8 at once on this 2-core
 * machine with the hub's defaults (intents on: two decoders per session) and the satellites on the same cores; that is
 * at the limit of what the cores decode in real time, where any other load multiplies it: a CI run with a type check
 * running beside it measured 3852 ms. The bound catches finals that wait for a timeout (10 s and more), not that.
 * Issue 15's 600 ms target is met there without the command model and missed with it.
 */
const P95_BOUND_MS = 5000;

let hub: { proc: Proc; url: string };
before(async () => {
  // The hub's defaults, as the bench runs it: intents on, so each session has the command model's decoder too.
  hub = await startHubProcess(['--reply-enabled', 'false', '--intents-enabled', 'true']);
});
after(async () => {
  await hub?.proc.stop();
});

for (const n of [4, 8]) {
  test(`${n} satellites at once after idle: every session gets a complete final, stop -> final p95 within ${P95_BOUND_MS} ms`, async (t) => {
    const out = await burst(hub.url, n, { tag: `cold${n}-`, idleMs: 4000 });
    for (const o of out) t.diagnostic(show(o));
    const lat = out.map((o) => o.stopToFinalMs ?? Number.POSITIVE_INFINITY);
    t.diagnostic(`stop -> final p95 ${p95(lat)} ms`);
    for (const o of out) {
      assert.ok(o.text !== undefined, `no final: ${show(o)}`);
      assert.equal(o.incomplete, false, show(o));
      assert.deepEqual(o.errors, [], show(o));
      // Ended by the satellite's stop, or by the hub on a complete command (semantic end of speech): never cut short by the engine's endpoint.
      assert.ok(o.reason === 'stop' || o.reason === 'complete', `ended by the satellite's stop or a complete command, not cut short: ${show(o)}`);
      // The recognizer alone gets these commands word for word: a final that lost its last word was cut short.
      assert.ok((o.wer ?? 1) <= 0.5, `the command: ${show(o)}`);
      assert.equal(o.text?.split(' ').at(-1), o.command.split(' ').at(-1), `a whole command, to its last word: ${show(o)}`);
    }
    assert.ok(p95(lat) <= P95_BOUND_MS, `stop -> final p95 ${p95(lat)} ms`);
  });
}

test('8 satellites at once on a hub that decodes 1 and queues for 0.5 s: none is lost silently; each completes or is refused with VOICE_BUSY and the busy tone', async (t) => {
  // One decoder: a queued session waits for every session ahead of it, each replayed and finalised in turn, so most
  // cannot get theirs within 0.5 s of their stop. (With 2 decoders and 1 s, all 8 sometimes completed: nothing refused.)
  const small = await startHubProcess(['--reply-enabled', 'false', '--stt-workers', '1', '--stt-warm-sessions', '1', '--stt-queue-ms', '500']);
  t.after(() => small.proc.stop());
  const out = await burst(small.url, 8, { tag: 'over-', idleMs: 3000 });
  for (const o of out) t.diagnostic(show(o));
  const completed = out.filter((o) => o.text !== undefined);
  const refused = out.filter((o) => o.text === undefined);
  for (const o of completed) assert.deepEqual(o.errors, [], show(o));
  for (const o of refused) {
    assert.deepEqual(o.errors, ['VOICE_BUSY'], show(o));
    assert.equal(o.busyTone, true, `busy tone: ${show(o)}`);
  }
  assert.ok(completed.length >= 1, `${completed.length} completed`);
  assert.ok(refused.length >= 1, 'beyond capacity some are refused');
});
