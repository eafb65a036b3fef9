/**
 * Echo: a satellite whose microphone hears its own speaker (PulseAudio
 * loopback: playback into vmic_sink, captured from vmic) must not wake on
 * its own voice saying "hey jarvis" with wake.duringPlayback=pause; the
 * control shows the same echo does wake an unprotected satellite. The
 * loopback is digital, so the echo scores as high as a person (0.99+): the
 * raise policy is tested with a WAV source against its threshold.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { wavFromPcm } from '../common/wav';
import { Collector, jsonOf, type Proc, runNode, silence, speak, startHubProcess, TMP } from './helpers';
import { ensureVirtualMic } from './pulse';

let hub: { proc: Proc; url: string };
let col: Collector;
const sats: Proc[] = [];

before(async () => {
  ensureVirtualMic();
  hub = await startHubProcess();
  col = await Collector.create(hub.url, ['voice/satellite/+/#']);
});
after(async () => {
  await Promise.all(sats.map((s) => s.stop()));
  await col?.end();
  await hub?.proc.stop();
});

for (const mode of ['pause'] as const) {
  test(`the satellite's own voice does not wake it (wake.duringPlayback=${mode})`, async () => {
    const id = `echo-${mode}`;
    const sat = runNode('satellite/main.js', ['--mqtt-url', hub.url, '--satellite-id', id, '--audio-source', 'microphone', '--playback-sink', 'speaker', '--wake-during-playback', mode], { PULSE_SINK: 'vmic_sink' });
    sats.push(sat);
    await sat.waitLog((o) => o.msg === 'satellite listening');
    await new Promise((r) => setTimeout(r, 1000));
    await col.client.publishAsync(`voice/satellite/${id}/announce`, 'Hey Jarvis. My name is Hey Jarvis. Hey Jarvis, turn on the light.', { qos: 1 });
    const played = jsonOf(await col.next((t) => t === `voice/satellite/${id}/played`, 20000));
    assert.equal(played.reason, 'done', 'playback was not interrupted by its own voice');
    await new Promise((r) => setTimeout(r, 2500)); // the echo's tail reaches the mic late
    const wakes = col.messages.filter((m) => m.topic === `voice/satellite/${id}/wake`);
    const log = sat.lines.filter((l) => /wake|barge|playback/.test(l)).join('\n');
    assert.equal(wakes.length, 0, `no wake from the echo; got ${wakes.map((m) => m.payload.toString()).join(' ')} after playback ended at ${String(played.time)}; log:\n${log}`);
    await sat.stop();
  });
}

test('control: with wake.duringPlayback=normal the echo does wake it (so the loopback really reaches the mic)', async (t) => {
  const id = 'echo-normal';
  const sat = runNode('satellite/main.js', ['--mqtt-url', hub.url, '--satellite-id', id, '--audio-source', 'microphone', '--playback-sink', 'speaker', '--wake-during-playback', 'normal'], { PULSE_SINK: 'vmic_sink' });
  sats.push(sat);
  await sat.waitLog((o) => o.msg === 'satellite listening');
  await new Promise((r) => setTimeout(r, 1000));
  await col.client.publishAsync(`voice/satellite/${id}/announce`, 'Hey Jarvis. My name is Hey Jarvis. Hey Jarvis, turn on the light.', { qos: 1 });
  await col.next((tp) => tp === `voice/satellite/${id}/played`, 20000);
  const wake = jsonOf(await col.next((tp) => tp === `voice/satellite/${id}/wake`, 5000));
  t.diagnostic(`echo woke the unprotected satellite (score ${Number(wake.score).toFixed(2)})`);
});

test('raise: during playback a wake word scoring below wake.playbackThreshold is ignored', async () => {
  const id = 'echo-raise';
  // "hey jarvis" (flite scores up to ~0.98) arrives 6 s after the satellite starts listening, well into
  // the ~10 s announcement even when the hub starts speaking it a few seconds late (a suite run once
  // started it after a wake at 3.5 s).
  const wav = path.join(TMP, 'raise.wav');
  fs.writeFileSync(wav, wavFromPcm(Buffer.concat([silence(6000), speak('hey jarvis'), silence(12000)])));
  const sat = runNode('satellite/main.js', ['--mqtt-url', hub.url, '--satellite-id', id, '--audio-source', 'wav', '--audio-wav', wav, '--playback-sink', 'file', '--playback-dir', path.join(TMP, 'raise-play'), '--wake-during-playback', 'raise', '--wake-playback-threshold', '0.999']);
  sats.push(sat);
  await sat.waitLog((o) => o.msg === 'satellite listening');
  // The hub speaks announcements only to satellites it has seen online (a suite run announced before the status arrived).
  await col.next((tp, p) => tp === `voice/satellite/${id}/status` && jsonOf({ payload: p }).state === 'online', 10000);
  await new Promise((r) => setTimeout(r, 300)); // the hub is a second subscriber of the same status
  await col.client.publishAsync(`voice/satellite/${id}/announce`, 'This is a long announcement. It keeps talking for a while. Nobody should be able to wake me with a weak wake word. Thank you for listening.', { qos: 1 });
  const played = jsonOf(await col.next((t) => t === `voice/satellite/${id}/played`, 30000));
  assert.equal(played.reason, 'done');
  assert.ok(sat.lines.some((l) => l.includes('below wake.playbackThreshold')), 'the wake word was heard and ignored');
  assert.equal(col.messages.filter((m) => m.topic === `voice/satellite/${id}/wake`).length, 0);
});
