/**
 * Follow-up expiry with a real satellite process on a live microphone: the
 * reply (Ollama test double) asks a question, the satellite listens again
 * without the wake word for followUp.listenMs, and when nobody answers it
 * stops with reason no-speech after followUp.listenMs, not vad.noSpeechMs.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Hub } from '../hub/controller';
import { Collector, jsonOf, type Proc, speak } from './helpers';
import { startHub } from './hub-helpers';
import { type LiveMic, startMicSatellite } from './cover-helpers';
import { OllamaDouble, tokenize } from './ollama-double';

const LISTEN_MS = 1500;
const NO_SPEECH_MS = 6000;
const REPLY = 'It is three o clock. Would you like anything else?';

let double: OllamaDouble;
let hub: Hub;
let col: Collector;
let sat: { sat: Proc; mic: LiveMic } | undefined;

before(async () => {
  double = await new OllamaDouble().start();
  double.behaviour = { kind: 'stream', tokens: tokenize(REPLY), delayMs: 20 };
  hub = await startHub(['--llm-host', double.url]);
  col = await Collector.create(hub.brokerUrl, ['voice/satellite/fup/#']);
  sat = await startMicSatellite(hub.brokerUrl, 'fup', ['--follow-up-listen-ms', String(LISTEN_MS), '--vad-no-speech-ms', String(NO_SPEECH_MS)], 41);
});
after(async () => {
  sat?.mic.close();
  await sat?.sat.stop();
  await col?.end();
  await hub?.stop();
  await double?.stop();
});

const T = 'voice/satellite/fup';
const isAudio = (t: string) => /\/(audio|tts)\/[^/]+$/.test(t);
const next = (topic: (t: string) => boolean, pred: (o: Record<string, unknown>) => boolean, timeoutMs: number, from = 0) =>
  col.next((t, p) => topic(t) && !isAudio(t) && pred(jsonOf({ payload: p })), timeoutMs, from);

test('a question in the reply opens a follow-up session that expires after followUp.listenMs with reason no-speech', async () => {
  const s = sat as { mic: LiveMic };
  void s.mic.say(Buffer.concat([speak('hey jarvis'), Buffer.alloc(300 * 32), speak('what time is it')]));
  const wake = jsonOf(await next((t) => t === `${T}/wake`, () => true, 20000));
  assert.equal(wake.wakeWord, 'hey_jarvis');
  assert.equal(wake.openedBy, 'wake');
  const sid = String(wake.sessionId);
  const ttsStop = jsonOf(await next((t) => t === `${T}/tts/${sid}/stop`, () => true, 20000));
  assert.equal(ttsStop.followUp, true, 'the reply asked a question');
  const played = await next((t) => t === `${T}/played`, (o) => o.sessionId === sid, 20000);
  assert.equal(jsonOf(played).reason, 'done');
  const fwMsg = await next((t) => t === `${T}/wake`, (o) => o.wakeWord === 'follow-up', 5000);
  const fsid = String(jsonOf(fwMsg).sessionId);
  assert.equal(jsonOf(fwMsg).openedBy, 'follow-up', 'a follow-up says so: the hub never arbitrates it');
  const start = jsonOf(await next((t) => t === `${T}/audio/${fsid}/start`, () => true, 5000));
  const stopMsg = await next((t) => t === `${T}/audio/${fsid}/stop`, () => true, NO_SPEECH_MS + 4000);
  const stop = jsonOf(stopMsg);
  assert.equal(stop.reason, 'no-speech');
  const listened = (stop.audioMs as number) - (start.preRollMs as number);
  assert.ok(listened >= LISTEN_MS && listened <= LISTEN_MS + 400, `listened ${listened} ms of audio (followUp.listenMs ${LISTEN_MS}, vad.noSpeechMs ${NO_SPEECH_MS})`);
  assert.ok(stopMsg.at - fwMsg.at < LISTEN_MS + 1500, `stopped ${stopMsg.at - fwMsg.at} ms after the follow-up opened`);
  // Only one follow-up: the expired one does not reopen by itself.
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(col.messages.filter((m) => m.topic === `${T}/wake`).length, 2);
});
