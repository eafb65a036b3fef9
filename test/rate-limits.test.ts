/**
 * Per-satellite limits on the hub (issue 9): the real hub process on its
 * embedded broker, raw MQTT clients (the hub's identity) in the satellites'
 * place, since the limits live in the hub. A satellite opening sessions
 * faster than session.maxWakesPerMinute has its wakes refused with
 * VOICE_WAKE_RATE_LIMITED; one sending audio faster than
 * session.maxAudioBytesPerSecond has its session ended with
 * VOICE_AUDIO_RATE_EXCEEDED; each is reported once (error topic and log), not
 * per message; an honest satellite in another room is transcribed meanwhile,
 * and a burst of audio (5 s at once, as after a broker outage) is not taken
 * for abuse.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { Collector, connect, jsonOf, type Proc, silence, speak, startHubProcess } from './helpers';

const MAX_WAKES = 3;
let hub: { proc: Proc; url: string };
let col: Collector;
let client: MqttClient;

before(async () => {
  // Audio at the default limit (64000 bytes/s, two real-time streams); wakes at 3 a minute so the test need not send 21.
  hub = await startHubProcess(['--reply-enabled', 'false', '--session-max-wakes-per-minute', String(MAX_WAKES)]);
  col = await Collector.create(hub.url, ['voice/satellite/+/#']);
  client = await connect(hub.url);
});
after(async () => {
  await client?.endAsync();
  await col?.end();
  await hub?.proc.stop();
});

const time = () => new Date().toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FORMAT = { encoding: 's16le', rate: 16000, channels: 1 };

async function open(sat: string, sid: string): Promise<void> {
  const T = `voice/satellite/${sat}`;
  await client.publishAsync(`${T}/wake`, JSON.stringify({ sessionId: sid, wakeWord: 'hey_jarvis', score: 0.9, time: time() }), { qos: 1 });
  await client.publishAsync(`${T}/audio/${sid}/start`, JSON.stringify({ sessionId: sid, format: FORMAT, time: time() }), { qos: 1 });
}

const frame = (sat: string, sid: string, pcm: Buffer) => client.publishAsync(`voice/satellite/${sat}/audio/${sid}`, pcm, { qos: 0 });
const stop = (sat: string, sid: string) => client.publishAsync(`voice/satellite/${sat}/audio/${sid}/stop`, JSON.stringify({ sessionId: sid, reason: 'silence', time: time() }), { qos: 1 });

/** An honest satellite: `leadMs` of silence and `text`, at real-time pace in 100 ms frames (after its first `burst` bytes at once), then stop; resolves with the session id. */
async function honest(sat: string, text: string, burst = 0, leadMs = 300): Promise<string> {
  const sid = randomUUID();
  await open(sat, sid);
  const pcm = Buffer.concat([silence(leadMs), speak(text), silence(400)]);
  const head = Math.min(burst, pcm.length);
  for (let off = 0; off < head; off += 3200) await frame(sat, sid, pcm.subarray(off, Math.min(off + 3200, head)));
  const t0 = Date.now();
  for (let off = head, i = 0; off < pcm.length; off += 3200, i++) {
    const wait = t0 + i * 100 - Date.now();
    if (wait > 0) await sleep(wait);
    await frame(sat, sid, pcm.subarray(off, off + 3200));
  }
  await stop(sat, sid);
  return sid;
}

const errorsOf = (sat: string, from: number) => col.messages.slice(from).filter((m) => m.topic === `voice/satellite/${sat}/error`).map(jsonOf);
const commandsOf = (sat: string, from: number) => col.messages.slice(from).filter((m) => m.topic === `voice/satellite/${sat}/command`).map(jsonOf);
const transcriptOf = (sat: string, sid: string, from: number, timeoutMs = 20000) =>
  col.next((t, p) => t === `voice/satellite/${sat}/transcript` && jsonOf({ payload: p }).sessionId === sid, timeoutMs, from).then(jsonOf);
const hubLogs = (code: string) => hub.proc.lines.filter((l) => l.includes(`"code":"${code}"`));

