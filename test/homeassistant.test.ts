/**
 * Home Assistant MQTT discovery (issue 13) on the hub's real embedded broker
 * with two real satellite processes: k1 in the kitchen hears "hey jarvis,
 * set a timer for ten minutes" over its room's noise, k2 in the hall only
 * noise. Checked as Home Assistant would use it:
 * - the retained device discovery messages, each key against the options
 *   Home Assistant documents for its platform;
 * - every state topic they name carries, in a real message, what the
 *   entity's template reads (the templates are rendered here, for the forms
 *   discovery.ts uses);
 * - every command entity does what it says, through the satellite's own
 *   command and announce topics; bad ones get coded errors and change nothing;
 * - the wake threshold entity, on a satellite (k4, on the porch) that hears
 *   a wake word openWakeWord scores about 0.8 every 6 s: heard at 0.5, not
 *   at 0.95; restarted, the satellite gets 0.95 back from the hub;
 * - Home Assistant's birth message re-publishes; a satellite that dies is
 *   unavailable; a removed one loses its device, and a session of it that
 *   ends after that, or a wake heard after it, brings back neither its state
 *   nor its device; a stale device found at start is removed.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { wavFromPcm } from '../common/wav';
import type { Hub } from '../hub/controller';
import { Acl } from '../hub/security/acl';
import { IdentityStore } from '../hub/security/identities';
import { aclRules } from '../hub/security/mosquitto';
import { adminAuth } from './credentials';
import { OpenWakeWordEngine } from '../satellite/wake/openwakeword';
import { COMMON, DEVICE_KEYS, PLATFORMS, ROOT_KEYS, render, valueOf } from './ha-templates';
import { Collector, jsonOf, type Proc, runNode, silence, speak, TMP } from './helpers';
import { startHub } from './hub-helpers';
import { userIntentsDir } from './intents-corpus';
import { noisy } from './speech-fixtures';

type Obj = Record<string, unknown>;
let hub: Hub;
let col: Collector;
const sats: Record<string, Proc> = {};
const GHOST = 'homeassistant/device/voice_satellite_ghost/config';
const DEV = {
  hub: 'homeassistant/device/voice_hub/config',
  k1: 'homeassistant/device/voice_satellite_k1/config',
  k2: 'homeassistant/device/voice_satellite_k2/config',
  k4: 'homeassistant/device/voice_satellite_k4/config',
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let startedAt = 0;
const sat = (id: string, room: string, wav: string, extra: string[] = []) =>
  runNode('satellite/main.js', ['--mqtt-url', hub.brokerUrl, '--satellite-id', id, '--satellite-room', room, '--audio-source', 'wav', '--audio-wav', wav, '--playback-sink', 'file', '--playback-dir', path.join(TMP, `ha-play-${id}-${process.pid}`), ...extra]);
before(async () => {
  startedAt = Date.now();
  hub = await startHub(['--homeassistant-readback-ms', '4000', '--intents-dir', userIntentsDir(TMP), '--llm-host', 'http://127.0.0.1:9']);
  col = await Collector.create(hub.brokerUrl, ['voice/#', 'homeassistant/#']);
  // A device left by a satellite that is gone, seen while the hub reads back what is retained under the prefix.
  await col.client.publishAsync(GHOST, JSON.stringify({ dev: { identifiers: ['voice_satellite_ghost'] }, o: { name: 'voice-hub' }, cmps: {} }), { qos: 1, retain: true });
  const kitchen = path.join(TMP, 'ha-kitchen.wav');
  fs.writeFileSync(kitchen, wavFromPcm(noisy(Buffer.concat([silence(1000), speak('hey jarvis'), silence(400), speak('set a timer for ten minutes'), silence(60000)]))));
  const hall = path.join(TMP, 'ha-hall.wav');
  fs.writeFileSync(hall, wavFromPcm(noisy(silence(62000))));
  sats.k1 = sat('k1', 'kitchen', kitchen);
  sats.k2 = sat('k2', 'hall', hall);
});
after(async () => {
  for (const s of Object.values(sats)) await s.stop();
  await col?.end();
  await hub?.stop();
});

// ------------------------------------------------------------ helpers (Home Assistant's side: ha-templates.ts)

const last = (topic: string) => {
  const hits = col.messages.filter((m) => m.topic === topic);
  return hits.at(-1);
};
const latest = (topic: string, from = 0) => col.next((t) => t === topic, 30000, from);
const discovery = async (topic: string) => jsonOf(await col.next((t, p) => t === topic && p.length > 0, 30000));
const cmp = (d: Obj, key: string) => (d.cmps as Record<string, Obj>)[key];

/** What a fresh client subscribing to the prefix gets, retained flag included. */
async function retained(filter: string, waitMs = 800): Promise<Map<string, { payload: Buffer; retain: boolean }>> {
  const c = await mqtt.connectAsync(hub.brokerUrl, adminAuth(hub.brokerUrl));
  const got = new Map<string, { payload: Buffer; retain: boolean }>();
  // The retained copy comes first; a live one published meanwhile does not replace it.
  c.on('message', (topic, payload, packet) => {
    if (packet.retain || !got.has(topic)) got.set(topic, { payload, retain: packet.retain });
  });
  await c.subscribeAsync(filter, { qos: 1 });
  await new Promise((r) => setTimeout(r, waitMs));
  await c.endAsync();
  return got;
}

