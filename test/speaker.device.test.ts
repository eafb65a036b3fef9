/**
 * Playback through the real naudiodon path: the satellite's speaker sink
 * plays the hub's TTS into a PulseAudio null sink, recorded from its monitor
 * with parec; the recording is intelligible (pocketsphinx) and `played`
 * reports done.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../common/config';
import { wavFromPcm } from '../common/wav';
import { type HubConfig, hubSchema } from '../config/hub';
import { PocketsphinxEngine } from '../hub/stt/pocketsphinx';
import { Collector, jsonOf, type Proc, runNode, silence, spawnTracked, startHubProcess, TMP, wer } from './helpers';
import { ensureVirtualSpeaker } from './pulse';

let hub: { proc: Proc; url: string };
let col: Collector;
let sat: Proc;
let rec: ChildProcess;
const recorded: Buffer[] = [];

before(async () => {
  ensureVirtualSpeaker();
  hub = await startHubProcess();
  col = await Collector.create(hub.url, ['voice/satellite/spk/#']);
});
after(async () => {
  rec?.kill();
  await sat?.stop();
  await col?.end();
  await hub?.proc.stop();
});

test('TTS plays through naudiodon into a PulseAudio sink', async (t) => {
  const wav = path.join(TMP, 'spk-silence.wav');
  fs.writeFileSync(wav, wavFromPcm(silence(30000)));
  sat = runNode('satellite/main.js', ['--mqtt-url', hub.url, '--satellite-id', 'spk', '--satellite-room', 'den', '--audio-source', 'wav', '--audio-wav', wav, '--playback-sink', 'speaker']);
  await sat.waitLog((o) => o.msg === 'satellite listening');
  rec = spawnTracked('parec', ['-d', 'vspk.monitor', '--raw', '--format=s16le', '--rate=16000', '--channels=1', '--latency-msec=50']);
  rec.stdout?.on('data', (d: Buffer) => recorded.push(d));
  await new Promise((r) => setTimeout(r, 500));
  // Words pocketsphinx gets right from flite over a clean line, so a failure here is the playback path's.
  const text = 'Cancel my alarm for tomorrow and start the dishwasher.';
  await col.client.publishAsync('voice/satellite/spk/announce', text, { qos: 1 });
  const played = jsonOf(await col.next((tp) => tp === 'voice/satellite/spk/played', 20000));
  assert.equal(played.reason, 'done');
  await new Promise((r) => setTimeout(r, 500));
  rec.kill();
  const pcm = Buffer.concat(recorded);
  let peak = 0;
  for (let i = 0; i + 1 < pcm.length; i += 2) peak = Math.max(peak, Math.abs(pcm.readInt16LE(i)));
  assert.ok(peak > 2000, `the sink received sound (peak ${peak})`);

  const { config } = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: [], env: {} });
  const e = new PocketsphinxEngine(config.stt.pocketsphinx);
  e.load();
  const r = e.createRecognizer();
  for (let off = 0; off + 3200 <= pcm.length; off += 3200) r.accept(new Int16Array(pcm.buffer.slice(pcm.byteOffset + off, pcm.byteOffset + off + 3200)));
  const heard = r.final().text;
  r.free();
  e.unload();
  const w = wer(text, heard);
  t.diagnostic(`recorded from the PulseAudio sink: "${heard}" (WER ${(w.rate * 100).toFixed(0)} %, ${String(played.playedMs)} ms played)`);
  assert.ok(w.rate <= 0.5, heard);
});
