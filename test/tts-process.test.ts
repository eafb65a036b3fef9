/**
 * The TTS process (issue 16): text-to-speech runs in a process of its own
 * (hub/tts/host.ts), so killing it in the middle of an announcement fails
 * only that announcement with VOICE_ENGINE_CRASHED; the hub and its embedded
 * broker stay up, a new process takes over, the hub status counts the
 * restart, and the next announcement is spoken. Real parts: the hub in this
 * process on a real aedes broker, flite in the TTS process, SIGKILL.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ttsTempDir } from '../hub/tts/messages';
import { Collector, jsonOf, ROOT, withTimeout } from './helpers';
import { startHub } from './hub-helpers';

const HEAVY = path.join(ROOT, 'test', 'fixtures', 'heavy-piper.onnx');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SAT = 'voice/satellite/tp';

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

/** Polls `f` every 50 ms until it returns something defined, for at most `ms`. */
async function until<T>(f: () => T | undefined, ms: number, what: string): Promise<T> {
  return withTimeout(
    (async () => {
      for (;;) {
        const v = f();
        if (v !== undefined) return v;
        await sleep(50);
      }
    })(),
    ms,
    what,
  );
}

/** 16 sentences, about 1,800 characters (an announcement holds at most 2,000): about 2 minutes of speech. */
const LONG = Array.from({ length: 16 }, (_, i) => `This is sentence number ${i + 1} of a long announcement about the garden, the kitchen and the weather this afternoon.`).join(' ');

test('killing the TTS process mid-announcement fails that announcement with VOICE_ENGINE_CRASHED; the hub and broker stay up, a new process speaks the next one', async (t) => {
  const hub = await startHub(['--tts-engine', 'flite', '--hub-status-interval-s', '1']);
  t.after(() => hub.stop());
  const col = await Collector.create(hub.brokerUrl, [`${SAT}/#`, 'voice/hub/#']);
  t.after(() => col.end());
  let disconnects = 0;
  col.client.on('close', () => disconnects++);
  await col.client.publishAsync(`${SAT}/status`, JSON.stringify({ state: 'online', protocol: 1, room: 'den' }), { qos: 1 });
  await sleep(100);

  const firstPid = hub.tts?.pid;
  assert.ok(firstPid !== undefined && firstPid !== process.pid, `the TTS engine runs in a process of its own (pid ${firstPid}, hub ${process.pid})`);
  const first = jsonOf(await col.next((tp) => tp === 'voice/hub/status', 5000));
  assert.equal((first.tts as Record<string, unknown>).restarts, 0);

  await col.client.publishAsync(`${SAT}/announce`, LONG, { qos: 1 });
  const start = jsonOf(await col.next((tp) => /\/tts\/[^/]+\/start$/.test(tp), 10000));
  const sid = start.sessionId as string;
  const audioTopic = `${SAT}/tts/${sid}`;
  await col.next((tp) => tp === audioTopic, 10000);
  process.kill(firstPid, 'SIGKILL');

  // The announcement fails with the crash code on the satellite's error topic, and its stream is closed.
  const err = jsonOf(await col.next((tp, p) => tp === `${SAT}/error` && jsonOf({ payload: p }).code === 'VOICE_ENGINE_CRASHED', 10000));
  assert.equal(err.sessionId, sid);
  assert.match(err.message as string, /tts engine process died \(signal SIGKILL\)/);
  const stop = jsonOf(await col.next((tp) => tp === `${SAT}/tts/${sid}/stop`, 10000));
  assert.equal(stop.sessionId, sid);
  const reply = jsonOf(await col.next((tp) => tp === `${SAT}/reply`, 10000));
  assert.equal(reply.text, LONG, 'the text is still published');
  // The killed process's flite may still be running: its temporary directory is gone, so it leaves no file behind.
  assert.equal(fs.existsSync(ttsTempDir(firstPid)), false, 'the dead process\'s temporary directory was removed');
  const spoken = col.messages.filter((m) => m.topic === audioTopic).reduce((n, m) => n + m.payload.length, 0);
  assert.ok(spoken < 16000 * 2 * 60, `the announcement was cut short (${spoken} bytes of audio)`);

  // A new process takes over and the retained status counts the restart.
  const secondPid = await until(() => {
    const pid = hub.tts?.pid;
    return pid !== undefined && pid !== firstPid ? pid : undefined;
  }, 10000, 'a new TTS process');
  assert.notEqual(secondPid, process.pid);
  const from = col.messages.length;
  const status = jsonOf(await col.next((tp, p) => tp === 'voice/hub/status' && (jsonOf({ payload: p }).tts as Record<string, unknown>).restarts === 1, 5000, from));
  assert.equal((status.tts as Record<string, unknown>).engine, 'flite');

  // The next announcement is synthesized by the new process and streamed.
  const mark = col.messages.length;
  await col.client.publishAsync(`${SAT}/announce`, 'The light is on. Good night.', { qos: 1 });
  const start2 = jsonOf(await col.next((tp) => /\/tts\/[^/]+\/start$/.test(tp), 10000, mark));
  const sid2 = start2.sessionId as string;
  const stop2 = jsonOf(await col.next((tp) => tp === `${SAT}/tts/${sid2}/stop`, 10000, mark));
  assert.equal(stop2.reason, 'done');
  const audio2 = col.messages.slice(mark).filter((m) => m.topic === `${SAT}/tts/${sid2}`).reduce((n, m) => n + m.payload.length, 0);
  assert.ok(audio2 > 16000 * 2 * 0.5, `the next announcement was spoken (${audio2} bytes)`);
  assert.equal(col.messages.slice(mark).filter((m) => m.topic === `${SAT}/error`).length, 0, 'no error for the next announcement');

  assert.equal(hub.tts?.pid, secondPid);
  assert.equal(hub.tts?.restarts, 1);
  const live = ttsTempDir(secondPid);
  assert.ok(fs.existsSync(live), 'the new process has its own temporary directory');
  await new Promise((r) => setTimeout(r, 2000)); // any flite of the killed process has finished by now
  assert.deepEqual(fs.readdirSync(live), [], 'flite files are removed after each sentence');
  assert.equal(fs.existsSync(ttsTempDir(firstPid)), false);
  assert.equal(disconnects, 0, "the test's MQTT client was never disconnected: the broker stayed up");
  assert.ok(col.client.connected);
});

