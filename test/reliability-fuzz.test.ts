/**
 * Reliability: random and malformed payloads on every topic the hub and a
 * satellite subscribe to (wake, audio start/frames/stop, status, handled,
 * played, command, the three announce topics, the satellite's TTS start,
 * chunks and stop), and malformed topics under the root. Each bad message
 * gets exactly one coded error of the expected code, matched one to one:
 * every message in a batch is tagged by an error destination no other
 * message in that batch uses (its own satellite id, or its own session id
 * on the real satellite's error topic; at most one message per batch whose
 * error carries no tag). Neither process crashes, and afterwards a real
 * session through the fuzzed satellite process itself is transcribed.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { Collector, FifoMic, jsonOf, type Proc, runNode, silence, speak, startHubProcess, TMP, wer } from './helpers';

const SAT = 'fz';
let hub: { proc: Proc; url: string };
let col: Collector;
let sat: Proc;
let mic: FifoMic;

before(async () => {
  hub = await startHubProcess(['--reply-enabled', 'true', '--llm-host', 'http://127.0.0.1:9', '--reply-handled-wait-ms', '0']);
  col = await Collector.create(hub.url, ['voice/#']);
  // The fuzzed satellite hears only what the test writes into its FIFO microphone: nothing during the fuzzing,
  // a spoken request afterwards.
  mic = new FifoMic('fuzz');
  sat = runNode('satellite/main.js', ['--mqtt-url', hub.url, '--satellite-id', SAT, '--satellite-room', 'lab', '--audio-source', 'command', '--audio-command', mic.command, '--playback-sink', 'file', '--playback-dir', path.join(TMP, 'fz-play')]);
  await mic.open();
  await sat.waitLog((o) => o.msg === 'satellite listening');
  await col.next((t, p) => t === `voice/satellite/${SAT}/status` && jsonOf({ payload: p }).state === 'online', 10000);
});
after(async () => {
  mic?.close();
  await sat?.stop();
  await col?.end();
  await hub?.proc.stop();
});

const pick = <T>(xs: readonly T[]): T => xs[randomInt(xs.length)];

/** Payloads no JSON topic accepts: broken syntax, non-objects, binary, oversized. */
function brokenJson(): Buffer {
  return pick([
    () => Buffer.from('{'),
    () => Buffer.from('null'),
    () => Buffer.from('[]'),
    () => Buffer.from('"text"'),
    () => Buffer.from('42'),
    () => Buffer.from(`{"a":"${'x'.repeat(70000)}"}`),
    () => Buffer.concat([Buffer.from([0xff, 0xfe]), randomBytes(1 + randomInt(200))]),
  ])();
}

/** JSON objects with wrong types, invalid session ids or missing fields, valid for none of wake, played, tts start/stop, command. */
function badObject(): Buffer {
  return pick([
    () => Buffer.from(JSON.stringify({ sessionId: 42 })),
    () => Buffer.from(JSON.stringify({ sessionId: 'x/y', reason: 'silence', time: 't' })),
    () => Buffer.from(JSON.stringify({ sessionId: randomUUID(), reason: 7, time: 't' })),
    () => Buffer.from(JSON.stringify({ command: 'explode' })),
    () => Buffer.from(JSON.stringify({ sessionId: randomUUID(), format: 'pcm', time: 't' })),
    () => Buffer.from('{"sessionId": "\u0000\u0001", "wakeWord": 1}'),
  ])();
}

const badJson = (): Buffer => (randomInt(2) ? brokenJson() : badObject());

/** Announcements: empty, too long, or an object without a text string. */
function badAnnounce(): Buffer {
  return pick([() => Buffer.from(''), () => Buffer.from('   '), () => Buffer.from('x'.repeat(2001)), () => Buffer.from('{"text": 5}'), () => Buffer.from('{}'), () => Buffer.from('{')])();
}

/** A handled claim is any object with a valid sessionId; these are not. */
function badHandled(): Buffer {
  return pick([brokenJson, () => Buffer.from(JSON.stringify({ sessionId: 42 })), () => Buffer.from(JSON.stringify({ text: 'hello' })), () => Buffer.from(JSON.stringify({ sessionId: 'bad$id' }))])();
}

