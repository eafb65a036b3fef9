/**
 * Vosk as upstream means it, without a model: the hub's Vosk code runs
 * against a fake libvosk (test/fixtures/fake-libvosk.c, built here with cc)
 * whose results are scripted and whose calls are logged. A libvosk too old
 * to be safe is refused at start with VOICE_STT_LIBRARY_UNSUPPORTED before
 * any model is loaded; the API loads twice in one thread. Through an
 * in-process hub (real aedes, real worker threads): accept_waveform's -1
 * fails the session with a coded error; mid-stream endpoints take
 * vosk_recognizer_result and the final has every segment's timed words;
 * one model serves every STT worker thread and is freed once.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type TestContext, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { VoiceError } from '../common/errors';
import { loadConfig } from '../common/config';
import { type HubConfig, hubSchema } from '../config/hub';
import { Hub } from '../hub/controller';
import { commandModel } from '../hub/intents/command-model';
import { BUILTIN_INTENTS, loadIntents, userIntentFiles } from '../hub/intents/load';
import { defaultVoskLibrary, VoskEngine } from '../hub/stt/vosk';
import { loadVoskApi } from '../hub/stt/vosk-api';
import { buildFakeVosk, FakeVosk, fakeVoskModelDir, resultJson } from './fake-vosk';
import { Collector, jsonOf, runNode, TMP } from './helpers';
import { adminAuth, registerBroker, withStateDir } from './credentials';

test('a libvosk older than 0.3.37 is refused with VOICE_STT_LIBRARY_UNSUPPORTED before any model is loaded', () => {
  const fake = new FakeVosk('old-engine');
  fake.use();
  const engine = new VoskEngine({ model: fakeVoskModelDir(), library: buildFakeVosk({ old: true }) });
  assert.throws(
    () => engine.load(),
    (e: unknown) => e instanceof VoiceError && e.code === 'VOICE_STT_LIBRARY_UNSUPPORTED' && /older than 0\.3\.37/.test(e.message) && /vosk_recognizer_set_partial_words/.test(e.message),
  );
  assert.equal(fake.calls('vosk_model_new'), 0, 'the model is never touched');
});

test('a hub told to use an old libvosk exits 78 with VOICE_STT_LIBRARY_UNSUPPORTED instead of aborting on a bad model', async () => {
  const fake = new FakeVosk('old-hub');
  // The old fake aborts the process in vosk_model_new on a bad model, as libvosk before 0.3.32 does.
  fake.setScript(['model_null 1']);
  const hub = runNode('hub/main.js', ['--broker-port', '0', '--stt-engine', 'vosk', '--stt-workers', '2', '--stt-vosk-library', buildFakeVosk({ old: true }), '--stt-vosk-model', fakeVoskModelDir()], fake.env);
  const code = await hub.waitExit();
  assert.equal(code, 78, hub.lines.join('\n'));
  assert.ok(hub.lines.some((l) => l.includes('VOICE_STT_LIBRARY_UNSUPPORTED') && l.includes('0.3.37')), hub.lines.join('\n'));
  assert.deepEqual(fake.lines().filter((l) => /^(vosk_model_new|abort)/.test(l)), [], 'no model was loaded');
});

test('the Vosk API loads twice in one thread (koffi types are declared once per thread)', () => {
  const fake = new FakeVosk('twice');
  fake.use();
  const library = buildFakeVosk();
  const model = fakeVoskModelDir();
  loadVoskApi(library);
  loadVoskApi(library);
  // Two engines in one thread, as a test file or a fallback in one process makes them.
  const a = new VoskEngine({ model, library });
  const b = new VoskEngine({ model, library });
  a.load();
  b.load();
  a.createRecognizer().free();
  b.createRecognizer().free();
  a.unload();
  b.unload();
  assert.equal(fake.calls('vosk_model_new'), 2);
  assert.equal(fake.calls('model_deleted'), 2);
});

test('the libvosk that scripts/install-libvosk.sh installs (0.3.39) passes the version check', { skip: fs.existsSync(defaultVoskLibrary()) ? false : `libvosk not installed at ${defaultVoskLibrary()}` }, () => {
  const api = loadVoskApi('');
  assert.equal(typeof api.vosk_recognizer_set_partial_words, 'function');
  assert.equal(typeof api.vosk_recognizer_result, 'function');
});

/** An in-process hub on the fake libvosk (real aedes on port 0), and a raw MQTT client acting as satellites. */
async function vosk(t: TestContext, fake: FakeVosk, args: string[] = []): Promise<{ hub: Hub; col: Collector; sat: MqttClient; stopHub: () => Promise<void> }> {
  fake.use();
  const argv = ['--broker-port', '0', '--broker-host', '127.0.0.1', '--reply-enabled', 'false', '--stt-engine', 'vosk', '--stt-vosk-library', buildFakeVosk(), '--stt-vosk-model', fakeVoskModelDir(), ...args];
  if (!argv.includes('--stt-workers')) argv.push('--stt-workers', '1');
  const { args: withState, dir } = withStateDir(argv, TMP);
  const { config } = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: withState, env: {} });
  const hub = new Hub({ config, log: pino({ level: process.env.TEST_LOG ?? 'silent' }) });
  await hub.start();
  if (hub.broker) registerBroker(hub.broker.port, dir);
  let stopped: Promise<void> | undefined;
  const stopHub = () => (stopped ??= hub.stop());
  t.after(stopHub);
  const col = await Collector.create(hub.brokerUrl, ['voice/satellite/+/error', 'voice/satellite/+/transcript', 'voice/satellite/+/transcript/partial']);
  t.after(() => col.end());
  const sat = await mqtt.connectAsync(hub.brokerUrl, adminAuth(hub.brokerUrl));
  t.after(() => sat.endAsync());
  return { hub, col, sat, stopHub };
}