// ------------------------------------------------------------ tests

test('retained device discovery for the hub and each satellite, every key one Home Assistant documents for its platform', { timeout: 60_000 }, async () => {
  const devices = { hub: await discovery(DEV.hub), k1: await discovery(DEV.k1), k2: await discovery(DEV.k2) };
  const stored = await retained('homeassistant/device/+/config');
  const uniqueIds = new Set<string>();
  for (const [name, d] of Object.entries(devices)) {
    const topic = DEV[name as keyof typeof DEV];
    assert.equal(stored.get(topic)?.retain, true, `${topic} is retained`);
    assert.deepEqual(jsonOf({ payload: stored.get(topic)?.payload ?? Buffer.from('{}') }), d);
    for (const k of Object.keys(d)) assert.ok(ROOT_KEYS.includes(k), `${name}: unknown root key ${k}`);
    assert.equal(d.qos, 1);
    const dev = d.dev as Obj;
    for (const k of Object.keys(dev)) assert.ok(DEVICE_KEYS.includes(k), `${name}: unknown device key ${k}`);
    assert.ok(Array.isArray(dev.identifiers) && dev.identifiers.length > 0, `${name}: device identifiers`);
    assert.equal((d.o as Obj).name, 'voice-hub');
    const avail = d.availability as Obj[];
    assert.ok(avail.length > 0);
    for (const a of avail) assert.deepEqual(Object.keys(a).sort(), ['payload_available', 'payload_not_available', 'topic', 'value_template']);
    assert.ok(avail.some((a) => a.topic === 'voice/hub/status'), `${name}: available with the hub`);
    for (const [key, c] of Object.entries(d.cmps as Record<string, Obj>)) {
      const spec = PLATFORMS[c.p as string];
      assert.ok(spec, `${name}.${key}: platform ${String(c.p)}`);
      assert.equal(typeof c.unique_id, 'string');
      assert.ok(!uniqueIds.has(c.unique_id as string), `unique_id ${String(c.unique_id)} used twice`);
      uniqueIds.add(c.unique_id as string);
      for (const r of spec.required) assert.ok(c[r] !== undefined, `${name}.${key} (${String(c.p)}) lacks ${r}`);
      for (const k of Object.keys(c)) assert.ok(COMMON.includes(k) || spec.required.includes(k) || spec.optional.includes(k), `${name}.${key} (${String(c.p)}): ${k} is not an option of that platform`);
      if (c.device_class === 'enum') assert.ok(Array.isArray(c.options), `${name}.${key}: an enum sensor lists its options`);
    }
  }
  assert.deepEqual((devices.hub.dev as Obj).identifiers, ['voice_hub']);
  for (const [id, room] of [['k1', 'kitchen'], ['k2', 'hall']]) {
    const d = devices[id as 'k1' | 'k2'];
    const dev = d.dev as Obj;
    assert.deepEqual(dev.identifiers, [`voice_satellite_${id}`]);
    assert.equal(dev.suggested_area, room);
    assert.equal(dev.via_device, 'voice_hub');
    assert.equal(typeof dev.sw_version, 'string');
    assert.equal(typeof dev.model, 'string');
    assert.deepEqual((d.availability as Obj[]).map((a) => a.topic), ['voice/hub/status', `voice/satellite/${id}/status`]);
    assert.equal(d.availability_mode, 'all');
    assert.deepEqual(Object.fromEntries(Object.entries(d.cmps as Record<string, Obj>).map(([k, c]) => [k, c.p])), {
      state: 'sensor', transcript: 'sensor', event: 'event', mute: 'switch', volume: 'number', wake_threshold: 'number', announce: 'notify', listen: 'button', stop: 'button', next_timer: 'sensor', timers: 'sensor',
    });
    const th = cmp(d, 'wake_threshold');
    assert.deepEqual([th.state_topic, th.command_topic, th.entity_category, th.min, th.max, th.step], [`voice/satellite/${id}/status`, `voice/satellite/${id}/command`, 'config', 0.05, 0.95, 0.05]);
    const next = cmp(d, 'next_timer');
    assert.deepEqual([next.state_topic, next.device_class], [`voice/satellite/${id}/timers`, 'timestamp']);
  }
});