interface Case {
  name: string;
  topic: string;
  payload: Buffer;
  /** Where its one error must arrive (null: no error at all). */
  errTopic: string | null;
  /** The error's sessionId that tags it on a shared error topic. */
  sid?: string;
  code?: string;
}

const satErr = `voice/satellite/${SAT}/error`;
let seq = 0;

/** A bad message for the hub, tagged by a satellite id of its own. */
function hubCase(): Case {
  const id = `fzh${++seq}`;
  const T = `voice/satellite/${id}`;
  const err = `${T}/error`;
  const sid = randomUUID();
  switch (randomInt(8)) {
    case 0:
      return { name: 'wake', topic: `${T}/wake`, payload: badJson(), errTopic: err, code: 'VOICE_BAD_PAYLOAD' };
    case 1: // start/stop/frames for a session that never woke: held 1 s, then one VOICE_UNKNOWN_SESSION
      return { name: 'audio start', topic: `${T}/audio/${sid}/start`, payload: badJson(), errTopic: err, code: 'VOICE_UNKNOWN_SESSION' };
    case 2:
      return { name: 'audio stop', topic: `${T}/audio/${sid}/stop`, payload: badJson(), errTopic: err, code: 'VOICE_UNKNOWN_SESSION' };
    case 3:
      return { name: 'audio frame', topic: `${T}/audio/${sid}`, payload: randomBytes(randomInt(4000)), errTopic: err, code: 'VOICE_UNKNOWN_SESSION' };
    case 4:
      return { name: 'handled', topic: `${T}/handled`, payload: badHandled(), errTopic: err, code: 'VOICE_BAD_PAYLOAD' };
    case 5:
      return { name: 'played', topic: `${T}/played`, payload: badJson(), errTopic: err, code: 'VOICE_BAD_PAYLOAD' };
    case 6:
      return { name: 'status', topic: `${T}/status`, payload: brokenJson(), errTopic: err, code: 'VOICE_BAD_PAYLOAD' };
    default:
      return { name: 'satellite announce', topic: `${T}/announce`, payload: badAnnounce(), errTopic: err, code: 'VOICE_BAD_PAYLOAD' };
  }
}

/** A bad TTS message for the real satellite, tagged by a session id of its own. */
function ttsCase(): Case {
  const sid = randomUUID();
  const T = `voice/satellite/${SAT}/tts/${sid}`;
  switch (randomInt(3)) {
    case 0:
      return { name: 'tts start', topic: `${T}/start`, payload: badJson(), errTopic: satErr, sid, code: 'VOICE_BAD_PAYLOAD' };
    case 1:
      return { name: 'tts stop', topic: `${T}/stop`, payload: brokenJson(), errTopic: satErr, sid, code: 'VOICE_BAD_PAYLOAD' };
    default: // audio for a stream it never saw
      return { name: 'tts chunk', topic: T, payload: randomBytes(randomInt(4000)), errTopic: satErr, sid, code: 'VOICE_UNKNOWN_SESSION' };
  }
}

/** Errors without a tag: one of these per batch. */
function untaggedCase(): Case {
  switch (randomInt(3)) {
    case 0: // the satellite reports it (the hub, also subscribed to commands, ignores bad ones)
      return { name: 'command', topic: `voice/satellite/${SAT}/command`, payload: badJson(), errTopic: satErr, code: 'VOICE_BAD_PAYLOAD' };
    case 1:
      return { name: 'room announce', topic: 'voice/room/lab/announce', payload: badAnnounce(), errTopic: 'voice/hub/error', code: 'VOICE_BAD_PAYLOAD' };
    default:
      return { name: 'announce all', topic: 'voice/announce', payload: badAnnounce(), errTopic: 'voice/hub/error', code: 'VOICE_BAD_PAYLOAD' };
  }
}

/** Must get no error at all: a bad command to a satellite that does not exist (the hub leaves commands to satellites). */
function silentCase(): Case {
  return { name: 'command to nobody', topic: `voice/satellite/fzh${++seq}/command`, payload: badJson(), errTopic: null };
}

