/**
 * Local answers and timers in the hub (issue 12), with real speech through
 * pocketsphinx and the command model, flite for the answers, and the Ollama
 * double stopped (nothing may need the LLM):
 * - the time and the date are answered; the spoken time, decoded again by
 *   pocketsphinx, has the hour in it;
 * - one timer: started, listed (retained), how much is left, paused,
 *   resumed, cancelled, each on .../timer with the answer spoken;
 * - two named timers: both listed and told apart; "cancel the timer" asks
 *   which and cancels nothing; "cancel the pasta timer" cancels that one;
 * - a hub restart: a running timer is still there, and one that ended while
 *   the hub was down rings on the satellite when it is online again.
 * Raw clients stand in for satellites: the behaviour here is the hub's
 * (tests/timers-ring.test.ts rings real satellite processes).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { loadConfig } from '../common/config';
import { type HubConfig, hubSchema } from '../config/hub';
import type { Hub } from '../hub/controller';
import { commandModel } from '../hub/intents/command-model';
import { loadIntents } from '../hub/intents/load';
import { PocketsphinxEngine } from '../hub/stt/pocketsphinx';
import { Collector, jsonOf, speakNoisySession, TMP } from './helpers';
import { startHub } from './hub-helpers';
import { userIntentsDir } from './intents-corpus';
import { OllamaDouble } from './ollama-double';
import { noisy, zeros } from './speech-fixtures';

let hub: Hub;
let col: Collector;
let client: MqttClient;
let llmRequests: () => number;
let llmUrl = '';
const state = path.join(TMP, `timers-hub-state-${process.pid}`);
// k1 is a raw client that streams each command ~20 times faster than real time, one after another: on a quick machine
// more than 10 s of audio fell within 5 s and the rate limit (tested in rate-limits.test.ts) ended a session.
const hubArgs = (llm: string) => ['--intents-enabled', 'true', '--intents-dir', userIntentsDir(TMP), '--llm-host', llm, '--hub-state-dir', state, '--hub-time-zone', ZONE, '--session-max-wakes-per-minute', '0', '--session-max-audio-bytes-per-second', '0'];

before(async () => {
  // The double is started and stopped: its address answers nothing, as an Ollama that is down.
  const double = await new OllamaDouble().start();
  llmRequests = () => double.requests.length;
  await double.stop();
  llmUrl = double.url;
  hub = await startHub(hubArgs(llmUrl));
  await connectCollector();
});
after(async () => {
  await col?.end();
  await hub?.stop();
});

async function connectCollector(): Promise<void> {
  col = await Collector.create(hub.brokerUrl, ['voice/#']);
  client = col.client;
  await client.publishAsync('voice/satellite/k1/status', JSON.stringify({ state: 'online', protocol: 1, room: 'kitchen' }), { qos: 1, retain: true });
  await new Promise((r) => setTimeout(r, 200));
}

/** As the satellite k1: `text` over the room's noise floor. */
const say = (text: string): Promise<string> => speakNoisySession(client, 'k1', text);

const ofSession = (kind: string, sid: string) => (t: string, p: Buffer) => t === `voice/satellite/k1/${kind}` && jsonOf({ payload: p }).sessionId === sid;

/** Says `text` and returns the intent and the reply's text; the reply must be the hub's own (source intent). */
async function ask(text: string): Promise<{ intent: Record<string, unknown>; reply: string; sid: string }> {
  const sid = await say(text);
  const transcript = jsonOf(await col.next(ofSession('transcript', sid), 15000).catch((err: Error) => assert.fail(`"${text}": no final transcript (${err.message.slice(0, 300)})`)));
  const intent = jsonOf(await col.next(ofSession('intent', sid), 1000).catch(() => assert.fail(`"${text}" was heard as "${String(transcript.text)}": no intent`)));
  const reply = jsonOf(await col.next(ofSession('reply', sid), 5000));
  assert.equal(reply.source, 'intent', `"${text}": ${JSON.stringify(reply)}`);
  // As a satellite does once the reply's audio has played: until then the hub counts k1 as responding, and a timer
  // that ends meanwhile waits to ring. (Without it, whether k1 looked busy depended on whether the next wake came
  // before the reply's last audio: a wake aborts a reply still being sent, not one that was.)
  await col.next((t) => t === `voice/satellite/k1/tts/${sid}/stop`, 5000);
  await client.publishAsync('voice/satellite/k1/played', JSON.stringify({ sessionId: sid, reason: 'done', playedMs: 1000, time: new Date().toISOString() }), { qos: 1 });
  return { intent, reply: String(reply.text), sid };
}

