/**
 * Crash isolation (issue 16): a native engine that calls abort() mid-session
 * takes down only its own process. stt.engine=crash-test is pocketsphinx that
 * aborts half a second into the first session of the first STT process. A
 * real satellite process speaks into a microphone the test feeds; the hub
 * runs in this process with its embedded broker.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Collector, FifoMic, jsonOf, runNode, silence, speak, wer } from './helpers';
import { startHub } from './hub-helpers';
import { noisy } from './speech-fixtures';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('an engine that aborts mid-session fails only that session with VOICE_ENGINE_CRASHED; hub, broker and satellite stay connected, the STT process is replaced and the next session is transcribed', async (t) => {
  const hub = await startHub(['--stt-engine', 'crash-test', '--reply-enabled', 'false', '--hub-status-interval-s', '1']);
  t.after(() => hub.stop());
  const stt = hub.stt;
  assert.ok(stt);
  const firstPid = stt.pid;
  assert.ok(firstPid && firstPid !== process.pid, 'STT runs in a process of its own');
  const col = await Collector.create(hub.brokerUrl, ['voice/satellite/+/#', 'voice/hub/#']);
  t.after(() => col.end());
  let drops = 0;
  col.client.on('close', () => drops++);

  const mic = new FifoMic('crash');
  const sat = runNode('satellite/main.js', ['--mqtt-url', hub.brokerUrl, '--satellite-id', 'den', '--audio-source', 'command', '--audio-command', mic.command]);
  t.after(async () => {
    mic.close();
    await sat.stop();
  });
  await mic.open();
  await mic.play(noisy(silence(1500))); // the wake engine warms up on real input
  // The satellite republishes its status when its microphone opens and closes, so connections are counted from its own log.
  const connects = () => sat.lines.filter((l) => l.includes('"MQTT connected"')).length;
  assert.ok(col.json((tp) => tp === 'voice/satellite/den/status').some((p) => p.state === 'online'), 'the satellite is online');
  assert.equal(connects(), 1, 'the satellite connected once');

  // Session 1: the engine aborts the STT process half a second into it.
  const from = col.messages.length;
  await mic.play(noisy(Buffer.concat([silence(300), speak('hey jarvis'), silence(300), speak('turn on the kitchen light'), silence(1500)])));
  const wake1 = jsonOf(await col.next((tp) => tp === 'voice/satellite/den/wake', 10000, from));
  const sid1 = String(wake1.sessionId);
  const err = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/den/error' && jsonOf({ payload: p }).sessionId === sid1, 10000, from));
  assert.equal(err.code, 'VOICE_ENGINE_CRASHED', JSON.stringify(err));
  // The hub tells the satellite to stop streaming the failed session, and it does.
  const end = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/den/command' && jsonOf({ payload: p }).sessionId === sid1, 5000, from));
  assert.equal(end.command, 'end');
  const stop1 = jsonOf(await col.next((tp) => tp === `voice/satellite/den/audio/${sid1}/stop`, 5000, from));
  assert.equal(stop1.reason, 'command');
  assert.equal(alive(firstPid), false, 'the first STT process is gone');

  // A new STT process comes up; the status counts the restart.
  const until = Date.now() + 20000;
  while (!(stt.pid !== undefined && stt.pid !== firstPid)) {
    assert.ok(Date.now() < until, 'no new STT process within 20 s');
    await sleep(50);
  }
  assert.equal(stt.restarts, 1);
  const statusFrom = col.messages.length;
  const status = jsonOf(await col.next((tp) => tp === 'voice/hub/status', 5000, statusFrom));
  assert.equal(status.state, 'online');
  assert.equal((status.stt as { restarts: number }).restarts, 1);

  // Session 2 on the new process: a complete transcript.
  const from2 = col.messages.length;
  await mic.play(noisy(Buffer.concat([silence(300), speak('hey jarvis'), silence(300), speak('turn on the kitchen light'), silence(1500)])));
  const wake2 = jsonOf(await col.next((tp) => tp === 'voice/satellite/den/wake', 10000, from2));
  const fin = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/den/transcript' && jsonOf({ payload: p }).sessionId === wake2.sessionId, 15000, from2));
  assert.ok(wer('turn on the kitchen light', String(fin.text)).rate <= 0.4, String(fin.text));
  assert.equal(col.messages.some((m) => m.topic === 'voice/satellite/den/transcript' && m.payload.toString().includes(sid1)), false, 'no transcript for the crashed session');

  // Nobody lost the broker: the test's client never dropped, the satellite never went offline or reconnected.
  assert.equal(drops, 0);
  const states = col.json((tp) => tp === 'voice/satellite/den/status').map((p) => p.state);
  assert.equal(states.includes('offline'), false, JSON.stringify(states));
  assert.equal(connects(), 1, 'the satellite never reconnected');
  assert.equal(hub.sessions?.liveCount, 0);
  assert.deepEqual(await stt.workerRecognizers(), [0], 'the new process holds no recognizer');
});

test('a wake while the STT process restarts is refused at once with VOICE_ENGINE_CRASHED, and the satellite is told to end; its audio raises no errors', async (t) => {
  const hub = await startHub(['--reply-enabled', 'false']);
  t.after(() => hub.stop());
  const stt = hub.stt;
  assert.ok(stt?.pid);
  const col = await Collector.create(hub.brokerUrl, ['voice/satellite/+/#']);
  t.after(() => col.end());
  const pid = stt.pid;
  process.kill(pid, 'SIGKILL');
  const until = Date.now() + 5000;
  while (stt.pid === pid) {
    assert.ok(Date.now() < until, 'the hub did not see its STT process die');
    await sleep(5);
  }
  // The replacement is loading its model now (about a second): this wake finds no process to decode it.
  assert.equal(stt.pid, undefined);
  const sid = randomUUID();
  const time = new Date().toISOString();
  const c = col.client;
  // As a broker may deliver them: the start and the first frames before the wake (the hub holds them until it comes).
  await c.publishAsync(`voice/satellite/hall/audio/${sid}/start`, JSON.stringify({ sessionId: sid, format: { encoding: 's16le', rate: 16000, channels: 1 }, time }), { qos: 1 });
  for (let i = 0; i < 3; i++) await c.publishAsync(`voice/satellite/hall/audio/${sid}`, noisy(silence(100)), { qos: 0 });
  await c.publishAsync('voice/satellite/hall/wake', JSON.stringify({ sessionId: sid, wakeWord: 'hey_jarvis', score: 0.9, time }), { qos: 1 });
  for (let i = 0; i < 3; i++) await c.publishAsync(`voice/satellite/hall/audio/${sid}`, noisy(silence(100)), { qos: 0 });
  const err = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/hall/error' && jsonOf({ payload: p }).sessionId === sid, 5000));
  assert.equal(err.code, 'VOICE_ENGINE_CRASHED');
  assert.match(String(err.message), /restarting/);
  const end = jsonOf(await col.next((tp) => tp === 'voice/satellite/hall/command', 5000));
  assert.deepEqual(end, { command: 'end', sessionId: sid });
  // Past the hub's grace for messages that come before their wake (1 s): nothing held was left to expire as unknown.
  await sleep(1500);
  const errors = col.json((tp) => tp === 'voice/satellite/hall/error');
  assert.deepEqual(errors.map((e) => e.code), ['VOICE_ENGINE_CRASHED'], 'its audio frames and start were dropped quietly');
  // And once the new process is up, wakes are served again.
  while (stt.pid === undefined) {
    assert.ok(Date.now() < until + 20000, 'no new STT process');
    await sleep(50);
  }
  assert.equal(hub.sessions?.liveCount, 0);
});

test('a session queued for a decoder outlives an STT process crash: it waits for the new process and is transcribed in full', async (t) => {
  // One decoder, a long queue: the second session waits for the first.
  const hub = await startHub(['--reply-enabled', 'false', '--stt-warm-sessions', '1', '--stt-queue-ms', '15000']);
  t.after(() => hub.stop());
  const stt = hub.stt;
  assert.ok(stt?.pid);
  const col = await Collector.create(hub.brokerUrl, ['voice/satellite/+/#']);
  t.after(() => col.end());
  const c = col.client;
  const time = new Date().toISOString();
  const format = { encoding: 's16le', rate: 16000, channels: 1 };
  const open = async (sat: string, sid: string) => {
    await c.publishAsync(`voice/satellite/${sat}/wake`, JSON.stringify({ sessionId: sid, wakeWord: 'hey_jarvis', score: 0.9, time }), { qos: 1 });
    await c.publishAsync(`voice/satellite/${sat}/audio/${sid}/start`, JSON.stringify({ sessionId: sid, format, time }), { qos: 1 });
  };
  const a = randomUUID();
  await open('attic', a);
  await c.publishAsync(`voice/satellite/attic/audio/${a}`, noisy(silence(100)), { qos: 0 });
  const b = randomUUID();
  await open('bath', b);
  const pcm = noisy(Buffer.concat([speak('turn on the kitchen light'), silence(400)]));
  for (let off = 0; off < pcm.length; off += 3200) await c.publishAsync(`voice/satellite/bath/audio/${b}`, pcm.subarray(off, off + 3200), { qos: 0 });
  await c.publishAsync(`voice/satellite/bath/audio/${b}/stop`, JSON.stringify({ sessionId: b, reason: 'silence', time }), { qos: 1 });
  const until = Date.now() + 5000;
  while ((hub.admission?.stats.queued ?? 0) < 1) {
    assert.ok(Date.now() < until, 'the second session was not queued');
    await sleep(20);
  }
  assert.equal(hub.admission?.stats.live, 1);

  process.kill(stt.pid, 'SIGKILL');
  const errA = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/attic/error' && jsonOf({ payload: p }).sessionId === a, 5000));
  assert.equal(errA.code, 'VOICE_ENGINE_CRASHED', 'the live session fails with the process');
  // The queued one does not: it is decoded by the replacement, everything it said kept.
  const fin = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/bath/transcript' && jsonOf({ payload: p }).sessionId === b, 20000));
  assert.ok(wer('turn on the kitchen light', String(fin.text)).rate <= 0.4, String(fin.text));
  assert.equal(fin.incomplete ?? false, false);
  assert.deepEqual(col.json((tp) => tp === 'voice/satellite/bath/error'), [], 'no error for the queued session');
  assert.equal(stt.restarts, 1);
  assert.deepEqual({ live: hub.admission?.stats.live, queued: hub.admission?.stats.queued, dequeued: hub.admission?.stats.dequeued }, { live: 0, queued: 0, dequeued: 1 });
});
