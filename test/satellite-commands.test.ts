/**
 * A real satellite process: retained status, the command topic (listen,
 * mute/unmute, stop, threshold), and a malformed command answered with a
 * coded error while the satellite keeps running.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { wavFromPcm } from '../common/wav';
import { Collector, jsonOf, type Proc, runNode, silence, speak, startHubProcess, TMP } from './helpers';

let hub: { proc: Proc; url: string };
let col: Collector;
let sat: Proc;
const T = 'voice/satellite/cmdsat';

before(async () => {
  hub = await startHubProcess();
  col = await Collector.create(hub.url, [`${T}/#`]);
  // Long enough to hold a "listen" session: silence, then a command spoken after the listen request.
  const wav = path.join(TMP, 'cmd.wav');
  fs.writeFileSync(wav, wavFromPcm(Buffer.concat([silence(2500), speak('what time is it'), silence(20000)])));
  // The WAV's command is timed from the start, and the pre-roll covers a listen that comes late: no listen earcon here
  // (it streams only after the earcon has played on the sink, with no pre-roll; test/listen-privacy.test.ts has it).
  sat = runNode('satellite/main.js', ['--mqtt-url', hub.url, '--satellite-id', 'cmdsat', '--satellite-room', 'study', '--audio-source', 'wav', '--audio-wav', wav, '--privacy-listen-earcon', 'false']);
  await sat.waitLog((o) => o.msg === 'satellite listening');
});
after(async () => {
  await sat?.stop();
  await col?.end();
  await hub?.proc.stop();
});

const cmd = (o: unknown) => col.client.publishAsync(`${T}/command`, typeof o === 'string' ? o : JSON.stringify(o), { qos: 1 });

test('status is retained with room, capabilities and wake engine', async () => {
  const st = jsonOf(await col.next((t) => t === `${T}/status`, 5000));
  assert.equal(st.state, 'online');
  assert.equal(st.room, 'study');
  assert.equal(st.protocol, 1);
  assert.deepEqual(st.wake, { engine: 'openwakeword', keyword: 'hey_jarvis' });
  assert.equal(st.wakeThreshold, 0.5, 'wake.threshold, as configured');
});

test('a malformed command gets VOICE_BAD_PAYLOAD and the satellite keeps running', async () => {
  await cmd('{not json');
  await cmd({ command: 'dance' });
  const e1 = await col.next((t, p) => t === `${T}/error` && /not valid JSON/.test(String(jsonOf({ payload: p }).message)), 5000);
  const e2 = await col.next((t, p) => t === `${T}/error` && /"command" must be one of/.test(String(jsonOf({ payload: p }).message)), 5000);
  assert.equal(jsonOf(e1).code, 'VOICE_BAD_PAYLOAD');
  assert.equal(jsonOf(e2).code, 'VOICE_BAD_PAYLOAD');
  assert.equal(sat.child.exitCode, null);
});

test('listen opens a session without the wake word; the hub transcribes it', async () => {
  await cmd({ command: 'listen' });
  const wake = jsonOf(await col.next((t) => t === `${T}/wake`, 5000));
  assert.equal(wake.wakeWord, 'listen');
  const fin = jsonOf(await col.next((t, p) => t === `${T}/transcript` && jsonOf({ payload: p }).sessionId === wake.sessionId, 15000));
  assert.match(String(fin.text), /time/);
});

test('mute shows in status and blocks listen; unmute restores; stop ends a live session', async () => {
  // Each status wait looks only at messages received after its command (`from`), never at the retained or earlier ones.
  const beforeMute = col.messages.length;
  await cmd({ command: 'mute' });
  await col.next((t, p) => t === `${T}/status` && jsonOf({ payload: p }).muted === true, 5000, beforeMute);
  const wakesBefore = col.messages.filter((m) => m.topic === `${T}/wake`).length;
  await cmd({ command: 'listen' });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(col.messages.filter((m) => m.topic === `${T}/wake`).length, wakesBefore, 'muted satellites do not listen');
  const beforeUnmute = col.messages.length;
  await cmd({ command: 'unmute' });
  await col.next((t, p) => t === `${T}/status` && jsonOf({ payload: p }).muted === false, 5000, beforeUnmute);
  const from = col.messages.length;
  await cmd({ command: 'listen' });
  const wake = jsonOf(await col.next((t) => t === `${T}/wake`, 5000, from));
  await cmd({ command: 'stop', sessionId: wake.sessionId });
  const stop = jsonOf(await col.next((t) => t === `${T}/audio/${String(wake.sessionId)}/stop`, 5000, from));
  assert.equal(stop.reason, 'command');
});

test('threshold changes the wake engine\'s threshold: the status reports it; a bad one gets VOICE_BAD_PAYLOAD and changes nothing', async () => {
  let from = col.messages.length;
  await cmd({ command: 'threshold', threshold: 0.7 });
  const st = jsonOf(await col.next((t, p) => t === `${T}/status` && jsonOf({ payload: p }).wakeThreshold === 0.7, 5000, from));
  assert.equal(st.state, 'online');
  const changed = await sat.waitLog((o) => o.msg === 'wake threshold changed', 5000);
  assert.deepEqual([changed.threshold, changed.was], [0.7, 0.5]);
  from = col.messages.length;
  for (const bad of [{ command: 'threshold', threshold: 1.5 }, { command: 'threshold' }, { command: 'threshold', threshold: '0.3' }, { command: 'threshold', threshold: 0 }]) await cmd(bad);
  const errors: Record<string, unknown>[] = [];
  while (errors.length < 4) {
    const m = await col.next((t) => t === `${T}/error`, 5000, from);
    from = col.messages.indexOf(m) + 1;
    errors.push(jsonOf(m));
  }
  for (const e of errors) {
    assert.equal(e.code, 'VOICE_BAD_PAYLOAD');
    assert.match(String(e.message), /"threshold" must be a number between 0 and 1 \(exclusive\)/);
  }
  // The satellite still runs at 0.7: a status it publishes now (mute, unmute) says so; it logged no other change.
  const check = col.messages.length;
  await cmd({ command: 'mute' });
  await cmd({ command: 'unmute' });
  const after = jsonOf(await col.next((t, p) => t === `${T}/status` && jsonOf({ payload: p }).muted === false, 5000, check));
  assert.equal(after.wakeThreshold, 0.7);
  assert.equal(sat.lines.filter((l) => l.includes('wake threshold changed')).length, 1);
});
