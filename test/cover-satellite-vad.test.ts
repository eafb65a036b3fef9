/**
 * How a real satellite process ends its sessions, heard through a live
 * microphone (a FIFO read by the command audio source, fed at real-time
 * pace with a noise floor): the hub's `end` command (session.maxLengthMs)
 * stops streaming with reason command; vad.noSpeechMs and
 * vad.maxUtteranceMs stop with no-speech and max-length; wake.refractoryMs
 * keeps a wake word said just after a session from opening another, and one
 * said after it does. Plus the command source reading a raw file, end to end.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Hub } from '../hub/controller';
import { Collector, jsonOf, type Proc, runNode, speak, TMP } from './helpers';
import { startHub } from './hub-helpers';
import { type LiveMic, Noise, noisySpeech, sleep, startMicSatellite } from './cover-helpers';

const HUB_MAX_MS = 3500;
const LONG = 'please tell me a long story about the old lighthouse keeper and his small grey cat who lived by the sea';

let hub: Hub;
let col: Collector;
const sats: { sat: Proc; mic: LiveMic }[] = [];
let ender: { sat: Proc; mic: LiveMic };
let vadsat: { sat: Proc; mic: LiveMic };
let refsat: { sat: Proc; mic: LiveMic };
let heyJarvis: Buffer;

before(async () => {
  hub = await startHub(['--reply-enabled', 'false', '--session-max-length-ms', String(HUB_MAX_MS), '--session-endpoint', 'false']);
  col = await Collector.create(hub.brokerUrl, [
    'voice/satellite/+/wake', 'voice/satellite/+/audio/+/start', 'voice/satellite/+/audio/+/stop',
    'voice/satellite/+/command', 'voice/satellite/+/transcript', 'voice/satellite/+/error', 'voice/satellite/ender/audio/+',
  ]);
  heyJarvis = speak('hey jarvis');
  const started = await Promise.allSettled([
    // VAD that would not stop for a while: the hub's end command must stop it.
    startMicSatellite(hub.brokerUrl, 'ender', ['--vad-silence-ms', '3000'], 21),
    // Short no-speech and utterance limits; silence alone would not end an utterance.
    startMicSatellite(hub.brokerUrl, 'vadsat', ['--vad-silence-ms', '3000', '--vad-no-speech-ms', '1000', '--vad-max-utterance-ms', '2000'], 22),
    startMicSatellite(hub.brokerUrl, 'refsat', ['--wake-refractory-ms', '4000'], 23),
  ]);
  for (const s of started) if (s.status === 'fulfilled') sats.push(s.value);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  [ender, vadsat, refsat] = sats;
});

after(async () => {
  for (const s of sats) s.mic.close();
  await Promise.all(sats.map((s) => s.sat.stop()));
  await col?.end();
  await hub?.stop();
});

const isJson = (topic: string) => !/\/audio\/[^/]+$/.test(topic);
const json = (m: { payload: Buffer }) => jsonOf(m);
function nextJson(topic: string | ((t: string) => boolean), pred: (o: Record<string, unknown>) => boolean = () => true, timeoutMs = 15000, from = 0) {
  const tp = typeof topic === 'string' ? (t: string) => t === topic : topic;
  return col.next((t, p) => tp(t) && isJson(t) && pred(jsonOf({ payload: p })), timeoutMs, from);
}
const T = (id: string) => `voice/satellite/${id}`;

test("the hub's end command (session.maxLengthMs) stops a streaming satellite whose VAD would go on: stop reason command, no more audio", async () => {
  const from = col.messages.length;
  const speaking = ender.mic.say(Buffer.concat([heyJarvis, Buffer.alloc(300 * 32), speak(LONG)]));
  const wake = json(await nextJson(`${T('ender')}/wake`, () => true, 15000, from));
  const sid = String(wake.sessionId);
  const start = json(await nextJson(`${T('ender')}/audio/${sid}/start`, () => true, 5000, from));
  const end = json(await nextJson(`${T('ender')}/command`, (o) => o.sessionId === sid, 15000, from));
  assert.equal(end.command, 'end');
  const stopMsg = await nextJson(`${T('ender')}/audio/${sid}/stop`, () => true, 5000, from);
  const stop = json(stopMsg);
  assert.equal(stop.reason, 'command');
  const fin = json(await nextJson(`${T('ender')}/transcript`, (o) => o.sessionId === sid, 10000, from));
  assert.equal(fin.reason, 'max-length');
  // The satellite stopped at the hub's limit, counted from the wake word (the pre-roll does not count),
  // long before its own VAD (3 s of silence) would have.
  const said = (stop.audioMs as number) - (start.wakeMs as number);
  assert.ok(said >= HUB_MAX_MS - 100 && said <= HUB_MAX_MS + 1000, `stopped ${said} ms after the wake word (${String(stop.audioMs)} ms with the pre-roll)`);
  // Still talking, but nothing more is streamed for that session.
  await speaking;
  await sleep(500);
  const late = col.messages.filter((m) => m.topic === `${T('ender')}/audio/${sid}` && m.at > stopMsg.at + 300);
  assert.equal(late.length, 0, `${late.length} audio frame(s) after the stop`);
  assert.equal(col.messages.filter((m) => m.topic === `${T('ender')}/audio/${sid}/stop`).length, 1, 'one stop');
});

test('vad.noSpeechMs: a wake followed by no speech stops with reason no-speech after about that long', async () => {
  const from = col.messages.length;
  await vadsat.mic.say(heyJarvis);
  const wake = json(await nextJson(`${T('vadsat')}/wake`, () => true, 15000, from));
  const sid = String(wake.sessionId);
  const start = json(await nextJson(`${T('vadsat')}/audio/${sid}/start`, () => true, 5000, from));
  const stop = json(await nextJson(`${T('vadsat')}/audio/${sid}/stop`, () => true, 10000, from));
  assert.equal(stop.reason, 'no-speech');
  const listened = (stop.audioMs as number) - (start.preRollMs as number);
  assert.ok(listened >= 1000 && listened <= 1300, `listened ${listened} ms for speech (vad.noSpeechMs 1000)`);
  assert.equal(stop.speechEndMs, undefined, 'no speech was heard');
});

test('vad.maxUtteranceMs: a long utterance stops with reason max-length at that length', async () => {
  await sleep(2500); // past the default refractory period after the no-speech session
  const from = col.messages.length;
  void vadsat.mic.say(Buffer.concat([heyJarvis, Buffer.alloc(300 * 32), speak(LONG)]));
  const wake = json(await nextJson(`${T('vadsat')}/wake`, () => true, 15000, from));
  const sid = String(wake.sessionId);
  const start = json(await nextJson(`${T('vadsat')}/audio/${sid}/start`, () => true, 5000, from));
  const stop = json(await nextJson(`${T('vadsat')}/audio/${sid}/stop`, () => true, 10000, from));
  assert.equal(stop.reason, 'max-length');
  const spoken = (stop.audioMs as number) - (start.preRollMs as number);
  assert.ok(spoken >= 2000 && spoken <= 2300, `streamed ${spoken} ms after the wake (vad.maxUtteranceMs 2000)`);
  const fin = json(await nextJson(`${T('vadsat')}/transcript`, (o) => o.sessionId === sid, 10000, from));
  assert.equal(fin.reason, 'stop', 'the satellite, not the hub, ended it');
});

test('wake.refractoryMs: "hey jarvis" right after a session opens nothing; after the period it does', async () => {
  const from = col.messages.length;
  void refsat.mic.say(Buffer.concat([heyJarvis, Buffer.alloc(300 * 32), speak('turn on the radio')]));
  const w1 = json(await nextJson(`${T('refsat')}/wake`, () => true, 15000, from));
  const stop1 = await nextJson(`${T('refsat')}/audio/${String(w1.sessionId)}/stop`, () => true, 10000, from);
  assert.equal(json(stop1).reason, 'silence');
  // Inside the 4 s refractory period (measured from the stop).
  const saidAt = await refsat.mic.say(heyJarvis);
  assert.ok(saidAt - stop1.at < 2500, `the second wake word was said ${saidAt - stop1.at} ms after the stop`);
  await sleep(1200);
  const during = col.messages.slice(from).filter((m) => m.topic === `${T('refsat')}/wake`);
  assert.equal(during.length, 1, 'no session opened inside the refractory period');
  // After it: the same wake word opens a session.
  await sleep(Math.max(0, stop1.at + 4300 - Date.now()));
  const from2 = col.messages.length;
  void refsat.mic.say(Buffer.concat([heyJarvis, Buffer.alloc(300 * 32), speak('open the window')]));
  const w2 = json(await nextJson(`${T('refsat')}/wake`, () => true, 8000, from2));
  const fin = json(await nextJson(`${T('refsat')}/transcript`, (o) => o.sessionId === w2.sessionId, 15000, from2));
  assert.match(String(fin.text), /window|open/);
});

test('audio.source=command: a capture command writing raw PCM in real time feeds the wake word and a transcript', async (t) => {
  const noise = new Noise(31);
  const raw = path.join(TMP, 'cover-command.raw');
  const spoken = 'turn off the kitchen light';
  fs.writeFileSync(raw, Buffer.concat([noise.floor(1000), noisySpeech('hey jarvis', noise), noise.floor(600), noisySpeech(spoken, noise), noise.floor(2500)]));
  const from = col.messages.length;
  // Like arecord, the command writes 100 ms of audio every 100 ms, then idles (exiting would make the satellite restart it).
  const pacer = path.join(TMP, 'cover-pace.js');
  fs.writeFileSync(pacer, "const b=require('fs').readFileSync(process.argv[2]);let o=0;const t=setInterval(()=>{if(o>=b.length){clearInterval(t);setTimeout(()=>{},120000);return;}process.stdout.write(b.subarray(o,o+3200));o+=3200;},100);");
  const sat = runNode('satellite/main.js', ['--mqtt-url', hub.brokerUrl, '--satellite-id', 'catsat', '--satellite-room', 'pantry', '--audio-source', 'command', '--audio-command', `${process.execPath} ${pacer} ${raw}`]);
  t.after(() => sat.stop());
  const wake = json(await nextJson(`${T('catsat')}/wake`, () => true, 30000, from));
  assert.equal(wake.wakeWord, 'hey_jarvis');
  const fin = json(await nextJson(`${T('catsat')}/transcript`, (o) => o.sessionId === wake.sessionId, 20000, from));
  assert.equal(fin.room, 'pantry');
  assert.match(String(fin.text), /kitchen/, `heard "${String(fin.text)}" for "${spoken}"`);
  const st = json(await nextJson(`${T('catsat')}/audio/${String(wake.sessionId)}/stop`, () => true, 5000, from));
  assert.equal(st.reason, 'silence', `final ${JSON.stringify(fin)} stop ${JSON.stringify(st)}`);
});