test('while the TTS process restarts, a sentence fails at once with VOICE_ENGINE_CRASHED', async (t) => {
  const hub = await startHub(['--tts-engine', 'flite']);
  t.after(() => hub.stop());
  const tts = hub.tts;
  assert.ok(tts?.pid);
  const exited = new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (tts.pid === undefined) {
        clearInterval(poll);
        resolve();
      }
    }, 1);
  });
  process.kill(tts.pid, 'SIGKILL');
  await withTimeout(exited, 5000, 'the TTS process to be seen dead');
  const t0 = performance.now();
  const refused = (async () => {
    for await (const chunk of tts.synthesize('Hello there.', new AbortController().signal)) assert.fail(`no audio while the process restarts (got ${chunk.length} bytes)`);
  })();
  await assert.rejects(withTimeout(refused, 5000, 'synthesize to fail'), (e: unknown) => (e as { code?: string }).code === 'VOICE_ENGINE_CRASHED');
  assert.ok(performance.now() - t0 < 100, 'refused at once, not after a wait');
  await until(() => tts.pid, 10000, 'the replacement process');
  let bytes = 0;
  for await (const c of tts.synthesize('Hello there.', new AbortController().signal)) bytes += c.length;
  assert.ok(bytes > 0, 'the replacement speaks');
});

test('an aborted text stops being synthesized in the TTS process, and the next sentence is spoken at once', async (t) => {
  // The heavy fixture voice: each sentence costs ~0.3 s of inference on one core, and the process runs one at a time.
  const hub = await startHub(['--tts-engine', 'piper', '--tts-piper-voice', HEAVY]);
  t.after(() => hub.stop());
  const tts = hub.tts;
  assert.ok(tts);
  const long = Array.from({ length: 12 }, (_, i) => `Sentence ${i + 1} of a long reply tells you about the weather, the garden and the lights in the hall.`).join(' ');
  const ctl = new AbortController();
  let chunks = 0;
  for await (const chunk of tts.synthesize(long, ctl.signal)) {
    chunks += chunk.length > 0 ? 1 : 0;
    ctl.abort();
  }
  assert.equal(chunks, 1, 'nothing after the abort');
  assert.equal(tts.inFlight, 0, 'the aborted sentence is forgotten');
  // The next sentence is spoken at once, and then the process is idle: it did not go on with the other 11
  // sentences (3 s or more of inference on one core).
  const t0 = performance.now();
  let bytes = 0;
  for await (const c of tts.synthesize('Still here.', new AbortController().signal)) bytes += c.length;
  const ms = performance.now() - t0;
  assert.ok(bytes > 0);
  assert.ok(tts.pid);
  const cpu0 = cpuSeconds(tts.pid);
  await sleep(1500);
  const cpu = cpuSeconds(tts.pid) - cpu0;
  t.diagnostic(`the next sentence took ${ms.toFixed(0)} ms; then the process used ${cpu.toFixed(2)} CPU-s in 1.5 s`);
  assert.ok(cpu < 0.3, `the TTS process used ${cpu.toFixed(2)} CPU-s in the 1.5 s after: it went on with the aborted text`);
});
