/**
 * Sessions end when a satellite vanishes: an idle session times out with
 * VOICE_SESSION_TIMEOUT and a final transcript (reason timeout); a satellite
 * whose connection drops is marked offline by its last will and its session
 * ends at once with reason offline (on a hub whose idle timeout is far longer
 * than the test, so the timeout cannot be what ended it). In both cases the
 * recognizer is freed, counted inside the STT worker thread.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import type { Hub } from '../hub/controller';
import { Collector, jsonOf, silence, speak } from './helpers';
import { startHub } from './hub-helpers';
import { adminAuth } from './credentials';

let hub: Hub;
let col: Collector;

before(async () => {
  hub = await startHub(['--session-timeout-ms', '800']);
  col = await Collector.create(hub.brokerUrl, ['voice/satellite/+/error', 'voice/satellite/+/transcript', 'voice/satellite/+/status']);
});
after(async () => {
  await col?.end();
  await hub?.stop();
});

async function openSession(client: mqtt.MqttClient, sat: string, pcm: Buffer): Promise<string> {
  const sid = randomUUID();
  await client.publishAsync(`voice/satellite/${sat}/wake`, JSON.stringify({ sessionId: sid, wakeWord: 'hey_jarvis', score: 1, time: new Date().toISOString() }), { qos: 1 });
  for (let off = 0; off < pcm.length; off += 3200) await client.publishAsync(`voice/satellite/${sat}/audio/${sid}`, pcm.subarray(off, off + 3200), { qos: 0 });
  return sid;
}

/** Recognizers held inside each STT worker thread, polled until `want` holds (or the deadline passes). */
async function recognizersUntil(h: Hub, want: (n: number[]) => boolean, ms: number): Promise<number[]> {
  const stt = h.stt;
  if (!stt) throw new Error('the hub has no STT pool');
  const end = Date.now() + ms;
  let n = await stt.workerRecognizers();
  while (!want(n) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    n = await stt.workerRecognizers();
  }
  return n;
}

test('a session whose audio stops times out: coded error, final transcript, recognizer freed', async () => {
  const client = await mqtt.connectAsync(hub.brokerUrl, adminAuth(hub.brokerUrl));
  try {
    const from = col.messages.length;
    const sid = await openSession(client, 'quiet', speak('turn on the radio'));
    const err = jsonOf(await col.next((t, p) => t === 'voice/satellite/quiet/error' && jsonOf({ payload: p }).sessionId === sid, 5000, from));
    assert.equal(err.code, 'VOICE_SESSION_TIMEOUT');
    const fin = jsonOf(await col.next((t, p) => t === 'voice/satellite/quiet/transcript' && jsonOf({ payload: p }).sessionId === sid, 5000, from));
    assert.equal(fin.reason, 'timeout');
    assert.match(String(fin.text), /radio|turn/, 'what was heard is not lost');
    assert.equal(hub.sessions?.liveCount, 0);
    assert.equal(hub.stt?.liveSessions, 0);
    assert.deepEqual(await recognizersUntil(hub, (n) => n.every((x) => x === 0), 2000), [0], 'the worker freed the recognizer');
  } finally {
    await client.endAsync();
  }
});

test('a satellite that drops mid-session: last will marks it offline and the session ends with reason offline', async () => {
  // Idle timeout far beyond this test: only the offline path can end the session in time.
  const h = await startHub(['--session-timeout-ms', '600000']);
  const c = await Collector.create(h.brokerUrl, ['voice/satellite/+/error', 'voice/satellite/+/transcript', 'voice/satellite/+/status']);
  const will = { topic: 'voice/satellite/gone/status', payload: Buffer.from(JSON.stringify({ state: 'offline', protocol: 1 })), qos: 1 as const, retain: true };
  const client = await mqtt.connectAsync(h.brokerUrl, { ...adminAuth(h.brokerUrl), will, keepalive: 60, reconnectPeriod: 0 });
  try {
    await client.publishAsync('voice/satellite/gone/status', JSON.stringify({ state: 'online', protocol: 1, room: 'attic' }), { qos: 1, retain: true });
    const sid = await openSession(client, 'gone', Buffer.concat([speak('open the garage door'), silence(200)]));
    const during = await recognizersUntil(h, (n) => n.reduce((a, b) => a + b, 0) === 1, 5000);
    assert.deepEqual(during, [1], 'one recognizer inside the worker while the session is live');
    assert.equal(h.sessions?.liveCount, 1);
    const from = c.messages.length;
    const droppedAt = Date.now();
    client.stream.destroy(); // pulled plug: no DISCONNECT, so the broker publishes the will
    const off = await c.next((t, p) => t === 'voice/satellite/gone/status' && jsonOf({ payload: p }).state === 'offline', 5000, from);
    const finMsg = await c.next((t, p) => t === 'voice/satellite/gone/transcript' && jsonOf({ payload: p }).sessionId === sid, 5000, from);
    const fin = jsonOf(finMsg);
    assert.equal(fin.reason, 'offline', 'ended by the last will, not by the idle timeout');
    assert.equal(fin.room, 'attic');
    assert.ok(c.messages.indexOf(off) < c.messages.indexOf(finMsg), 'offline status first, then the final transcript');
    assert.ok(finMsg.at - droppedAt < 5000, `session ended ${finMsg.at - droppedAt} ms after the drop`);
    assert.equal(c.messages.slice(from).filter((m) => m.topic === 'voice/satellite/gone/error' && jsonOf(m).code === 'VOICE_SESSION_TIMEOUT').length, 0, 'no idle timeout');
    assert.equal(h.sessions?.liveCount, 0);
    assert.equal(h.stt?.liveSessions, 0);
    assert.deepEqual(await recognizersUntil(h, (n) => n.every((x) => x === 0), 2000), [0], 'the worker freed the recognizer');
  } finally {
    client.end(true);
    await c.end();
    await h.stop();
  }
});
