/**
 * The full loop with real processes: a satellite fed "hey jarvis" + a
 * question, the hub with flite TTS, and the Ollama test double streaming its
 * reply token by token with delays. The audio the satellite plays (file
 * sink) is run through pocketsphinx and must contain the reply's words; the
 * first TTS chunk must be published before the double finished streaming;
 * the question at the end of the reply makes the satellite listen again.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../common/config';
import { readWav } from '../common/wav';
import { type HubConfig, hubSchema } from '../config/hub';
import { PocketsphinxEngine } from '../hub/stt/pocketsphinx';
import { Collector, jsonOf, type Proc, runNode, startHubProcess, TMP, wakeCommandWav, wer } from './helpers';
import { OllamaDouble, tokenize } from './ollama-double';

const REPLY = 'The weather today is sunny and warm. It will reach twenty degrees this afternoon. Would you like the forecast for tomorrow?';
const TOKEN_DELAY_MS = 60;

let double: OllamaDouble;
let hub: { proc: Proc; url: string };
let col: Collector;
let sat: Proc;
const playDir = path.join(TMP, 'played');

before(async () => {
  double = await new OllamaDouble().start();
  double.behaviour = { kind: 'stream', tokens: tokenize(REPLY), delayMs: TOKEN_DELAY_MS };
  hub = await startHubProcess(['--llm-host', double.url, '--llm-model', 'llama3.2']);
  col = await Collector.create(hub.url, ['voice/satellite/loop/#']);
});
after(async () => {
  await sat?.stop();
  await col?.end();
  await hub?.proc.stop();
  await double?.stop();
});

function transcribe(file: string): string {
  const { config } = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: [], env: {} });
  const e = new PocketsphinxEngine(config.stt.pocketsphinx);
  e.load();
  const rec = e.createRecognizer();
  const pcm = readWav(file).data;
  for (let off = 0; off < pcm.length; off += 3200) {
    const c = pcm.subarray(off, off + 3200);
    rec.accept(new Int16Array(c.buffer.slice(c.byteOffset, c.byteOffset + c.byteLength)));
  }
  const text = rec.final().text;
  rec.free();
  e.unload();
  return text;
}

test('transcript -> Ollama stream -> sentence-by-sentence flite audio -> played on the satellite', async (t) => {
  sat = runNode('satellite/main.js', [
    '--mqtt-url', hub.url, '--satellite-id', 'loop', '--satellite-room', 'kitchen',
    '--audio-source', 'wav', '--audio-wav', wakeCommandWav('what is the weather like today', { name: 'loop' }),
    '--playback-sink', 'file', '--playback-dir', playDir,
  ]);
  const fin = jsonOf(await col.next((tp) => tp === 'voice/satellite/loop/transcript', 30000));
  const sid = String(fin.sessionId);
  const ttsStart = jsonOf(await col.next((tp) => tp === `voice/satellite/loop/tts/${sid}/start`, 15000));
  assert.equal(ttsStart.engine, 'flite');
  const firstChunk = await col.next((tp) => tp === `voice/satellite/loop/tts/${sid}`, 15000);
  const reply = jsonOf(await col.next((tp) => tp === 'voice/satellite/loop/reply', 20000));
  assert.equal(reply.text, REPLY);
  assert.equal(reply.source, 'llm');
  const req = await double.waitRequests(1);
  assert.ok(req.finishedAt, 'the double finished its stream');
  assert.ok(firstChunk.at < (req.finishedAt), `first audio chunk (${firstChunk.at}) before the LLM finished (${req.finishedAt})`);
  assert.equal(req.body.model, 'llama3.2');
  assert.equal(req.body.messages.at(-1)?.content, String(fin.text));
  assert.equal(req.body.messages[0]?.role, 'system');
  const partials = col.json((tp) => tp === 'voice/satellite/loop/reply/partial');
  assert.ok(partials.length >= 2, 'reply deltas streamed');
  const stop = jsonOf(await col.next((tp) => tp === `voice/satellite/loop/tts/${sid}/stop`, 20000));
  assert.equal(stop.reason, 'done');
  assert.equal(stop.followUp, true, 'the reply asked a question');
  const played = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/loop/played' && jsonOf({ payload: p }).sessionId === sid, 30000));
  assert.equal(played.reason, 'done');
  // Follow-up: the satellite listens again without the wake word.
  const follow = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/loop/wake' && jsonOf({ payload: p }).wakeWord === 'follow-up', 10000));
  assert.ok(follow.sessionId);

  // The satellite plays exactly what the hub sent, in order (chunks reaching the player in one tick while its sink starts once came out of order).
  const sent = Buffer.concat(col.messages.filter((m) => m.topic === `voice/satellite/loop/tts/${sid}`).map((m) => m.payload));
  assert.ok(readWav(path.join(playDir, `${sid}.wav`)).data.equals(sent), 'the played file is the TTS stream as published');
  const heard = transcribe(path.join(playDir, `${sid}.wav`));
  const words = ['weather', 'sunny', 'warm', 'twenty', 'degrees', 'afternoon', 'forecast', 'tomorrow'];
  const found = words.filter((w) => heard.includes(w));
  const w = wer(REPLY, heard);
  t.diagnostic(`played audio transcribed: "${heard}" (WER ${(w.rate * 100).toFixed(0)} % against the reply, ${found.length}/${words.length} key words)`);
  assert.ok(w.rate <= 0.35 && found.length >= 5, `expected the reply's words in the played audio, heard "${heard}"`);
  const timings = reply.timings as Record<string, number>;
  const firstTokenAt = (req.firstTokenAt as number) - req.receivedAt;
  t.diagnostic(`timings: ${JSON.stringify(timings)}; double: ${TOKEN_DELAY_MS} ms before each token (first token ${firstTokenAt} ms after the request)`);
  assert.ok(fs.statSync(path.join(playDir, `${sid}.wav`)).size > 16000 * 2 * 3, 'several seconds of reply audio');
});