test('every state topic carries what its entity reads: state, transcript, events, mute, volume, wake threshold, timers, next timer; the hub\'s sensors', { timeout: 60_000 }, async () => {
  const k1 = await discovery(DEV.k1);
  // The kitchen's speech: a wake, a final transcript, an intent, and a timer.
  const timers = await col.next((t, p) => t === 'voice/satellite/k1/timers' && (jsonOf({ payload: p }).timers as unknown[]).length === 1, 40000);
  await col.next((t, p) => t === 'voice/satellite/k1/event' && jsonOf({ payload: p }).event_type === 'intent', 5000);
  const events = col.messages.filter((m) => m.topic === 'voice/satellite/k1/event').map(jsonOf);
  assert.deepEqual(events.map((e) => e.event_type), ['wake', 'transcript', 'intent']);
  const event = cmp(k1, 'event');
  for (const e of events) assert.ok((event.event_types as string[]).includes(e.event_type as string));
  assert.equal(events[1].text, 'set a timer for ten minutes');
  assert.equal(events[2].intent, 'HassStartTimer');
  assert.equal(events[0].sessionId, events[1].sessionId);

  const t = cmp(k1, 'timers');
  assert.equal(t.state_topic, 'voice/satellite/k1/timers');
  assert.equal(valueOf(t.value_template, timers.payload), '1');
  const attrs = JSON.parse(valueOf(t.json_attributes_template, timers.payload)) as { timers: { totalS: number; endsAt: string }[] };
  assert.equal(attrs.timers[0].totalS, 600);
  // The next timer: the ten minutes' endsAt, a time Home Assistant's timestamp sensor reads.
  const next = cmp(k1, 'next_timer');
  assert.equal(next.state_topic, 'voice/satellite/k1/timers');
  const ends = valueOf(next.value_template, timers.payload);
  assert.equal(ends, attrs.timers[0].endsAt);
  assert.match(ends, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const inMs = Date.parse(ends) - timers.at;
  assert.ok(inMs > 590_000 && inMs <= 601_000, `ends ${inMs} ms after the timers message`);
  // The other forms a timers payload takes: the soonest of the running ones; none running (paused, ended and
  // waiting to ring, or no timer at all) is None, which Home Assistant shows as unknown.
  const running = (min: number) => ({ id: `r${min}`, totalS: 600, remainingS: min * 60, paused: false, endsAt: new Date(timers.at + min * 60000).toISOString() });
  const paused = { id: 'p', totalS: 60, remainingS: 30, paused: true };
  const due = { id: 'd', totalS: 60, remainingS: 0, paused: false };
  const of = (list: Obj[]) => valueOf(next.value_template, Buffer.from(JSON.stringify({ ...jsonOf(timers), timers: list })));
  assert.equal(of([running(9), paused, running(2), due, running(5)]), running(2).endsAt);
  for (const list of [[], [paused], [paused, due]]) assert.equal(of(list), 'None', JSON.stringify(list));

  const tr = cmp(k1, 'transcript');
  const transcript = last(tr.state_topic as string);
  assert.ok(transcript);
  assert.equal(valueOf(tr.value_template, transcript.payload), 'set a timer for ten minutes');
  assert.equal(tr.json_attributes_topic, tr.state_topic);
  assert.ok('timings' in jsonOf(transcript), 'timings are among its attributes');

  // The state the registry computed, for each satellite, one of the enum's options (retained: a fresh client sees it).
  const stored = await retained('voice/satellite/+/state');
  for (const id of ['k1', 'k2']) {
    const d = await discovery(DEV[id as 'k1' | 'k2']);
    const st = cmp(d, 'state');
    const m = stored.get(st.state_topic as string);
    assert.ok(m?.retain, `${id}: retained state (${JSON.stringify([...stored].map(([k, x]) => [k, x.retain, x.payload.toString()]))})`);
    const value = valueOf(st.value_template, m.payload);
    assert.ok((st.options as string[]).includes(value), `${id}: ${value}`);
  }
  // It follows the session: listening, then back.
  const states = col.messages.filter((m) => m.topic === 'voice/satellite/k1/state').map((m) => valueOf(cmp(k1, 'state').value_template, m.payload));
  assert.ok(states.includes('listening') && states.includes('processing'), `k1 states: ${states.join(' ')}`);

  const status = last('voice/satellite/k1/status');
  assert.ok(status);
  assert.equal(valueOf(cmp(k1, 'mute').value_template, status.payload), 'OFF');
  assert.equal(valueOf(cmp(k1, 'volume').value_template, status.payload), '100');
  assert.equal(valueOf(cmp(k1, 'wake_threshold').value_template, status.payload), '0.5');
  for (const a of k1.availability as Obj[]) assert.equal(valueOf(a.value_template, (last(a.topic as string) ?? { payload: Buffer.from('{}') }).payload), a.payload_available);

  const h = await discovery(DEV.hub);
  const hubStatus = last('voice/hub/status');
  assert.ok(hubStatus);
  assert.equal(valueOf(cmp(h, 'stt').value_template, hubStatus.payload), jsonOf(hubStatus).stt && (jsonOf(hubStatus).stt as Obj).engine);
  assert.equal(valueOf(cmp(h, 'tts').value_template, hubStatus.payload), 'flite');
  assert.equal(valueOf(cmp(h, 'llm').value_template, hubStatus.payload), hub.config.llm.model);
  assert.match(valueOf(cmp(h, 'live_sessions').value_template, hubStatus.payload), /^\d+$/);
  assert.equal(cmp(h, 'last_error').state_topic, 'voice/hub/error');
});

/** Publishes what Home Assistant publishes for a command entity: the payload, or the command template rendered with `value`. */
async function press(c: Obj, payloadKey: 'payload_press' | 'payload_on' | 'payload_off' | null, value?: string | number): Promise<number> {
  const from = col.messages.length;
  const payload = payloadKey ? (c[payloadKey] as string) : render(c.command_template as string, { value });
  await col.client.publishAsync(c.command_topic as string, payload, { qos: 1 });
  return from;
}

const statusWhere = (pred: (o: Obj) => boolean, from: number, ms = 10000) => col.next((t, p) => t === 'voice/satellite/k1/status' && pred(jsonOf({ payload: p })), ms, from);

test('command entities: mute, volume, wake threshold, listen, announce, stop do what they say on the satellite', { timeout: 60_000 }, async () => {
  const k1 = await discovery(DEV.k1);
  const mute = cmp(k1, 'mute');
  let from = await press(mute, 'payload_on');
  const muted = await statusWhere((o) => o.muted === true, from);
  assert.equal(valueOf(mute.value_template, muted.payload), mute.state_on);
  await col.next((t, p) => t === 'voice/satellite/k1/state' && jsonOf({ payload: p }).state === 'muted', 5000, from);
  from = await press(mute, 'payload_off');
  const unmuted = await statusWhere((o) => o.muted === false, from);
  assert.equal(valueOf(mute.value_template, unmuted.payload), mute.state_off);

  const volume = cmp(k1, 'volume');
  from = await press(volume, null, 30);
  const v = await statusWhere((o) => o.volume === 30, from);
  assert.equal(valueOf(volume.value_template, v.payload), '30');

  const threshold = cmp(k1, 'wake_threshold');
  from = await press(threshold, null, 0.8);
  assert.deepEqual(jsonOf(await col.next((t) => t === 'voice/satellite/k1/command', 5000, from)), { command: 'threshold', threshold: 0.8 });
  const th = await statusWhere((o) => o.wakeThreshold === 0.8, from);
  assert.equal(valueOf(threshold.value_template, th.payload), '0.8');
  const changed = await sats.k1.waitLog((o) => o.msg === 'wake threshold changed', 5000);
  assert.deepEqual([changed.threshold, changed.was], [0.8, 0.5]);

  from = await press(cmp(k1, 'listen'), 'payload_press');
  const wake = jsonOf(await col.next((t) => t === 'voice/satellite/k1/wake', 10000, from));
  assert.equal(wake.openedBy, 'remote');
  await col.next((t, p) => t === 'voice/satellite/k1/transcript' && jsonOf({ payload: p }).sessionId === wake.sessionId, 30000, from);
  await col.next((t, p) => t === 'voice/satellite/k1/state' && jsonOf({ payload: p }).state === 'idle', 10000, from);

  const text = 'The laundry is done. It has been done for a while now, so please take it out of the machine before it starts to smell.';
  from = await press(cmp(k1, 'announce'), null, text);
  const reply = jsonOf(await col.next((t) => t === 'voice/satellite/k1/reply', 10000, from));
  assert.equal(reply.text, text);
  assert.equal(reply.source, 'announce');
  await col.next((t) => t === `voice/satellite/k1/tts/${String(reply.sessionId)}/start`, 10000, from);
  await col.next((t) => t === `voice/satellite/k1/tts/${String(reply.sessionId)}`, 10000, from);
  await col.next((t, p) => t === 'voice/satellite/k1/state' && jsonOf({ payload: p }).state === 'responding', 10000, from);
  await press(cmp(k1, 'stop'), 'payload_press');
  const played = jsonOf(await col.next((t, p) => t === 'voice/satellite/k1/played' && jsonOf({ payload: p }).sessionId === reply.sessionId, 10000, from));
  assert.equal(played.reason, 'stopped');
});

test('bad commands from the entities get coded errors and change nothing', { timeout: 30_000 }, async () => {
  const k1 = await discovery(DEV.k1);
  const before = jsonOf(last('voice/satellite/k1/status') ?? { payload: Buffer.from('{}') });
  // What the volume entity publishes for a value past its max (an automation calling number.set_value), and what
  // the notify entity publishes for an empty message.
  let from = await press(cmp(k1, 'volume'), null, 150);
  const err = jsonOf(await col.next((t) => t === 'voice/satellite/k1/error', 5000, from));
  assert.equal(err.code, 'VOICE_BAD_PAYLOAD');
  assert.match(err.message as string, /"volume" must be a whole number from 0 to 100/);
  from = await press(cmp(k1, 'announce'), null, '   ');
  const err2 = jsonOf(await col.next((t) => t === 'voice/satellite/k1/error', 5000, from));
  assert.equal(err2.code, 'VOICE_BAD_PAYLOAD');
  assert.match(err2.message as string, /"text" must be a non-empty string/);
  // The wake threshold entity's template with a value past 1, and a threshold command without one.
  from = await press(cmp(k1, 'wake_threshold'), null, 1.5);
  await col.client.publishAsync('voice/satellite/k1/command', JSON.stringify({ command: 'threshold' }), { qos: 1 });
  for (let i = 0; i < 2; i++) {
    const e = await col.next((t) => t === 'voice/satellite/k1/error', 5000, from);
    from = col.messages.indexOf(e) + 1;
    assert.equal(jsonOf(e).code, 'VOICE_BAD_PAYLOAD');
    assert.match(jsonOf(e).message as string, /"threshold" must be a number between 0 and 1 \(exclusive\)/);
  }
  await new Promise((r) => setTimeout(r, 800));
  const after = col.messages.slice(from);
  assert.ok(!after.some((m) => m.topic === 'voice/satellite/k1/reply'), 'nothing was announced');
  const statuses = col.messages.filter((m) => m.topic === 'voice/satellite/k1/status');
  assert.equal(jsonOf(statuses.at(-1) ?? { payload: Buffer.from('{}') }).volume, before.volume, 'the volume did not change');
  assert.equal(jsonOf(statuses.at(-1) ?? { payload: Buffer.from('{}') }).wakeThreshold, before.wakeThreshold, 'the wake threshold did not change');
  assert.equal(sats.k1.lines.filter((l) => l.includes('wake threshold changed')).length, 1, 'the satellite changed its threshold once (the entity\'s 0.8)');
});

test("Home Assistant's birth message (online on homeassistant/status) re-publishes discovery and states", { timeout: 30_000 }, async () => {
  await discovery(DEV.k2);
  const from = col.messages.length;
  await col.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
  for (const topic of [DEV.hub, DEV.k1, DEV.k2, 'voice/satellite/k1/state', 'voice/satellite/k2/state']) await col.next((t, p) => t === topic && p.length > 0, 5000, from);
  // offline (Home Assistant stopping) publishes nothing.
  const off = col.messages.length;
  await col.client.publishAsync('homeassistant/status', 'offline', { qos: 1 });
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(!col.messages.slice(off).some((m) => m.topic.startsWith('homeassistant/device/')));
});

test('a satellite that dies (its last will) makes its entities unavailable', { timeout: 30_000 }, async () => {
  const k2 = await discovery(DEV.k2);
  const from = col.messages.length;
  sats.k2.child.kill('SIGKILL');
  await sats.k2.waitExit(10000);
  const will = await latest('voice/satellite/k2/status', from);
  const a = (k2.availability as Obj[]).find((x) => x.topic === 'voice/satellite/k2/status');
  assert.ok(a);
  assert.equal(valueOf(a.value_template, will.payload), a.payload_not_available);
  // The hub's own availability still says online: with availability_mode all, the satellite's decides.
  const h = (k2.availability as Obj[]).find((x) => x.topic === 'voice/hub/status');
  assert.equal(valueOf(h?.value_template, (last('voice/hub/status') ?? will).payload), 'online');
});

// ------------------------------------------------------------ the wake threshold, on a satellite of its own

/** openWakeWord's frame (80 ms): the satellite cuts its audio into these from the WAV's first sample. */
const FRAME = 1280;
/** The porch hears "hey jar vis" every PERIOD_FRAMES frames (6 s), the first LEAD_FRAMES frames (3 s) in. */
const LEAD_FRAMES = 38;
const PERIOD_FRAMES = 75;
const PERIOD_MS = (PERIOD_FRAMES * FRAME) / 16;
const PORCH_WAV = path.join(TMP, `ha-porch-${process.pid}.wav`);

/** Each repetition starts on a frame boundary, so the satellite's engine sees the same frames every time: the same scores. */
function porchPcm(reps: number): Buffer {
  const phrase = speak('hey jar vis');
  const rep = () => {
    const b = Buffer.alloc(PERIOD_FRAMES * FRAME * 2);
    phrase.copy(b);
    return b;
  };
  return Buffer.concat([Buffer.alloc(LEAD_FRAMES * FRAME * 2), ...Array.from({ length: reps }, rep)]);
}

/** The best score of each repetition, from openWakeWord run here on the frames the satellite gets. */
async function bestScores(pcm: Buffer, reps: number): Promise<number[]> {
  const e = new OpenWakeWordEngine({ keyword: 'hey_jarvis', threshold: 0.5, threads: 1 });
  await e.start();
  const best = Array.from({ length: reps }, () => 0);
  try {
    for (let k = 0; (k + 1) * FRAME * 2 <= pcm.length && k < LEAD_FRAMES + reps * PERIOD_FRAMES; k++) {
      const frame = new Int16Array(FRAME);
      for (let i = 0; i < FRAME; i++) frame[i] = pcm.readInt16LE((k * FRAME + i) * 2);
      await e.process(frame);
      const r = Math.floor((k - LEAD_FRAMES) / PERIOD_FRAMES);
      if (r >= 0) best[r] = Math.max(best[r], e.lastScore);
    }
  } finally {
    await e.stop();
  }
  return best;
}

/** k4 on the porch: its session ends 1.5 s after a wake word with nothing said (no reply), well before the next. */
const porch = () => sat('k4', 'porch', PORCH_WAV, ['--vad-no-speech-ms', '1500']);
const k4Status = (pred: (o: Obj) => boolean, from: number, ms = 20000) => col.next((t, p) => t === 'voice/satellite/k4/status' && p.length > 0 && pred(jsonOf({ payload: p })), ms, from);
const k4Wakes = (from: number) => col.messages.slice(from).filter((m) => m.topic === 'voice/satellite/k4/wake').map(jsonOf);

test('the wake threshold entity changes a running satellite\'s threshold: a wake word it heard at 0.5 it does not hear at 0.95', { timeout: 90_000 }, async () => {
  const pcm = porchPcm(8);
  const best = await bestScores(pcm, 2);
  assert.ok(best[0] > 0.55 && best[0] < 0.93 && Math.abs(best[0] - best[1]) < 1e-6, `the fixture: each "hey jar vis" scores the same, between 0.5 and 0.95 (${best.join(', ')})`);
  fs.writeFileSync(PORCH_WAV, wavFromPcm(pcm));
  let from = col.messages.length;
  sats.k4 = porch();
  assert.equal(jsonOf(await k4Status((o) => o.state === 'online', from)).wakeThreshold, 0.5, 'it starts at wake.threshold');
  const wake = jsonOf(await col.next((t) => t === 'voice/satellite/k4/wake', 20000, from));
  assert.ok((wake.score as number) >= 0.5 && (wake.score as number) <= best[0] + 1e-6, `heard at 0.5 (score ${String(wake.score)}, best ${best[0]})`);

  const th = cmp(await discovery(DEV.k4), 'wake_threshold');
  from = await press(th, null, 0.95);
  const raised = await k4Status((o) => o.wakeThreshold === 0.95, from, 5000);
  assert.equal(valueOf(th.value_template, raised.payload), '0.95');
  const at = col.messages.indexOf(raised);
  // Two more repetitions, each scoring best[0] < 0.95: no wake.
  await sleep(2 * PERIOD_MS + 1000);
  assert.deepEqual(k4Wakes(at), [], 'no wake at 0.95');
  assert.ok(sats.k4.lines.some((l) => l.includes('wake threshold changed') && l.includes('"threshold":0.95')));
  // The hub keeps it (hub.stateDir/wake-thresholds.json).
  assert.equal((JSON.parse(fs.readFileSync(path.join(hub.config.hub.stateDir, 'wake-thresholds.json'), 'utf8')) as Obj).k4, 0.95);
});

test('a restarted satellite gets its wake threshold back from the hub, and still does not hear that wake word; at 0.5 again it does', { timeout: 90_000 }, async () => {
  await sats.k4.stop();
  const from = col.messages.length;
  sats.k4 = porch();
  const online = await k4Status((o) => o.state === 'online', from);
  assert.equal(jsonOf(online).wakeThreshold, 0.5, 'it starts at wake.threshold again');
  const cmd = await col.next((t) => t === 'voice/satellite/k4/command', 3000, from);
  assert.deepEqual(jsonOf(cmd), { command: 'threshold', threshold: 0.95 });
  assert.ok(cmd.at - online.at < 1000, `the hub sent it ${cmd.at - online.at} ms after the satellite came online`);
  await k4Status((o) => o.wakeThreshold === 0.95, from, 5000);
  // Its first "hey jar vis" comes 3 s into its audio, after the hub set it back: none of two is heard.
  await sleep((LEAD_FRAMES * FRAME) / 16 + 2 * PERIOD_MS);
  assert.deepEqual(k4Wakes(from), [], 'no wake at the restored 0.95');
  // At 0.5 again the same wake word wakes it: what kept it quiet was the threshold.
  const back = await press(cmp(await discovery(DEV.k4), 'wake_threshold'), null, 0.5);
  await k4Status((o) => o.wakeThreshold === 0.5, back, 5000);
  await col.next((t) => t === 'voice/satellite/k4/wake', 2 * PERIOD_MS + 3000, back);
  // Retired: its device goes (the tests below count the devices).
  await sats.k4.stop();
  const retire = col.messages.length;
  await col.client.publishAsync('voice/satellite/k4/status', '', { qos: 1, retain: true });
  await col.next((t, p) => t === DEV.k4 && p.length === 0, 5000, retire);
});

test('a removed satellite (its retained status cleared) loses its device; one that moves gets its new area; a stale device found at start was removed', { timeout: 30_000 }, async () => {
  // The ghost seen during the read-back at start is gone.
  await col.next((t, p) => t === GHOST && p.length === 0, 5000).catch(() => assert.fail(`the ghost device was not removed: ${JSON.stringify(col.messages.filter((m) => m.topic === GHOST).map((m) => [m.at - startedAt, m.payload.length]))}`));
  const from = col.messages.length;
  await col.client.publishAsync('voice/satellite/k2/status', '', { qos: 1, retain: true });
  await col.next((t, p) => t === DEV.k2 && p.length === 0, 5000, from).catch(() => assert.fail(`k2's device was not removed: ${JSON.stringify(col.messages.slice(from).map((m) => [m.topic, m.payload.length]))}`));
  await col.next((t, p) => t === 'voice/satellite/k2/state' && p.length === 0, 5000, from);
  // A satellite that moves (its status names another room: one without an identity's room) is announced again, in its new area.
  const status = (room: string) => JSON.stringify({ state: 'online', protocol: 1, version: '0.1.0', room, capabilities: [], muted: false, volume: 100 });
  await col.client.publishAsync('voice/satellite/k3/status', status('attic'), { qos: 1, retain: true });
  const attic = jsonOf(await col.next((t, p) => t === 'homeassistant/device/voice_satellite_k3/config' && p.length > 0, 5000, from));
  assert.equal((attic.dev as Obj).suggested_area, 'attic');
  const moved = col.messages.length;
  await col.client.publishAsync('voice/satellite/k3/status', status('cellar'), { qos: 1, retain: true });
  const cellar = jsonOf(await col.next((t, p) => t === 'homeassistant/device/voice_satellite_k3/config' && p.length > 0, 5000, moved));
  assert.equal((cellar.dev as Obj).suggested_area, 'cellar');
  await col.client.publishAsync('voice/satellite/k3/status', '', { qos: 1, retain: true });
  await col.next((t, p) => t === 'homeassistant/device/voice_satellite_k3/config' && p.length === 0, 5000, moved);
  const stored = await retained('homeassistant/device/+/config');
  assert.deepEqual([...stored.keys()].sort(), [DEV.hub, DEV.k1]);
  assert.equal(hub.registry.get('k2'), undefined);
});

test('with security on, an automation identity (Home Assistant) may use every topic the entities name', () => {
  const acl = new Acl('voice');
  const ha = { name: 'home-assistant', role: 'automation' as const, secret: 'x' };
  for (const topic of ['voice/satellite/k1/command', 'voice/satellite/k1/announce', 'homeassistant/device/x/config', 'homeassistant/status']) assert.equal(acl.publish(ha, topic), undefined, topic);
  for (const topic of ['voice/hub/status', 'voice/hub/error', 'voice/satellite/k1/status', 'voice/satellite/k1/state', 'voice/satellite/k1/event', 'voice/satellite/k1/transcript', 'voice/satellite/k1/timers', 'homeassistant/device/voice_hub/config']) {
    assert.equal(acl.receive(ha, topic), true, topic);
  }
  // The hub's topics stay the hub's: a satellite may not publish a state or an event.
  const sat = { name: 'k1', role: 'satellite' as const, secret: 'x' };
  assert.ok(acl.publish(sat, 'voice/satellite/k1/state'));
  assert.ok(acl.publish(sat, 'voice/satellite/k1/event'));
  // An external Mosquitto (voice-hub mosquitto export): the hub writes the discovery prefix; automations read states and events.
  const hubRules = aclRules({ name: 'voice-hub', role: 'hub' } as Parameters<typeof aclRules>[0], 'voice', [], 'homeassistant');
  assert.deepEqual(hubRules, ['topic readwrite voice/#', 'topic readwrite homeassistant/#']);
  const auto = aclRules({ name: 'home-assistant', role: 'automation' } as Parameters<typeof aclRules>[0], 'voice', ['homeassistant/#']);
  for (const line of ['topic read voice/satellite/+/state', 'topic read voice/satellite/+/event', 'topic read voice/satellite/+/timers', 'topic write voice/satellite/+/command', 'topic write voice/satellite/+/announce', 'topic readwrite homeassistant/#']) assert.ok(auto.includes(line), line);
});

test("Home Assistant as an automation identity on the hub's broker: reads the retained discovery and states, and its buttons reach the satellite", { timeout: 30_000 }, async () => {
  const secret = new IdentityStore(hub.config.hub.stateDir).open().add('home-assistant', 'automation');
  let ha: mqtt.MqttClient | undefined;
  for (let i = 0; !ha; i++) {
    try {
      ha = await mqtt.connectAsync(hub.brokerUrl, { username: 'home-assistant', password: secret, reconnectPeriod: 0, connectTimeout: 2000 });
    } catch (err) {
      if (i >= 10) throw err; // the broker reads the identity store again within a second
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  const got = new Map<string, Buffer>();
  ha.on('message', (topic, payload) => got.set(topic, payload));
  await ha.subscribeAsync(['homeassistant/#', 'voice/#'], { qos: 1 });
  await new Promise((r) => setTimeout(r, 800));
  const k1 = jsonOf({ payload: got.get(DEV.k1) ?? Buffer.from('{}') });
  assert.deepEqual((k1.dev as Obj).identifiers, ['voice_satellite_k1'], 'the discovery');
  for (const c of Object.values(k1.cmps as Record<string, Obj>)) for (const key of ['state_topic', 'json_attributes_topic']) if (typeof c[key] === 'string' && !['voice/satellite/k1/transcript', 'voice/satellite/k1/event'].includes(c[key])) assert.ok(got.has(c[key]), `${key} ${c[key]} is readable (retained)`);
  for (const a of k1.availability as Obj[]) assert.ok(got.has(a.topic as string), `availability ${String(a.topic)}`);
  const from = col.messages.length;
  await ha.publishAsync(cmp(k1, 'volume').command_topic as string, render(cmp(k1, 'volume').command_template as string, { value: 40 }), { qos: 1 });
  await statusWhere((o) => o.volume === 40, from);
  await ha.endAsync();
});

test('a session that ends after its satellite was removed, or a wake heard after it, brings back neither its retained state nor its device', { timeout: 30_000 }, async () => {
  // k5 is the test client acting as a satellite: a status, a wake and audio start (a session: listening).
  const T = 'voice/satellite/k5';
  const state = 'voice/satellite/k5/state';
  const dev = 'homeassistant/device/voice_satellite_k5/config';
  let from = col.messages.length;
  await col.client.publishAsync(`${T}/status`, JSON.stringify({ state: 'online', protocol: 1, version: '0.1.0', room: 'shed', capabilities: [], muted: false, volume: 100 }), { qos: 1, retain: true });
  await col.next((t, p) => t === dev && p.length > 0, 5000, from);
  const sid = 'k5-late';
  const time = new Date().toISOString();
  await col.client.publishAsync(`${T}/wake`, JSON.stringify({ sessionId: sid, wakeWord: 'hey_jarvis', score: 0.9, time, room: 'shed' }), { qos: 1 });
  await col.client.publishAsync(`${T}/audio/${sid}/start`, JSON.stringify({ sessionId: sid, format: { encoding: 's16le', rate: 16000, channels: 1 }, time }), { qos: 1 });
  await col.next((t, p) => t === state && p.length > 0 && jsonOf({ payload: p }).state === 'listening', 5000, from);
  // Removed while its session is open: device and state cleared.
  from = col.messages.length;
  await col.client.publishAsync(`${T}/status`, '', { qos: 1, retain: true });
  await col.next((t, p) => t === dev && p.length === 0, 5000, from);
  await col.next((t, p) => t === state && p.length === 0, 5000, from);
  // Then its session ends (finalising, the final transcript, closed): state changes the registry hears too late.
  const removed = col.messages.length;
  await col.client.publishAsync(`${T}/audio/${sid}`, silence(500), { qos: 0 });
  await col.client.publishAsync(`${T}/audio/${sid}/stop`, JSON.stringify({ sessionId: sid, reason: 'silence', time }), { qos: 1 });
  await col.next((t, p) => t === `${T}/transcript` && jsonOf({ payload: p }).sessionId === sid, 15000, removed);
  await sleep(500);
  assert.deepEqual(col.messages.slice(removed).filter((m) => m.topic === state).map((m) => m.payload.toString()), [], 'no state published after the removal');
  assert.equal(hub.registry.get('k5'), undefined, 'the registry did not bring it back');
  // A wake after the removal: the registry assumes the satellite again (it was heard), Home Assistant gets nothing.
  const late = 'k5-later';
  await col.client.publishAsync(`${T}/wake`, JSON.stringify({ sessionId: late, wakeWord: 'hey_jarvis', score: 0.9, time, room: 'shed' }), { qos: 1 });
  await col.client.publishAsync(`${T}/audio/${late}/start`, JSON.stringify({ sessionId: late, format: { encoding: 's16le', rate: 16000, channels: 1 }, time }), { qos: 1 });
  await col.client.publishAsync(`${T}/audio/${late}`, silence(500), { qos: 0 });
  await col.client.publishAsync(`${T}/audio/${late}/stop`, JSON.stringify({ sessionId: late, reason: 'silence', time }), { qos: 1 });
  await col.next((t, p) => t === `${T}/transcript` && jsonOf({ payload: p }).sessionId === late, 15000, removed);
  await sleep(500);
  assert.ok(hub.registry.get('k5'), 'heard again: the registry assumes it');
  assert.deepEqual(col.messages.slice(removed).filter((m) => m.topic === state || m.topic === dev).map((m) => `${m.topic} ${m.payload.toString()}`), [], 'no state or device for it');
  assert.ok(!(await retained(state, 500)).get(state)?.payload.length, 'no retained state');
  // Nor does Home Assistant's birth message bring back its device.
  const birth = col.messages.length;
  await col.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
  await col.next((t) => t === DEV.hub, 5000, birth);
  await sleep(300);
  assert.deepEqual(col.messages.slice(birth).filter((m) => m.topic === dev || m.topic === state).map((m) => m.topic), []);
  // Its status again (it was set up anew): its device and its state come back, though the registry already had it online.
  const back = col.messages.length;
  await col.client.publishAsync(`${T}/status`, JSON.stringify({ state: 'online', protocol: 1, version: '0.1.0', room: 'shed', capabilities: [], muted: false, volume: 100 }), { qos: 1, retain: true });
  await col.next((t, p) => t === dev && p.length > 0, 5000, back);
  assert.equal(jsonOf(await col.next((t, p) => t === state && p.length > 0, 5000, back)).state, 'idle');
  await col.client.publishAsync(`${T}/status`, '', { qos: 1, retain: true });
});
