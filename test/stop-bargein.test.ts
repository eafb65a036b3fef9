/**
 * Stop and barge-in with real processes: while a long reply is playing, a
 * `stop` command, or the wake word said again, ends playback within 200 ms,
 * aborts the LLM stream (the Ollama double sees the request end) and drops
 * the queued speech.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { wavFromPcm } from '../common/wav';
import { Collector, jsonOf, type Proc, runNode, silence, speak, startHubProcess, TMP } from './helpers';
import { OllamaDouble, tokenize } from './ollama-double';

const STORY = 'Once upon a time there was a small robot. It lived in a quiet house by the sea. Every morning it watered the plants. Every evening it listened to the waves. One day a storm came and the robot had to be brave. It closed every window in the house. The family was safe and warm. And the robot was very happy.';

let double: OllamaDouble;
let hub: { proc: Proc; url: string };
let col: Collector;
const sats: Proc[] = [];

before(async () => {
  double = await new OllamaDouble().start();
  double.behaviour = { kind: 'stream', tokens: tokenize(STORY), delayMs: 120 };
  hub = await startHubProcess(['--llm-host', double.url]);
  col = await Collector.create(hub.url, ['voice/satellite/+/#']);
});
after(async () => {
  await Promise.all(sats.map((s) => s.stop()));
  await col?.end();
  await hub?.proc.stop();
  await double?.stop();
});

function satellite(id: string, pcm: Buffer): Proc {
  const wav = path.join(TMP, `${id}.wav`);
  fs.writeFileSync(wav, wavFromPcm(pcm));
  const p = runNode('satellite/main.js', ['--mqtt-url', hub.url, '--satellite-id', id, '--audio-source', 'wav', '--audio-wav', wav, '--playback-sink', 'file', '--playback-dir', path.join(TMP, `play-${id}`)]);
  sats.push(p);
  return p;
}

test('a stop command ends playback within 200 ms and aborts the LLM request', async (t) => {
  satellite('stopper', Buffer.concat([silence(800), speak('hey jarvis'), silence(400), speak('tell me a story'), silence(20000)]));
  const fin = jsonOf(await col.next((tp) => tp === 'voice/satellite/stopper/transcript', 30000));
  const sid = String(fin.sessionId);
  const reqIndex = double.requests.length;
  await col.next((tp) => tp === `voice/satellite/stopper/tts/${sid}`, 15000);
  await new Promise((r) => setTimeout(r, 800)); // playing by now
  const cmdAt = Date.now();
  await col.client.publishAsync('voice/satellite/stopper/command', JSON.stringify({ command: 'stop' }), { qos: 1 });
  const played = await col.next((tp, p) => tp === 'voice/satellite/stopper/played' && jsonOf({ payload: p }).sessionId === sid, 5000);
  const p = jsonOf(played);
  assert.equal(p.reason, 'stopped');
  t.diagnostic(`stop command -> playback ended: ${played.at - cmdAt} ms (${String(p.playedMs)} ms had played)`);
  assert.ok(played.at - cmdAt <= 200, `playback stopped ${played.at - cmdAt} ms after the command`);
  const stop = jsonOf(await col.next((tp) => tp === `voice/satellite/stopper/tts/${sid}/stop`, 5000));
  assert.equal(stop.reason, 'aborted');
  const rec = double.requests[reqIndex - 1] ?? (await double.waitRequests(1));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(rec.aborted, true, 'the Ollama double saw the request end');
  assert.equal(rec.finishedAt, undefined, 'the story was not streamed to the end');
  const reply = jsonOf(await col.next((tp, pl) => tp === 'voice/satellite/stopper/reply' && jsonOf({ payload: pl }).sessionId === sid, 5000));
  assert.equal(reply.aborted, true);
  // Nothing more is sent for that reply.
  const chunksAfter = col.messages.filter((m) => m.topic === `voice/satellite/stopper/tts/${sid}` && m.at > played.at + 100).length;
  assert.equal(chunksAfter, 0, 'queued speech was dropped');
});

test('saying the wake word during playback (barge-in) stops it and opens a new session', async (t) => {
  const reqs = double.requests.length;
  satellite('barger', Buffer.concat([silence(800), speak('hey jarvis'), silence(400), speak('tell me a story'), silence(4500), speak('hey jarvis'), silence(400), speak('stop'), silence(8000)]));
  const fin = jsonOf(await col.next((tp) => tp === 'voice/satellite/barger/transcript', 30000));
  const sid = String(fin.sessionId);
  await col.next((tp) => tp === `voice/satellite/barger/tts/${sid}`, 15000);
  const played = await col.next((tp, p) => tp === 'voice/satellite/barger/played' && jsonOf({ payload: p }).sessionId === sid, 20000);
  const p = jsonOf(played);
  assert.equal(p.reason, 'barge-in');
  const wake = await col.next((tp, pl) => tp === 'voice/satellite/barger/wake' && jsonOf({ payload: pl }).sessionId !== sid, 5000);
  const wakeAt = Date.parse(String(jsonOf(wake).time));
  const playedAt = Date.parse(String(p.time));
  t.diagnostic(`barge-in: wake word -> playback ended ${playedAt - wakeAt} ms (satellite clock), ${String(p.playedMs)} ms of the reply had played`);
  assert.ok(Math.abs(playedAt - wakeAt) <= 200);
  const rec = await double.waitRequests(reqs + 1);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(rec.aborted, true, 'the LLM request was aborted by the new wake');
  const stop = jsonOf(await col.next((tp) => tp === `voice/satellite/barger/tts/${sid}/stop`, 5000));
  assert.equal(stop.reason, 'aborted');
});