/** Malformed topics under the root that match a subscription: VOICE_BAD_TOPIC where the satellite id allows. */
function badTopicCase(): Case {
  const id = `fzt${++seq}`;
  const T = `voice/satellite/${id}`;
  const err = `${T}/error`;
  const sid = randomUUID();
  return pick<() => Case>([
    () => ({ name: 'invalid session id (start)', topic: `${T}/audio/bad$id/start`, payload: badJson(), errTopic: err, code: 'VOICE_BAD_TOPIC' }),
    () => ({ name: 'invalid session id (frame)', topic: `${T}/audio/bad$id`, payload: randomBytes(640), errTopic: err, code: 'VOICE_BAD_TOPIC' }),
    () => ({ name: 'session id too long', topic: `${T}/audio/${'a'.repeat(65)}/stop`, payload: badJson(), errTopic: err, code: 'VOICE_BAD_TOPIC' }),
    () => ({ name: 'audio without session', topic: `${T}/audio`, payload: randomBytes(640), errTopic: err, code: 'VOICE_BAD_TOPIC' }),
    () => ({ name: 'audio sub-topic too deep', topic: `${T}/audio/${sid}/start/extra`, payload: badJson(), errTopic: err, code: 'VOICE_BAD_TOPIC' }),
    () => ({ name: 'unknown audio sub-topic', topic: `${T}/audio/${sid}/pause`, payload: badJson(), errTopic: err, code: 'VOICE_BAD_TOPIC' }),
  ])();
}

/** Invalid satellite ids: the error can only go to the hub's error topic (one per batch). */
function badSatelliteIdCase(): Case {
  return pick<() => Case>([
    () => ({ name: 'invalid satellite id (wake)', topic: 'voice/satellite/bad$id/wake', payload: badJson(), errTopic: 'voice/hub/error', code: 'VOICE_BAD_TOPIC' }),
    () => ({ name: 'invalid satellite id (audio)', topic: `voice/satellite/bad$id/audio/${randomUUID()}`, payload: randomBytes(640), errTopic: 'voice/hub/error', code: 'VOICE_BAD_TOPIC' }),
    () => ({ name: 'satellite id too long (status)', topic: `voice/satellite/${'s'.repeat(65)}/status`, payload: brokenJson(), errTopic: 'voice/hub/error', code: 'VOICE_BAD_TOPIC' }),
  ])();
}

/** Malformed TTS topics on the real satellite (docs/errors.md: VOICE_BAD_TOPIC on its error topic); one per batch, untagged. */
const SAT_BAD_TOPICS: (() => Case)[] = [
    () => ({ name: 'satellite: tts invalid session id (start)', topic: `voice/satellite/${SAT}/tts/bad$id/start`, payload: badJson(), errTopic: satErr, code: 'VOICE_BAD_TOPIC' }),
    () => ({ name: 'satellite: tts invalid session id (chunk)', topic: `voice/satellite/${SAT}/tts/bad$id`, payload: randomBytes(640), errTopic: satErr, code: 'VOICE_BAD_TOPIC' }),
    () => ({ name: 'satellite: tts sub-topic too deep', topic: `voice/satellite/${SAT}/tts/${randomUUID()}/stop/extra`, payload: brokenJson(), errTopic: satErr, code: 'VOICE_BAD_TOPIC' }),
];

const describe = (c: Case) => `${c.name} on ${c.topic} (${c.payload.length} bytes: ${JSON.stringify(c.payload.subarray(0, 60).toString('latin1'))})`;

/**
 * Publishes one batch, waits for its errors and then a quiet window longer
 * than the hub's 1 s grace for early audio, and checks that every case got
 * exactly one error, of its code, and nothing else arrived. Returns problems.
 */
