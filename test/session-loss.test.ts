/**
 * Sessions end when a satellite vanishes: an idle session times out with
 * VOICE_SESSION_TIMEOUT and a final transcript (reason timeout); a satellite
 * whose connection drops is marked offline by its last will and its session
 * ends at once. Recognizers are freed in both cases.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import type { Hub } from '../hub/controller';
import { Collector, jsonOf, silence, speak } from './helpers';
import { startHub } from './hub-helpers';

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

test('a session whose audio stops times out: coded error, final transcript, recognizer freed', async () => {
  const client = await mqtt.connectAsync(hub.brokerUrl);
  try {
    const sid = await openSession(client, 'quiet', speak('turn on the radio'));
    const err = jsonOf(await col.next((t, p) => t === 'voice/satellite/quiet/error' && jsonOf({ payload: p }).sessionId === sid, 5000));
    assert.equal(err.code, 'VOICE_SESSION_TIMEOUT');
    const fin = jsonOf(await col.next((t, p) => t === 'voice/satellite/quiet/transcript' && jsonOf({ payload: p }).sessionId === sid, 5000));
    assert.equal(fin.reason, 'timeout');
    assert.match(String(fin.text), /radio|turn/, 'what was heard is not lost');
    assert.equal(hub.sessions?.liveCount, 0);
    assert.equal(hub.stt?.liveSessions, 0);
  } finally {
    await client.endAsync();
  }
});

test('a satellite that drops mid-session: last will marks it offline and the session ends', async () => {
  const will = { topic: 'voice/satellite/gone/status', payload: Buffer.from(JSON.stringify({ state: 'offline', protocol: 1 })), qos: 1 as const, retain: true };
  const client = await mqtt.connectAsync(hub.brokerUrl, { will, keepalive: 60, reconnectPeriod: 0 });
  await client.publishAsync('voice/satellite/gone/status', JSON.stringify({ state: 'online', protocol: 1, room: 'attic' }), { qos: 1, retain: true });
  const sid = await openSession(client, 'gone', Buffer.concat([speak('open the garage door'), silence(200)]));
  await new Promise((r) => setTimeout(r, 200));
  client.stream.destroy(); // pulled plug: no DISCONNECT, so the broker publishes the will
  const off = await col.next((t, p) => t === 'voice/satellite/gone/status' && jsonOf({ payload: p }).state === 'offline', 5000);
  const fin = jsonOf(await col.next((t, p) => t === 'voice/satellite/gone/transcript' && jsonOf({ payload: p }).sessionId === sid, 5000));
  assert.equal(fin.reason, 'timeout');
  assert.equal(fin.room, 'attic');
  assert.ok(col.messages.indexOf(off) >= 0);
  assert.equal(hub.sessions?.liveCount, 0);
  assert.equal(hub.stt?.liveSessions, 0);
  client.end(true);
});