/** Wake and audio start (no wakeMs: nothing is trimmed, the decode never restarts), then `frames` 100 ms frames. */
async function session(sat: MqttClient, name: string, frames: number, sid = randomUUID()): Promise<string> {
  const time = new Date().toISOString();
  await sat.publishAsync(`voice/satellite/${name}/wake`, JSON.stringify({ sessionId: sid, wakeWord: 'hey_jarvis', score: 0.9, time, room: name }), { qos: 1 });
  await sat.publishAsync(`voice/satellite/${name}/audio/${sid}/start`, JSON.stringify({ sessionId: sid, format: { encoding: 's16le', rate: 16000, channels: 1 }, time }), { qos: 1 });
  await more(sat, name, sid, frames);
  return sid;
}

async function more(sat: MqttClient, name: string, sid: string, frames: number): Promise<void> {
  for (let i = 0; i < frames; i++) await sat.publishAsync(`voice/satellite/${name}/audio/${sid}`, Buffer.alloc(3200), { qos: 0 });
}

async function stop(sat: MqttClient, name: string, sid: string): Promise<void> {
  await sat.publishAsync(`voice/satellite/${name}/audio/${sid}/stop`, JSON.stringify({ sessionId: sid, reason: 'silence', time: new Date().toISOString() }), { qos: 1 });
}

const about = (sid: string, topic: string) => (tp: string, p: Buffer) => tp === topic && jsonOf({ payload: p }).sessionId === sid;