/** The next message on a timer topic after `from` (a message index). */
async function timerEvent(from: number, event: string): Promise<Record<string, unknown>> {
  return jsonOf(await col.next((t, p) => t === 'voice/satellite/k1/timer' && jsonOf({ payload: p }).event === event, 5000, from));
}

const retainedList = () => {
  const m = col.messages.filter((x) => x.topic === 'voice/satellite/k1/timers').at(-1);
  return m ? (jsonOf(m).timers as Record<string, unknown>[]) : undefined;
};

/**
 * Decodes a spoken time with pocketsphinx (16 kHz; other rates resampled linearly), beside a language
 * model of clock times (every hour and minute: the answer's words are picked from all of them), as the
 * hub decodes commands.
 */
function hearTime(pcm: Buffer, rate: number): string {
  const { config } = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: [], env: {} });
  const dir = path.join(TMP, `time-lm-${process.pid}`);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'time.yaml');
  fs.writeFileSync(file, [
    'responses: { unhandled: x }',
    'lists:',
    '  hour: { range: { from: 1, to: 12 } }',
    '  minute: { range: { from: 10, to: 59 } }',
    '  digit: { range: { from: 1, to: 9 } }',
    'intents:',
    '  Time:',
    '    data:',
    '      - sentences:',
    '          - "it is {hour} [{minute}] (a m | p m)"',
    '          - "it is {hour} (oh | zero) {digit} (a m | p m)"',
    '          - "it is {hour} (oh | zero) (oh | zero) (a m | p m)"',
    '',
  ].join('\n'));
  const engine = new PocketsphinxEngine(config.stt.pocketsphinx, { lm: commandModel(loadIntents([file]), dir).lm });
  engine.load();
  try {
    const src = new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength));
    const n = Math.floor((src.length * 16000) / rate);
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const x = (i * rate) / 16000;
      const j = Math.floor(x);
      out[i] = Math.round(src[j] + ((src[Math.min(j + 1, src.length - 1)] ?? 0) - src[j]) * (x - j));
    }
    const rec = engine.createRecognizer();
    rec.accept(out);
    const f = rec.final();
    rec.free();
    return (f.commands ?? []).map((w) => w.word).join(' ');
  } finally {
    engine.unload();
  }
}