async function runBatch(cases: Case[]): Promise<string[]> {
  const from = col.messages.length;
  await Promise.all(cases.map((c) => col.client.publishAsync(c.topic, c.payload, { qos: 1 })));
  const errorsNow = () => col.messages.slice(from).filter((m) => m.topic.endsWith('/error'));
  const expected = cases.filter((c) => c.errTopic !== null).length;
  const deadline = Date.now() + 5000;
  while (errorsNow().length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1300));
  const got = new Map<Case, Record<string, unknown>[]>(cases.map((c) => [c, []]));
  const problems: string[] = [];
  for (const m of errorsNow()) {
    const e = jsonOf(m);
    // Tagged by session id on a shared topic first, then by an error topic that only one case uses.
    const c = cases.find((k) => k.sid !== undefined && k.errTopic === m.topic && e.sessionId === k.sid) ?? cases.find((k) => k.sid === undefined && k.errTopic === m.topic);
    if (!c) problems.push(`unexpected error on ${m.topic}: ${m.payload.toString().slice(0, 200)}`);
    else got.get(c)?.push(e);
  }
  for (const [c, errs] of got) {
    if (c.errTopic === null && errs.length > 0) problems.push(`${describe(c)}: expected no error, got ${errs.length}`);
    if (c.errTopic === null) continue;
    if (errs.length !== 1) problems.push(`${describe(c)}: expected one ${c.code} on ${c.errTopic}, got ${errs.length}: ${errs.map((e) => `${String(e.code)} ${String(e.message).slice(0, 100)}`).join(' | ')}`);
    else if (errs[0]?.code !== c.code || typeof errs[0]?.message !== 'string') problems.push(`${describe(c)}: expected ${c.code}, got ${String(errs[0]?.code)}: ${String(errs[0]?.message).slice(0, 150)}`);
  }
  return problems;
}

test('bad payloads on every subscribed topic: exactly one error each, of the right code; both processes survive', async (t) => {
  const BATCHES = 12;
  const problems: string[] = [];
  const byName = new Map<string, number>();
  for (let b = 0; b < BATCHES; b++) {
    // 24 hub cases keeps the held early-audio sessions well under the hub's cap of 64.
    const cases = [...Array.from({ length: 24 }, hubCase), ...Array.from({ length: 8 }, ttsCase), untaggedCase(), silentCase()];
    for (const c of cases) byName.set(c.name, (byName.get(c.name) ?? 0) + 1);
    problems.push(...(await runBatch(cases)));
  }
  t.diagnostic(`${[...byName.values()].reduce((a, b) => a + b, 0)} messages: ${[...byName].map(([n, k]) => `${n} ${k}`).join(', ')}`);
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems`);
  assert.equal(hub.proc.child.exitCode, null, 'hub alive');
  assert.equal(sat.child.exitCode, null, 'satellite alive');
});

test('malformed topics under the root: VOICE_BAD_TOPIC on the satellite error topic, or the hub error topic for an invalid satellite id', async (t) => {
  const problems: string[] = [];
  let n = 0;
  for (let b = 0; b < 3; b++) {
    const cases = [...Array.from({ length: 16 }, badTopicCase), badSatelliteIdCase()];
    n += cases.length;
    problems.push(...(await runBatch(cases)));
  }
  t.diagnostic(`${n} messages on malformed hub topics`);
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems`);
  assert.equal(hub.proc.child.exitCode, null, 'hub alive');
});

test('malformed TTS topics on the satellite: VOICE_BAD_TOPIC on its error topic', async () => {
  const problems: string[] = [];
  for (const make of SAT_BAD_TOPICS) problems.push(...(await runBatch([make()])));
  assert.deepEqual(problems, []);
  assert.equal(sat.child.exitCode, null, 'satellite alive');
});

test('after the fuzzing, a real session through the fuzzed satellite process is transcribed', async (t) => {
  assert.equal(sat.child.exitCode, null, 'the same satellite process as during the fuzzing');
  const spoken = 'what is the weather like today';
  const from = col.messages.length;
  const done = mic.play(Buffer.concat([silence(1500), speak('hey jarvis'), silence(400), speak(spoken), silence(2500)]));
  const wake = jsonOf(await col.next((tp) => tp === `voice/satellite/${SAT}/wake`, 20000, from));
  const fin = jsonOf(await col.next((tp, p) => tp === `voice/satellite/${SAT}/transcript` && jsonOf({ payload: p }).sessionId === wake.sessionId, 30000, from));
  await done;
  t.diagnostic(`"${spoken}" -> "${String(fin.text)}"`);
  assert.equal(fin.room, 'lab');
  assert.ok(wer(spoken, String(fin.text)).rate <= 0.35, String(fin.text));
});