test('vosk_recognizer_accept_waveform returning -1 fails the session with VOICE_STT_FAILED; the hub and the next session carry on', async (t) => {
  const fake = new FakeVosk('minus-one');
  fake.setScript(['fail_at 3', 'final {"text": "never published"}']);
  const { hub, col, sat } = await vosk(t, fake);
  const s1 = await session(sat, 'porch', 5);
  const err = jsonOf(await col.next(about(s1, 'voice/satellite/porch/error'), 10000));
  assert.equal(err.code, 'VOICE_STT_FAILED');
  assert.match(String(err.message), /returned -1/);
  await stop(sat, 'porch', s1);
  assert.equal(hub.sessions?.liveCount, 0, 'the session was ended');
  assert.deepEqual(await hub.stt?.workerRecognizers(), [0], 'its recognizer was freed');
  assert.equal(fake.calls('vosk_recognizer_final_result'), 0, 'no final was asked of the failed recognizer');
  // The next session on the same hub and worker transcribes.
  fake.setScript([`final ${resultJson([{ word: 'lights', start: 0.2, end: 0.6 }, { word: 'on', start: 0.6, end: 0.8 }])}`]);
  const s2 = await session(sat, 'porch', 5);
  await stop(sat, 'porch', s2);
  const fin = jsonOf(await col.next(about(s2, 'voice/satellite/porch/transcript'), 10000));
  assert.equal(fin.text, 'lights on');
  assert.equal(col.messages.some((m) => m.topic === 'voice/satellite/porch/transcript' && m.payload.toString().includes(s1)), false, 'no transcript for the failed session');
});

test('mid-stream endpoints take vosk_recognizer_result, final_result only ends the session; the final has every segment\'s words, timed from the session\'s first sample', async (t) => {
  const fake = new FakeVosk('endpoints');
  const seg1 = [{ word: 'turn', start: 0.3, end: 0.55 }, { word: 'on', start: 0.55, end: 0.7 }];
  const seg2 = [{ word: 'the', start: 1.9, end: 2.0 }, { word: 'kitchen', start: 2.0, end: 2.45 }];
  const seg3 = [{ word: 'light', start: 3.1, end: 3.5 }];
  // libvosk endpoints after the 8th and the 16th 100 ms frame; what follows the last endpoint comes with the final.
  fake.setScript(['endpoint_at 8', 'endpoint_at 16', `result ${resultJson(seg1)}`, `result ${resultJson(seg2)}`, `final ${resultJson(seg3)}`]);
  // The hub does not finalise on the engine's endpoint here: the session goes on across them.
  const { col, sat } = await vosk(t, fake, ['--session-endpoint', 'false', '--session-partial-interval-ms', '1']);
  const sid = await session(sat, 'study', 20);
  await stop(sat, 'study', sid);
  const fin = jsonOf(await col.next(about(sid, 'voice/satellite/study/transcript'), 10000));
  assert.equal(fin.text, 'turn on the kitchen light');
  assert.deepEqual(fin.words, [...seg1, ...seg2, ...seg3].map((w) => ({ word: w.word, startMs: Math.round(w.start * 1000), endMs: Math.round(w.end * 1000) })));
  assert.equal(fin.confidence, 1);
  assert.equal(fake.calls('vosk_recognizer_result'), 2, 'one result per endpoint');
  assert.equal(fake.calls('vosk_recognizer_final_result'), 1, 'final_result once, at the end');
  // The partials grew across the endpoints: the first segment's words stayed in them.
  const partials = col.json((tp) => tp === 'voice/satellite/study/transcript/partial').filter((p) => p.sessionId === sid).map((p) => p.text);
  assert.ok(partials.includes('turn on the kitchen'), JSON.stringify(partials));
});

