/**
 * Admission control (issue 15) over a real pocketsphinx pool: the hub opens
 * no more sessions than it decodes at once; over the limit a session waits
 * in a queue with its audio kept (stt.queueMs) and is decoded when a slot
 * frees, or is refused with VOICE_BUSY.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../common/config';
import type { VoiceError } from '../common/errors';
import { type HubConfig, hubSchema } from '../config/hub';
import { Admission } from '../hub/stt/admission';
import type { Word } from '../hub/stt/engine';
import { SttPool } from '../hub/stt/pool';
import { speak } from './helpers';
import { noisy } from './speech-fixtures';

const log = pino({ level: 'silent' });

async function admission(warm: number, queueMs: number) {
  const { config } = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: [], env: {} });
  const pool = new SttPool({ ...config.stt, engine: 'pocketsphinx' }, 1, log, warm);
  await pool.start();
  return new Admission(pool, { queueMs, log });
}

function session(a: Admission, sid: string) {
  let final!: (w: string) => void;
  let error!: (e: VoiceError) => void;
  const done = new Promise<string>((resolve, reject) => {
    final = resolve;
    error = reject;
  });
  const h = a.open(sid, { partial: () => undefined, final: (w: Word[]) => final(w.map((x) => x.word).join(' ')), error: (e) => error(e) });
  const say = (text: string) => {
    const pcm = noisy(speak(text));
    for (let off = 0; off < pcm.length; off += 3200) h.audio(pcm.subarray(off, off + 3200));
  };
  return { h, done, say };
}

test('over the limit a session is queued with its audio, and is transcribed in full once a slot frees', async (t) => {
  const a = await admission(2, 5000);
  t.after(() => a.stop());
  const s1 = session(a, 'a1');
  const s2 = session(a, 'a2');
  assert.deepEqual({ live: a.stats.live, queued: a.stats.queued }, { live: 2, queued: 0 });
  const s3 = session(a, 'a3');
  assert.deepEqual({ live: a.stats.live, queued: a.stats.queued }, { live: 2, queued: 1 });
  // The queued session speaks and stops before it has a decoder: nothing reaches the pool yet.
  s3.say('set a timer for ten minutes');
  s3.h.finish();
  assert.deepEqual(await a.workerRecognizers(), [2], 'only the two admitted sessions hold recognizers');
  s1.say('turn on the kitchen light');
  s1.h.finish();
  assert.match(await s1.done, /kitchen|light/);
  // s1's slot went to s3, which got everything it said while it waited.
  assert.match(await s3.done, /timer|ten|minutes/);
  assert.deepEqual({ live: a.stats.live, queued: a.stats.queued, dequeued: a.stats.dequeued, refused: a.stats.refused }, { live: 1, queued: 0, dequeued: 1, refused: 0 });
  s2.h.abort();
  assert.equal(a.stats.live, 0);
});

test('a queued session is refused with VOICE_BUSY once it has waited stt.queueMs after its finish (not while the person still speaks); with stt.queueMs 0 a wake over the limit is refused at once', async (t) => {
  const a = await admission(1, 300);
  t.after(() => a.stop());
  const s1 = session(a, 'b1');
  const s2 = session(a, 'b2');
  assert.equal(a.stats.queued, 1);
  let refusedAt = 0;
  s2.done.catch(() => (refusedAt = Date.now()));
  // Still speaking: longer than stt.queueMs in the queue, and not refused.
  s2.say('set a timer');
  await new Promise((r) => setTimeout(r, 600));
  assert.deepEqual({ queued: a.stats.queued, refused: a.stats.refused, refusedAt }, { queued: 1, refused: 0, refusedAt: 0 });
  const finishedAt = Date.now();
  s2.h.finish();
  const err = await s2.done.then(
    () => assert.fail('the queued session was not refused'),
    (e: VoiceError) => e,
  );
  assert.equal(err.code, 'VOICE_BUSY');
  assert.match(err.message, /stt.queueMs/);
  assert.ok(refusedAt - finishedAt >= 250, `refused ${refusedAt - finishedAt} ms after the finish`);
  assert.deepEqual({ live: a.stats.live, queued: a.stats.queued, refused: a.stats.refused }, { live: 1, queued: 0, refused: 1 });
  s1.h.abort();
  // The slot is free again: the next session is admitted at once.
  const s3 = session(a, 'b3');
  assert.equal(a.stats.live, 1);
  s3.h.abort();

  const now = await admission(1, 0);
  t.after(() => now.stop());
  const n1 = session(now, 'c1');
  assert.throws(() => session(now, 'c2'), (e: VoiceError) => e.code === 'VOICE_BUSY');
  assert.equal(now.stats.refused, 1);
  n1.h.abort();
});

test('the limit follows the measured decode speed: the warm capacity, or fewer when the workers would fall behind real time', async (t) => {
  const a = await admission(12, 0);
  t.after(() => a.stop());
  assert.equal(a.stats.rtf, null);
  assert.equal(a.stats.limit, 12, 'nothing measured yet: the warm capacity');
  const s = session(a, 'd1');
  s.say('what is the weather like today');
  s.h.finish();
  await s.done;
  const rtf = a.stats.rtf;
  assert.ok(rtf !== null && rtf > 0.01 && rtf < 1, `measured ${rtf}`);
  // One worker at 80 %: 12 warm decoders are more than pocketsphinx keeps up with in real time on one thread.
  // (On this machine pocketsphinx decodes at 0.1-0.3 s per audio second, so the limit falls below the 12 warm decoders.)
  assert.equal(a.limit, Math.min(12, Math.floor(0.8 / rtf)), `limit ${String(a.limit)} at decode speed ${String(rtf)}`);

  // Past that limit, wakes are still admitted while no decoder lags (a burst after a quiet spell)...
  const limit = a.limit;
  const burst = Array.from({ length: limit + 1 }, (_, i) => session(a, `e${i}`));
  assert.equal(a.stats.live, limit + 1, 'one past the real-time limit, admitted: nothing lags yet');
  // ...but not once a decoder falls behind: 20 s of audio at once is far more than it has decoded.
  const pcm = noisy(Buffer.concat(Array.from({ length: 8 }, () => speak('what is the weather like today'))));
  for (let off = 0; off < pcm.length; off += 3200) burst[0].h.audio(pcm.subarray(off, off + 3200));
  assert.ok(a.lagMs > 2000, `lag ${a.lagMs} ms`);
  assert.throws(() => session(a, 'late'), (e: VoiceError) => e.code === 'VOICE_BUSY');
  for (const b of burst) b.h.abort();
  assert.equal(a.stats.live, 0);
});
