/**
 * Warm capacity (issue 15): the STT pool makes its decoders when it starts,
 * spread over its workers, and gives each worker no more sessions at once
 * than it warmed, so no live session waits for a decoder to load. Real
 * pocketsphinx worker threads; the counts come from inside the workers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../common/config';
import { type HubConfig, hubSchema } from '../config/hub';
import type { Word } from '../hub/stt/engine';
import { SttPool } from '../hub/stt/pool';
import { speak } from './helpers';
import { noisy } from './speech-fixtures';

function pool(workers: number, warm: number): SttPool {
  const { config } = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: [], env: {} });
  return new SttPool({ ...config.stt, engine: 'pocketsphinx' }, workers, pino({ level: 'silent' }), warm);
}

test('5 warm sessions on 2 workers: 3 + 2 decoders made at start, 5 sessions at once take them without making any, a 6th is made on demand', async (t) => {
  const p = pool(2, 5);
  await p.start();
  t.after(() => p.stop());
  assert.equal(p.capacity, 5);
  assert.deepEqual((await p.workerCounts()).map((c) => c.decoders), [3, 2], 'decoders made when the pool started');
  const pcm = noisy(speak('turn on the kitchen light'));
  const finals: Promise<Word[]>[] = [];
  const handles = Array.from({ length: 5 }, (_, i) => {
    let done!: (w: Word[]) => void;
    finals.push(new Promise((r) => (done = r)));
    return p.open(`s${i}`, { partial: () => undefined, final: (w) => done(w), error: (e) => assert.fail(e.message) });
  });
  for (let off = 0; off < pcm.length; off += 3200) for (const h of handles) h.audio(pcm.subarray(off, off + 3200));
  const counts = await p.workerCounts();
  assert.deepEqual(counts.map((c) => c.recognizers), [3, 2], 'sessions go where warm decoders are free');
  assert.deepEqual(counts.map((c) => c.decoders), [3, 2], 'no decoder was made for them');
  // Past the capacity (the hub's admission control keeps it from here), a worker makes one while its sessions wait.
  const extra = p.open('s5', { partial: () => undefined, final: () => undefined, error: () => undefined });
  extra.audio(pcm.subarray(0, 3200));
  assert.deepEqual((await p.workerCounts()).map((c) => c.decoders), [3, 3]);
  extra.abort();
  for (const h of handles) h.finish();
  for (const w of await Promise.all(finals)) assert.match(w.map((x) => x.word).join(' '), /kitchen|light/);
  assert.deepEqual((await p.workerCounts()).map((c) => c.recognizers), [0, 0]);
});

test('stt.warmSessions 0 is sized from the machine: four per core as far as a quarter of the memory holds them, at least one per worker', () => {
  const auto = SttPool.defaultWarm(0, 2);
  assert.ok(auto.warm >= 2, JSON.stringify(auto));
  assert.match(auto.basis, /cores x 4/);
  assert.deepEqual(SttPool.defaultWarm(6, 2), { warm: 6, basis: 'stt.warmSessions' });
  assert.equal(SttPool.defaultWarm(1, 3).warm, 3, 'never fewer than one per worker');
});

test('a worker that replaces a dead one warms the same share, and sessions fill the workers by their shares, not only by their load', async (t) => {
  const p = pool(2, 5);
  await p.start();
  t.after(() => p.stop());
  const old = p.threads[0];
  await old.terminate();
  const until = Date.now() + 15000;
  while (!(p.workers === 2 && !p.threads.includes(old))) {
    assert.ok(Date.now() < until, 'no replacement worker');
    await new Promise((r) => setTimeout(r, 20));
  }
  // The replacement (share 3) is now second: by load alone the 5th session would go to the first worker (share 2) on a tie.
  assert.deepEqual((await p.workerCounts()).map((c) => c.decoders), [2, 3]);
  const handles = Array.from({ length: 5 }, (_, i) => p.open(`r${i}`, { partial: () => undefined, final: () => undefined, error: () => undefined }));
  const counts = await p.workerCounts();
  assert.deepEqual(counts.map((c) => c.recognizers), [2, 3]);
  assert.deepEqual(counts.map((c) => c.decoders), [2, 3], 'no decoder made on the hot path');
  for (const h of handles) h.abort();
});
