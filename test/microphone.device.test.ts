/**
 * The real microphone path: naudiodon (PortAudio/ALSA -> PulseAudio)
 * capturing from a PulseAudio virtual source that paplay speaks into.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Collector, jsonOf, type Proc, runNode, startHubProcess, wakeCommandWav, wer } from './helpers';
import { ensureVirtualMic, sh } from './pulse';

let hub: { proc: Proc; url: string };
let sub: Collector;
let sat: Proc;

before(async () => {
  ensureVirtualMic();
  hub = await startHubProcess();
  sub = await Collector.create(hub.url, ['voice/satellite/mic1/#']);
});
after(async () => {
  await sat?.stop();
  await sub?.end();
  await hub?.proc.stop();
});

test('a satellite on the real microphone code hears "hey jarvis" and the command through PulseAudio', async (t) => {
  sat = runNode('satellite/main.js', ['--mqtt-url', hub.url, '--satellite-id', 'mic1', '--satellite-room', 'office', '--audio-source', 'microphone']);
  await sat.waitLog((o) => o.msg === 'satellite listening');
  await new Promise((r) => setTimeout(r, 1000)); // PortAudio start-up latency
  const spoken = 'play some music in the living room';
  const wav = wakeCommandWav(spoken, { name: 'mic-test', lead: 300 });
  sh('paplay', ['-d', 'vmic_sink', wav]);
  const wake = jsonOf(await sub.next((tp) => tp === 'voice/satellite/mic1/wake', 10000));
  assert.equal(wake.wakeWord, 'hey_jarvis');
  const fin = jsonOf(await sub.next((tp, p) => tp === 'voice/satellite/mic1/transcript' && jsonOf({ payload: p }).sessionId === wake.sessionId, 20000));
  t.diagnostic(`microphone: "${spoken}" -> "${String(fin.text)}"`);
  assert.equal(fin.room, 'office');
  assert.ok(wer(spoken, String(fin.text)).rate <= 0.35, `"${String(fin.text)}"`);
  assert.ok(sub.messages.some((m) => m.topic === 'voice/satellite/mic1/transcript/partial'), 'partials were published');
});