test('wakes over session.maxWakesPerMinute are refused with VOICE_WAKE_RATE_LIMITED, reported once; another room is transcribed meanwhile', async () => {
  const from = col.messages.length;
  const calm = honest('calm', 'turn off the kitchen light');
  // The flood: MAX_WAKES sessions admitted (each ended before the next, as a satellite does), then ten more wakes.
  const admitted: string[] = [];
  for (let i = 0; i < MAX_WAKES; i++) {
    const sid = randomUUID();
    admitted.push(sid);
    await open('flood', sid);
    await frame('flood', sid, silence(200));
    await stop('flood', sid);
    await transcriptOf('flood', sid, from, 10000);
  }
  const refused: string[] = [];
  for (let i = 0; i < 10; i++) {
    const sid = randomUUID();
    refused.push(sid);
    await open('flood', sid);
    await frame('flood', sid, silence(100));
    await stop('flood', sid);
  }
  // Each refused wake is told to end; none is decoded.
  for (const sid of refused) await col.next((t, p) => t === 'voice/satellite/flood/command' && jsonOf({ payload: p }).sessionId === sid, 5000, from);
  const ends = commandsOf('flood', from).filter((c) => c.command === 'end');
  assert.deepEqual(new Set(ends.map((c) => c.sessionId)), new Set(refused), 'an end command for each refused wake, and only for them');
  assert.ok(ends.every((c) => c.reason === undefined), 'not a busy refusal');

  const calmSid = await calm;
  const fin = await transcriptOf('calm', calmSid, from);
  assert.match(String(fin.text), /kitchen|light/, `the honest satellite was transcribed: "${String(fin.text)}"`);
  assert.deepEqual(errorsOf('calm', from), [], 'the honest satellite got no error');

  await sleep(500);
  const errs = errorsOf('flood', from);
  assert.deepEqual(errs.map((e) => e.code), ['VOICE_WAKE_RATE_LIMITED'], 'one error for ten refusals: no VOICE_UNKNOWN_SESSION for their audio either');
  assert.equal(errs[0]?.sessionId, refused[0]);
  assert.match(String(errs[0]?.message), /session\.maxWakesPerMinute/);
  assert.equal(hubLogs('VOICE_WAKE_RATE_LIMITED').length, 1, 'logged once, not per refused wake');
  const transcribed = col.messages.slice(from).filter((m) => m.topic === 'voice/satellite/flood/transcript').map((m) => jsonOf(m).sessionId);
  assert.deepEqual(transcribed, admitted, 'only the admitted sessions reached the recognizer');
  assert.equal(hub.proc.child.exitCode, null, 'the hub keeps running');
});

test('audio over session.maxAudioBytesPerSecond ends the session with VOICE_AUDIO_RATE_EXCEEDED, reported once; a 5 s burst and another room are fine', async () => {
  const from = col.messages.length;
  // An honest satellite whose first 4 s arrive at once (a reconnect), then real time: under the limit averaged over 5 s
  // (a limit measured over 1 s would cut it).
  const bursty = honest('bursty', 'what is the weather like today', 4 * 32000, 4000);
  // The hose: audio as fast as the client sends it (many times real time) until it is told to end, at most 5 s.
  const hose = async (sid: string) => {
    await open('hose', sid);
    let ended = false;
    const end = col.next((t, p) => t === 'voice/satellite/hose/command' && jsonOf({ payload: p }).sessionId === sid, 10000, from).then(() => (ended = true));
    const t0 = Date.now();
    let sent = 0;
    while (!ended && Date.now() - t0 < 5000) {
      await frame('hose', sid, silence(100));
      sent += 3200;
      if (sent % 64000 === 0) await sleep(1);
    }
    await end;
    const rate = sent / ((Date.now() - t0) / 1000);
    assert.ok(rate > 128000, `the hose sent ${Math.round(rate)} bytes/s`);
    // It keeps sending for a while: the rest is dropped quietly.
    for (let i = 0; i < 200; i++) await frame('hose', sid, silence(100));
    await stop('hose', sid);
  };
  const sid = randomUUID();
  await hose(sid);
  // A second session within the minute is cut too (its end command), but not reported again.
  await hose(randomUUID());

  const bsid = await bursty;
  const fin = await transcriptOf('bursty', bsid, from);
  assert.notEqual(fin.reason, 'error');
  assert.match(String(fin.text), /weather|today/, `the bursty satellite was transcribed: "${String(fin.text)}"`);
  assert.deepEqual(errorsOf('bursty', from), [], 'a 4 s burst is within the 5 s window');

  await sleep(1000);
  const errs = errorsOf('hose', from);
  assert.deepEqual(errs.map((e) => e.code), ['VOICE_AUDIO_RATE_EXCEEDED'], 'one error, however many frames and sessions');
  assert.equal(errs[0]?.sessionId, sid);
  assert.match(String(errs[0]?.message), /session\.maxAudioBytesPerSecond/);
  assert.equal(hubLogs('VOICE_AUDIO_RATE_EXCEEDED').length, 1, 'logged once');
  assert.equal(col.messages.slice(from).filter((m) => m.topic === 'voice/satellite/hose/transcript').length, 0, 'no transcript for the cut session');
  assert.equal(hub.proc.child.exitCode, null, 'the hub keeps running');
});
