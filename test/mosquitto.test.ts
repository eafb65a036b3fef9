/** The hub joined to an external Mosquitto broker: mosquitto_sub receives the transcript. */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { freePort, type Proc, runNode, spawnTracked, waitPort, wakeCommandWav, wer, withTimeout } from './helpers';

let broker: ChildProcess;
let hub: Proc;
let sat: Proc;
let port: number;

before(async () => {
  port = await freePort();
  broker = spawnTracked('mosquitto', ['-p', String(port)], { stdio: 'ignore' });
  await waitPort(port);
});
after(async () => {
  await sat?.stop();
  await hub?.stop();
  broker?.kill('SIGTERM');
});

test('hub on Mosquitto: mosquitto_sub receives the final transcript and the retained statuses', async () => {
  const url = `mqtt://127.0.0.1:${port}`;
  hub = runNode('hub/main.js', ['--mqtt-url', url, '--stt-workers', '1']);
  await hub.waitLog((o) => o.msg === 'hub ready');
  const sub = spawnTracked('mosquitto_sub', ['-p', String(port), '-v', '-C', '1', '-W', '40', '-t', 'voice/satellite/+/transcript']);
  let out = '';
  sub.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<number | null>((resolve) => sub.once('exit', resolve));
  await new Promise((r) => setTimeout(r, 300));
  const spoken = 'set a timer for ten minutes';
  sat = runNode('satellite/main.js', ['--mqtt-url', url, '--satellite-id', 'mosq1', '--satellite-room', 'hall', '--audio-source', 'wav', '--audio-wav', wakeCommandWav(spoken, { name: 'mosq' })]);
  assert.equal(await withTimeout(done, 60000, 'mosquitto_sub to exit'), 0, `mosquitto_sub did not get a transcript: ${out}`);
  const [topic, ...rest] = out.trim().split(' ');
  assert.equal(topic, 'voice/satellite/mosq1/transcript');
  const payload = JSON.parse(rest.join(' ')) as { text: string; room: string; final: boolean };
  assert.equal(payload.final, true);
  assert.equal(payload.room, 'hall');
  assert.ok(wer(spoken, payload.text).rate <= 0.35, payload.text);
  // Retained presence on the external broker.
  const st = spawnTracked('mosquitto_sub', ['-p', String(port), '-v', '-C', '2', '-W', '5', '-t', 'voice/hub/status', '-t', 'voice/satellite/mosq1/status']);
  let so = '';
  st.stdout.on('data', (d: Buffer) => (so += d.toString()));
  await withTimeout(new Promise((resolve) => st.once('exit', resolve)), 60000, 'st to exit');
  assert.match(so, /voice\/hub\/status \{"state":"online"/);
  assert.match(so, /voice\/satellite\/mosq1\/status \{"state":"online"/);
});
