/**
 * Reliability: thousands of random and malformed payloads on every topic the
 * hub and a satellite subscribe to. Each bad payload gets a coded error,
 * neither process crashes, and a real session still succeeds afterwards.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Collector, jsonOf, type Proc, runNode, silence, speakSession, startHubProcess, wer } from './helpers';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { wavFromPcm } from '../common/wav';
import { TMP } from './helpers';

let hub: { proc: Proc; url: string };
let col: Collector;
let sat: Proc;

before(async () => {
  hub = await startHubProcess(['--reply-enabled', 'true', '--llm-host', 'http://127.0.0.1:9', '--reply-handled-wait-ms', '0']);
  col = await Collector.create(hub.url, ['voice/#']);
  const wav = path.join(TMP, 'fuzz-quiet.wav');
  fs.writeFileSync(wav, wavFromPcm(silence(120000)));
  sat = runNode('satellite/main.js', ['--mqtt-url', hub.url, '--satellite-id', 'fz', '--audio-source', 'wav', '--audio-wav', wav, '--playback-sink', 'file', '--playback-dir', path.join(TMP, 'fz-play')]);
  await sat.waitLog((o) => o.msg === 'satellite listening');
});
after(async () => {
  await sat?.stop();
  await col?.end();
  await hub?.proc.stop();
});

function rand(n: number): number {
  return randomInt(n);
}

/** Payloads no JSON topic accepts: broken syntax, non-objects, binary, oversized. */
function brokenJson(): Buffer {
  const cases = [
    () => Buffer.from('{'),
    () => Buffer.from('null'),
    () => Buffer.from('[]'),
    () => Buffer.from('"text"'),
    () => Buffer.from(`{"a":"${'x'.repeat(70000)}"}`),
    () => Buffer.concat([Buffer.from([0xff, 0xfe]), randomBytes(1 + rand(200))]),
  ];
  return (cases[rand(cases.length)] as () => Buffer)();
}

/** Bad payloads for topics with required fields: broken JSON, or objects with wrong types or missing fields. */
function badJson(): Buffer {
  const cases = [
    brokenJson,
    () => Buffer.from(JSON.stringify({ sessionId: 42 })),
    () => Buffer.from(JSON.stringify({ sessionId: 'x/y', reason: 'silence', time: 't' })),
    () => Buffer.from(JSON.stringify({ sessionId: randomUUID(), reason: 7, time: 't' })),
    () => Buffer.from(JSON.stringify({ command: 'explode' })),
    () => Buffer.from(JSON.stringify({ sessionId: randomUUID(), format: 'pcm', time: 't' })),
    () => Buffer.from('{"sessionId": "\u0000\u0001", "wakeWord": 1}'),
  ];
  return (cases[rand(cases.length)])();
}

test('fuzzing every subscribed topic: coded errors, no crash, then a real session works', async (t) => {
  const errorsBefore = col.messages.filter((m) => m.topic.endsWith('/error')).length;
  let expectedErrors = 0;
  const sends: Promise<unknown>[] = [];
  const pub = (topic: string, payload: Buffer) => sends.push(col.client.publishAsync(topic, payload, { qos: 0 }));
  const N = 2500;
  for (let i = 0; i < N; i++) {
    const sid = randomUUID();
    switch (rand(10)) {
      case 0: // hub: wake
        pub('voice/satellite/fz1/wake', badJson());
        expectedErrors++;
        break;
      case 1: // hub: audio start / stop for unknown sessions, bad payloads
        pub(`voice/satellite/fz1/audio/${sid}/${rand(2) ? 'start' : 'stop'}`, badJson());
        expectedErrors++;
        break;
      case 2: // hub: audio frames for unknown sessions
        pub(`voice/satellite/fz1/audio/${sid}`, randomBytes(rand(4000)));
        expectedErrors++;
        break;
      case 3: // hub: handled claims that are not valid (any object with a valid sessionId is a claim)
        pub('voice/satellite/fz1/handled', brokenJson());
        expectedErrors++;
        break;
      case 4: // hub: played reports that are not valid
        pub('voice/satellite/fz1/played', badJson());
        expectedErrors++;
        break;
      case 5: // satellite: commands
        pub('voice/satellite/fz/command', badJson());
        expectedErrors++;
        break;
      case 6: // satellite: TTS start with a bad payload
        pub(`voice/satellite/fz/tts/${sid}/start`, badJson());
        expectedErrors++;
        break;
      case 7: // satellite: TTS audio for a stream it never saw
        pub(`voice/satellite/fz/tts/${sid}`, randomBytes(2 + 2 * rand(2000)));
        expectedErrors++;
        break;
      case 8: // hub: statuses with garbage (must not break presence handling; any object is a status)
        pub('voice/satellite/fz2/status', brokenJson());
        expectedErrors++;
        break;
      default: // topics nobody handles: ignored, no error expected
        pub(`voice/satellite/fz1/${['bogus', 'audio', 'tts/x/y/z', 'reply'][rand(4)]}`, randomBytes(rand(100)));
    }
    if (i % 200 === 0) await Promise.all(sends.splice(0));
  }
  await Promise.all(sends);
  // Some errors wait out the 1 s grace for audio that may precede its wake.
  const deadline = Date.now() + 15000;
  let errors = 0;
  while (Date.now() < deadline) {
    errors = col.messages.filter((m) => m.topic.endsWith('/error')).length - errorsBefore;
    if (errors >= expectedErrors) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const bad = col.messages.filter((m) => m.topic.endsWith('/error')).slice(errorsBefore).map((m) => jsonOf(m));
  const codes = new Set(bad.map((e) => String(e.code)));
  t.diagnostic(`${N} payloads, ${expectedErrors} bad: ${errors} coded errors (${[...codes].join(', ')})`);
  assert.ok(errors >= expectedErrors, `every bad payload answered with a coded error (${errors} of ${expectedErrors})`);
  assert.ok(bad.every((e) => /^VOICE_[A-Z_]+$/.test(String(e.code)) && typeof e.message === 'string'));
  assert.equal(hub.proc.child.exitCode, null, 'hub alive');
  assert.equal(sat.child.exitCode, null, 'satellite alive');

  const spoken = 'what is the weather like today';
  const sid = await speakSession(col.client, 'fz3', spoken);
  const fin = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/fz3/transcript' && jsonOf({ payload: p }).sessionId === sid, 20000));
  assert.ok(wer(spoken, String(fin.text)).rate <= 0.35, String(fin.text));
});