test('one model for every STT worker: vosk_model_new once for 3 workers and a replacement, freed once after the last recognizer', async (t) => {
  const fake = new FakeVosk('shared');
  fake.setScript([`final ${resultJson([{ word: 'okay', start: 0.1, end: 0.4 }])}`]);
  const { hub, col, sat, stopHub } = await vosk(t, fake, ['--stt-workers', '3']);
  const pool = hub.stt;
  assert.ok(pool);
  assert.equal(pool.workers, 3);
  assert.equal(fake.calls('vosk_model_new'), 1, 'the model is loaded once for three workers');
  const model = fake.lines().find((l) => l.startsWith('model '))?.split(' ')[1];
  assert.ok(model);
  /** Three satellites at once: the least-loaded pick puts one session on each worker. */
  const round = async (from: number) => {
    const rooms = ['attic', 'cellar', 'garden'];
    const sids = await Promise.all(rooms.map((r) => session(sat, r, 3)));
    const end = Date.now() + 10000;
    while (hub.sessions?.liveCount !== 3) {
      assert.ok(Date.now() < end, `${hub.sessions?.liveCount} sessions open`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(await pool.workerRecognizers(), [1, 1, 1], 'a recognizer on each worker');
    await Promise.all(rooms.map((r, i) => stop(sat, r, sids[i])));
    for (const [i, r] of rooms.entries()) assert.equal(jsonOf(await col.next(about(sids[i], `voice/satellite/${r}/transcript`), 10000, from)).text, 'okay');
  };
  await round(0);
  const created = () => fake.lines().filter((l) => l.startsWith('vosk_recognizer_new'));
  assert.equal(created().length, 3);
  assert.ok(created().every((l) => l.includes(`model=${model}`)), created().join('\n'));
  assert.equal(new Set(created().map((l) => /tid=(\d+)/.exec(l)?.[1])).size, 3, 'from three threads');
  // A worker that dies is replaced by one that takes the same model, not a new one.
  const [old] = (await pool.workerStats()).threads;
  await pool.terminateWorker(0);
  const end = Date.now() + 10000;
  for (;;) {
    const { threads } = await pool.workerStats();
    if (threads.length === 3 && !threads.includes(old)) break;
    assert.ok(Date.now() < end, `STT pool not refilled: ${JSON.stringify(threads)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await round(col.messages.length);
  assert.equal(fake.calls('vosk_model_new'), 1, 'the replacement worker loaded no model');
  assert.equal(created().length, 6);
  assert.ok(created().every((l) => l.includes(`model=${model}`)), created().join('\n'));
  assert.equal(fake.calls('bad_model'), 0);
  assert.equal(fake.calls('vosk_model_free'), 0, 'the model lives while the pool does');
  await stopHub();
  assert.equal(fake.calls('vosk_model_free'), 1, 'freed once when the pool stops');
  const lines = fake.lines();
  assert.equal(lines.filter((l) => l.startsWith('model_deleted')).length, 1);
  assert.ok(lines.findIndex((l) => l.startsWith('model_deleted')) > lines.lastIndexOf('vosk_recognizer_free'), 'after every recognizer was freed');
});

/** A command model made from one small intent file, as the hub makes it (hub/intents/command-model.ts). */
function commandsFor(name: string): { lm: string; grammar: string } {
  const dir = path.join(TMP, `${name}-intents`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'home.yaml'), 'intents:\n  KettleOn:\n    data:\n      - sentences: ["boil the kettle", "(start|stop) the fan"]\n');
  const m = commandModel(loadIntents([BUILTIN_INTENTS, ...userIntentFiles(dir)]), path.join(TMP, `${name}-state`));
  return { lm: m.lm, grammar: m.grammar };
}

/** A Vosk engine on the fake, loaded, with the command model `commands`; what it tells the hub's log goes to `notes`. */
function grammarEngine(model: string, commands: { lm: string; grammar: string }, notes: string[]): VoskEngine {
  const engine = new VoskEngine({ model, library: buildFakeVosk() }, undefined, commands, (level, msg) => notes.push(`${level} ${msg}`));
  engine.load();
  return engine;
}

const pcm = new Int16Array(1600);
const ours = (words: { word: string; start: number; end: number }[]) => words.map((w) => ({ word: w.word, startMs: Math.round(w.start * 1000), endMs: Math.round(w.end * 1000) }));
const partialJson = (words: { word: string; start: number; end: number }[]) => JSON.stringify({ partial: words.map((w) => w.word).join(' '), partial_result: words });

test('a model with a runtime graph: a grammar recognizer on the templates\' phrases decodes the same audio, and its timed words are the partials\' and the final\'s commands', () => {
  const fake = new FakeVosk('grammar');
  fake.use();
  const commands = commandsFor('grammar');
  const heard = [{ word: 'boil', start: 0.3, end: 0.5 }, { word: 'the', start: 0.5, end: 0.6 }, { word: 'cattle', start: 0.6, end: 1.0 }];
  const cmd = [{ word: 'boil', start: 0.3, end: 0.5 }, { word: 'the', start: 0.5, end: 0.6 }, { word: 'kettle', start: 0.6, end: 1.0 }];
  const later = [{ word: '[unk]', start: 1.8, end: 2.1 }];
  fake.setScript([
    `partial ${partialJson(heard.slice(0, 2))}`,
    `final ${resultJson(heard)}`,
    `grm_partial ${partialJson(cmd.slice(0, 2))}`,
    // The grammar recognizer endpoints on its own (after the 2nd chunk); what it said then stays in its words.
    'grm_endpoint_at 2',
    `grm_result ${resultJson(cmd)}`,
    `grm_final ${resultJson(later)}`,
  ]);
  const notes: string[] = [];
  const engine = grammarEngine(fakeVoskModelDir('fake-vosk-small', 'runtime'), commands, notes);
  const rec = engine.createRecognizer();
  const first = rec.accept(pcm);
  assert.equal(first.partial, 'boil the');
  assert.deepEqual(first.commands, ours(cmd.slice(0, 2)));
  const second = rec.accept(pcm);
  assert.equal(second.endpoint, false, 'the general recognizer\'s endpoint, not the grammar\'s');
  assert.deepEqual(second.commands, ours(cmd));
  assert.deepEqual(rec.accept(pcm).commands, [...ours(cmd), ...ours(cmd.slice(0, 2))], 'committed words stay before the next partial');
  const fin = rec.final();
  assert.equal(fin.text, 'boil the cattle');
  assert.deepEqual(fin.commands, [...ours(cmd), ...ours(later)]);
  // What libvosk was given: the grammar file, with the templates' phrases and [unk].
  const made = fake.lines().filter((l) => l.startsWith('vosk_recognizer_new_grm '));
  assert.equal(made.length, 1);
  const given = JSON.parse(fake.grammar()) as string[];
  assert.deepEqual(given, JSON.parse(fs.readFileSync(commands.grammar, 'utf8')));
  for (const p of ['boil the kettle', 'start the fan', 'stop the fan', '[unk]']) assert.ok(given.includes(p), `${p} in ${JSON.stringify(given)}`);
  assert.match(made[0], /rate=16000/);
  assert.equal(fake.calls('vosk_recognizer_final_result grm'), 1);
  rec.free();
  engine.unload();
  assert.ok(fake.lines().includes('vosk_recognizer_free grm'), 'the grammar recognizer is freed with the session');
  assert.equal(fake.calls('model_deleted'), 1, 'no recognizer holds the model after unload');
  assert.deepEqual(notes, []);
});

test('a model with a static graph (HCLG.fst): no grammar recognizer is made, the command model is not used, said once', () => {
  const fake = new FakeVosk('grammar-static');
  fake.use();
  fake.setScript([`final ${resultJson([{ word: 'hello', start: 0.1, end: 0.4 }])}`]);
  const notes: string[] = [];
  const engine = grammarEngine(fakeVoskModelDir('fake-vosk-big', 'static'), commandsFor('grammar-static'), notes);
  for (let i = 0; i < 2; i++) {
    const rec = engine.createRecognizer();
    assert.equal(rec.accept(pcm).commands, undefined);
    const fin = rec.final();
    assert.equal(fin.text, 'hello');
    assert.equal(fin.commands, undefined);
    rec.free();
  }
  engine.unload();
  assert.equal(fake.calls('vosk_recognizer_new_grm'), 0);
  assert.equal(notes.length, 1, notes.join('\n'));
  assert.match(notes[0], /^info the command model is not used with this Vosk model: its graph is static \(HCLG\.fst\)/);
});

test('vosk_recognizer_new_grm returning NULL: sessions decode with the general recognizer alone, no throw, one warning, no second try', () => {
  const fake = new FakeVosk('grammar-null');
  fake.use();
  fake.setScript(['grm_null 1', `final ${resultJson([{ word: 'boil', start: 0.3, end: 0.5 }, { word: 'the', start: 0.5, end: 0.6 }, { word: 'kettle', start: 0.6, end: 1.0 }])}`]);
  const notes: string[] = [];
  const engine = grammarEngine(fakeVoskModelDir('fake-vosk-small', 'runtime'), commandsFor('grammar-null'), notes);
  for (let i = 0; i < 2; i++) {
    const rec = engine.createRecognizer();
    assert.equal(rec.accept(pcm).commands, undefined);
    const fin = rec.final();
    assert.equal(fin.text, 'boil the kettle');
    assert.equal(fin.commands, undefined);
    rec.free();
  }
  engine.unload();
  assert.equal(fake.calls('vosk_recognizer_new_grm'), 1, 'the grammar is not tried again in this engine');
  assert.deepEqual(notes, ['warn vosk_recognizer_new_grm failed (it returned NULL): the command model is not used, sessions decode with the general model alone']);
  assert.equal(fake.calls('model_deleted'), 1);
});

test('the grammar recognizer failing mid-session (accept_waveform -1) is freed; the session goes on with the general recognizer', () => {
  const fake = new FakeVosk('grammar-fail');
  fake.use();
  fake.setScript(['grm_fail_at 2', `grm_partial ${partialJson([{ word: 'boil', start: 0.3, end: 0.5 }])}`, `final ${resultJson([{ word: 'okay', start: 0.1, end: 0.4 }])}`]);
  const notes: string[] = [];
  const engine = grammarEngine(fakeVoskModelDir('fake-vosk-small', 'runtime'), commandsFor('grammar-fail'), notes);
  const rec = engine.createRecognizer();
  assert.deepEqual(rec.accept(pcm).commands, [{ word: 'boil', startMs: 300, endMs: 500 }]);
  assert.equal(rec.accept(pcm).commands, undefined);
  assert.ok(fake.lines().includes('vosk_recognizer_free grm'), 'freed when it failed');
  const fin = rec.final();
  assert.equal(fin.text, 'okay');
  assert.equal(fin.commands, undefined);
  rec.free();
  engine.unload();
  assert.equal(notes.length, 1, notes.join('\n'));
  assert.match(notes[0], /^warn the grammar recognizer failed while decoding/);
  assert.equal(fake.calls('model_deleted'), 1);
});

test('through the hub: the controller hands the command model\'s grammar to Vosk, and the grammar recognizer\'s command is the transcript', async (t) => {
  const fake = new FakeVosk('grammar-hub');
  const dir = path.join(TMP, 'grammar-hub-intents');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'home.yaml'), 'intents:\n  KettleOn:\n    data:\n      - sentences: ["boil the kettle"]\n');
  const heard = [{ word: 'boil', start: 0.3, end: 0.5 }, { word: 'the', start: 0.5, end: 0.6 }, { word: 'cattle', start: 0.6, end: 1.0 }];
  const cmd = [{ word: 'boil', start: 0.3, end: 0.5 }, { word: 'the', start: 0.5, end: 0.6 }, { word: 'kettle', start: 0.6, end: 1.0 }];
  fake.setScript([`final ${resultJson(heard)}`, `grm_final ${resultJson(cmd)}`]);
  const { col, sat } = await vosk(t, fake, ['--stt-vosk-model', fakeVoskModelDir('fake-vosk-small', 'runtime'), '--intents-enabled', 'true', '--intents-dir', dir, '--intents-end-of-command-ms', '0']);
  const sid = await session(sat, 'pantry', 5);
  await stop(sat, 'pantry', sid);
  const fin = jsonOf(await col.next(about(sid, 'voice/satellite/pantry/transcript'), 10000));
  assert.equal(fin.text, 'boil the kettle');
  assert.equal(fin.decoder, 'commands');
  assert.equal(fake.calls('vosk_recognizer_new_grm'), 1, fake.lines().join('\n'));
  assert.ok((JSON.parse(fake.grammar()) as string[]).includes('boil the kettle'), 'the grammar has the user\'s template');
});