const HOURS = ['twelve', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven'];
/** Far from UTC, so the hour told is this zone's (hub.timeZone) and not the machine's. */
const ZONE = 'Pacific/Kiritimati';

test('the time and the date are answered with the LLM down; the spoken time has the hour in it', async () => {
  const asked = llmRequests();
  const { intent, reply, sid } = await ask('what time is it');
  assert.equal(intent.intent, 'HassGetCurrentTime');
  const m = /^It is (\d{1,2}):\d\d [AP]M\.$/.exec(reply);
  assert.ok(m, reply);
  await col.next((t) => t === `voice/satellite/k1/tts/${sid}/stop`, 10000);
  const start = jsonOf(col.messages.find((x) => x.topic === `voice/satellite/k1/tts/${sid}/start`) as { payload: Buffer });
  const pcm = Buffer.concat(col.messages.filter((x) => x.topic === `voice/satellite/k1/tts/${sid}`).map((x) => x.payload));
  const heard = hearTime(pcm, (start.format as { rate: number }).rate).split(' ');
  const hour = HOURS[Number(m[1]) % 12];
  const zoned = Number(new Date().toLocaleTimeString('en-US', { hour: 'numeric', hour12: true, timeZone: ZONE }).split(' ')[0]);
  assert.equal(Number(m[1]), zoned, `the hour in ${ZONE}`);
  assert.equal(heard[2], hour, `"${reply}" was heard as "${heard.join(' ')}"`);

  const date = await ask("what's the date today");
  assert.equal(date.intent.intent, 'HassGetCurrentDate');
  const today = new Date().toLocaleDateString('en-US', { weekday: 'long', month: 'long', day: 'numeric', timeZone: ZONE });
  assert.equal(date.reply, `Today is ${today}.`);
  assert.equal(llmRequests(), asked, 'nothing went to the LLM');
});

test('one timer: started and listed, time left, paused, resumed, cancelled', async () => {
  let from = col.messages.length;
  const set = await ask('set a timer for five minutes');
  assert.equal(set.intent.intent, 'HassStartTimer');
  assert.equal(set.reply, 'Timer set for 5 minutes.');
  const started = await timerEvent(from, 'started');
  const timer = started.timer as Record<string, unknown>;
  assert.equal(timer.totalS, 300);
  assert.equal(started.room, 'kitchen');
  assert.equal(retainedList()?.length, 1);
  // Retained: a dashboard that subscribes now gets the list.
  const late = await Collector.create(hub.brokerUrl, 'voice/satellite/k1/timers');
  const list = jsonOf(await late.next(() => true, 3000));
  await late.end();
  assert.deepEqual((list.timers as Record<string, unknown>[]).map((t) => t.id), [timer.id]);

  const left = await ask('how much time is left');
  assert.equal(left.intent.intent, 'HassTimerStatus');
  // Rounded up: a timer set a moment ago still has 5 minutes.
  assert.match(left.reply, /^(4 minutes and \d\d? seconds|5 minutes) left on the 5 minute timer\.$/);

  from = col.messages.length;
  const paused = await ask('pause the timer');
  assert.match(paused.reply, /^Paused the 5 minute timer, with 4 minutes and \d\d? seconds left\.$/);
  assert.equal(((await timerEvent(from, 'updated')).timer as Record<string, unknown>).paused, true);
  const stood = await ask('how much time is left');
  assert.match(stood.reply, /^The 5 minute timer is paused, with 4 minutes and \d\d? seconds left\.$/);

  from = col.messages.length;
  const resumed = await ask('resume the timer');
  assert.match(resumed.reply, /^Resumed the 5 minute timer, 4 minutes and \d\d? seconds left\.$/);
  assert.equal(((await timerEvent(from, 'updated')).timer as Record<string, unknown>).paused, false);

  from = col.messages.length;
  const more = await ask('add two minutes to the timer');
  assert.equal(more.intent.intent, 'HassIncreaseTimer');
  assert.match(more.reply, /^Added 2 minutes\. (6 minutes and \d\d? seconds|7 minutes) left\.$/);
  assert.equal(((await timerEvent(from, 'updated')).timer as Record<string, unknown>).totalS, 420);
  from = col.messages.length;
  const less = await ask('take one minute off the timer');
  assert.equal(less.intent.intent, 'HassDecreaseTimer');
  assert.match(less.reply, /^Took off 1 minute\. (5 minutes and \d\d? seconds|6 minutes) left\.$/);
  assert.equal(((await timerEvent(from, 'updated')).timer as Record<string, unknown>).totalS, 360);

  from = col.messages.length;
  const cancelled = await ask('cancel the timer');
  assert.equal(cancelled.intent.intent, 'HassCancelTimer');
  assert.equal(cancelled.reply, 'Cancelled the 6 minute timer.');
  assert.equal(((await timerEvent(from, 'cancelled')).timer as Record<string, unknown>).id, timer.id);
  assert.deepEqual(retainedList(), []);
  const none = await ask('how much time is left');
  assert.equal(none.reply, 'There is no timer running.');
});

test('two named timers: listed apart, "cancel the timer" asks which, a name cancels that one', async () => {
  const a = await ask('set a pasta timer for ten minutes');
  assert.equal(a.reply, 'Pasta timer set for 10 minutes.');
  const b = await ask('set a rice timer for three minutes');
  assert.equal(b.reply, 'Rice timer set for 3 minutes.');
  assert.deepEqual(retainedList()?.map((t) => t.name), ['rice', 'pasta']);
  const again = await ask('set a rice timer for five minutes');
  assert.equal(again.reply, 'You already have a rice timer.');
  assert.equal(retainedList()?.length, 2);
  const both = await ask('how much time is left');
  assert.match(both.reply, /^(2 minutes and \d\d? seconds|3 minutes) on the rice timer and (9 minutes and \d\d? seconds|10 minutes) on the pasta timer\.$/);
  const which = await ask('cancel the timer');
  assert.equal(which.reply, 'You have 2 timers: the rice timer and the pasta timer. Say which one.');
  assert.equal(retainedList()?.length, 2, 'nothing cancelled');
  const from = col.messages.length;
  const one = await ask('cancel the pasta timer');
  assert.equal(one.reply, 'Cancelled the pasta timer.');
  assert.equal(((await timerEvent(from, 'cancelled')).timer as Record<string, unknown>).name, 'pasta');
  assert.deepEqual(retainedList()?.map((t) => t.name), ['rice']);
  const all = await ask('cancel all timers');
  assert.equal(all.reply, 'Cancelled all timers.');
  assert.deepEqual(retainedList(), []);
});

test('a hub restart: a running timer is kept, and one that ended while the hub was down rings when the satellite is back', { timeout: 60_000 }, async () => {
  await ask('set a timer for two minutes');
  const short = await ask('set a timer for three seconds');
  assert.equal(short.reply, 'Timer set for 3 seconds.');
  await col.end();
  await hub.stop();
  await new Promise((r) => setTimeout(r, 4000));
  hub = await startHub(hubArgs(llmUrl));
  await connectCollector();
  // The satellite is back (its status again): the timer that ended meanwhile rings there.
  const ringing = jsonOf(await col.next((t, p) => t === 'voice/satellite/k1/reply' && jsonOf({ payload: p }).source === 'timer', 10000));
  assert.equal(ringing.text, 'Your 3 second timer is done.');
  const stream = ringing.sessionId as string;
  const start = jsonOf(await col.next((t) => t === `voice/satellite/k1/tts/${stream}/start`, 5000));
  assert.ok(start.format, 'the alarm streams to the satellite');
  // (Its finished event went out as the hub started, before this client could subscribe: timers-ring sees one live.)
  const kept = retainedList();
  assert.equal(kept?.length, 1, JSON.stringify(kept));
  assert.equal(kept?.[0].totalS, 120);
  assert.ok(Number(kept?.[0].remainingS) < 120 && Number(kept?.[0].remainingS) > 100, JSON.stringify(kept));
  // The satellite's stop command ends the ringing (the satellite cut its playback; the hub stops sending).
  await client.publishAsync('voice/satellite/k1/played', JSON.stringify({ sessionId: stream, reason: 'stopped', playedMs: 500, time: new Date().toISOString() }), { qos: 1 });
  const stop = jsonOf(await col.next((t) => t === `voice/satellite/k1/tts/${stream}/stop`, 5000));
  assert.equal(stop.reason, 'aborted');
  // "Cancel the timer" just after the ringing means the one that rang: the two-minute timer stays.
  const quiet = await ask('cancel the timer');
  assert.equal(quiet.reply, 'Stopped the 3 second timer.');
  assert.equal(retainedList()?.length, 1);
  await ask('cancel all timers');
});

test('a timer that ends while the person is speaking rings once the session is over', { timeout: 60_000 }, async () => {
  await ask('set a timer for two seconds');
  const from = col.messages.length;
  // A session that lasts 4 s of the room's noise: the timer ends in the middle of it.
  const { randomUUID } = await import('node:crypto');
  const sid = randomUUID();
  const T = 'voice/satellite/k1';
  const time = new Date().toISOString();
  await client.publishAsync(`${T}/wake`, JSON.stringify({ sessionId: sid, wakeWord: 'hey_jarvis', score: 0.9, time }), { qos: 1 });
  await client.publishAsync(`${T}/audio/${sid}/start`, JSON.stringify({ sessionId: sid, format: { encoding: 's16le', rate: 16000, channels: 1 }, time }), { qos: 1 });
  const noise = noisy(zeros(4000));
  for (let off = 0; off < noise.length; off += 3200) {
    await client.publishAsync(`${T}/audio/${sid}`, noise.subarray(off, off + 3200), { qos: 0 });
    await new Promise((r) => setTimeout(r, 100));
  }
  const finished = await col.next((t, p) => t === `${T}/timer` && jsonOf({ payload: p }).event === 'finished', 1000, from);
  assert.equal(col.messages.slice(from).filter((m) => m.topic === `${T}/reply` && jsonOf(m).source === 'timer').length, 0, 'no ringing while the person speaks');
  await client.publishAsync(`${T}/audio/${sid}/stop`, JSON.stringify({ sessionId: sid, reason: 'silence', time }), { qos: 1 });
  const final = await col.next(ofSession('transcript', sid), 10000, from);
  const ring = await col.next((t, p) => t === `${T}/reply` && jsonOf({ payload: p }).source === 'timer', 10000, from);
  assert.ok(ring.at >= final.at && finished.at < final.at, 'it rang after the session, though it ended during it');
  assert.equal(jsonOf(ring).text, 'Your 2 second timer is done.');
  await client.publishAsync(`${T}/command`, JSON.stringify({ command: 'stop' }), { qos: 1 });
});
