/**
 * Playback through the real naudiodon path: the satellite's speaker sink
 * plays the hub's TTS into a PulseAudio null sink, recorded from its monitor
 * with parec; the recording holds every voiced 100 ms of what the hub sent,
 * in order and at one offset (no underrun, nothing lost at the start), it is
 * intelligible (pocketsphinx), and `played` reports done.
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

/** Normalized correlation of a and b (same length). */
function ncorr(a: Int16Array, b: Int16Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / (Math.sqrt(aa * bb) + 1);
}

const SEG = 1600; // 100 ms at 16 kHz

/**
 * Where the first voiced 100 ms of sent lies in rec; then, at that one offset, each voiced 100 ms of
 * sent against the recording. A dropout shifts every later segment; a lost start moves the offset.
 */
function continuity(sent: Int16Array, rec: Int16Array): { lag: number; segments: number[] } {
  const voiced: number[] = [];
  for (let i = 0; i + SEG <= sent.length; i += SEG) {
    let e = 0;
    for (let j = i; j < i + SEG; j++) e += sent[j] * sent[j];
    if (Math.sqrt(e / SEG) >= 500) voiced.push(i);
  }
  const first = sent.subarray(voiced[0], voiced[0] + SEG);
  let best = -Infinity;
  let at = 0;
  for (let k = 0; k + SEG <= rec.length; k++) {
    const c = ncorr(rec.subarray(k, k + SEG), first);
    if (c > best) [best, at] = [c, k];
  }
  const lag = at - voiced[0];
  const segments = voiced.map((i) => (i + lag >= 0 && i + lag + SEG <= rec.length ? ncorr(rec.subarray(i + lag, i + lag + SEG), sent.subarray(i, i + SEG)) : 0));
  return { lag, segments };
}

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
  const from = col.messages.length;
  await col.client.publishAsync('voice/satellite/spk/announce', text, { qos: 1 });
  const played = jsonOf(await col.next((tp) => tp === 'voice/satellite/spk/played', 20000, from));
  assert.equal(played.reason, 'done');
  await new Promise((r) => setTimeout(r, 500));
  rec.kill();
  const pcm = Buffer.concat(recorded);
  let peak = 0;
  for (let i = 0; i + 1 < pcm.length; i += 2) peak = Math.max(peak, Math.abs(pcm.readInt16LE(i)));
  assert.ok(peak > 2000, `the sink received sound (peak ${peak})`);

  // What the hub sent: the stream's PCM chunks (not its start and stop), in order.
  const sent = Buffer.concat(col.messages.slice(from).filter((m) => /^voice\/satellite\/spk\/tts\/[^/]+$/.test(m.topic)).map((m) => m.payload));
  const toI16 = (b: Buffer) => new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length - (b.length % 2)));
  const { lag, segments } = continuity(toI16(sent), toI16(pcm));
  assert.ok(segments.length >= Math.floor((sent.length / 3200) * 0.6), `most of the ${(sent.length / 32).toFixed(0)} ms sent is voiced and checked (${segments.length} segments)`);
  const bad = segments.map((c, i) => [i, c] as const).filter(([, c]) => c < 0.8);
  t.diagnostic(`${segments.length} voiced 100 ms segments at offset ${lag}; worst correlation ${Math.min(...segments).toFixed(2)}`);
  assert.deepEqual(bad.map(([i, c]) => `segment ${i}: ${c.toFixed(2)}`), [], 'every voiced 100 ms the hub sent is in the recording, at one offset');

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
