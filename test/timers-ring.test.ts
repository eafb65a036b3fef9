/**
 * A timer rings on the satellite that started it (issue 12), with real
 * satellite processes: one in the kitchen says "hey jarvis, set a timer for
 * three seconds" over its room's noise; another, in the bedroom, hears only
 * its room. When the timer ends, the kitchen satellite plays the alarm and
 * the bedroom one plays nothing; the satellite's stop command ends the
 * ringing at its sink (the file sink's own record of when playback ended)
 * within 200 ms, and the hub stops sending it.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { readWav, wavFromPcm } from '../common/wav';
import type { Hub } from '../hub/controller';
import { Collector, jsonOf, runNode, TMP, wakeCommandWav } from './helpers';
import { startHub } from './hub-helpers';
import { userIntentsDir } from './intents-corpus';
import { noisy, zeros } from './speech-fixtures';

let hub: Hub;
let col: Collector;
const dirs = { k1: path.join(TMP, `ring-play-k1-${process.pid}`), b1: path.join(TMP, `ring-play-b1-${process.pid}`) };

before(async () => {
  hub = await startHub(['--intents-enabled', 'true', '--intents-dir', userIntentsDir(TMP), '--llm-host', 'http://127.0.0.1:9', '--timers-ring-limit-s', '30']);
  col = await Collector.create(hub.brokerUrl, ['voice/#']);
});
after(async () => {
  await col?.end();
  await hub?.stop();
});

test('a 3 s timer rings on its satellite and not on another; stop ends the ringing at the sink within 200 ms', { timeout: 120_000 }, async () => {
  for (const d of Object.values(dirs)) fs.rmSync(d, { recursive: true, force: true });
  const kitchen = wakeCommandWav('set a timer for three seconds', { name: 'ring-kitchen' });
  const quiet = path.join(TMP, 'ring-bedroom.wav');
  fs.writeFileSync(quiet, wavFromPcm(noisy(zeros(6000))));
  const sat = (id: 'k1' | 'b1', room: string, wav: string) =>
    runNode('satellite/main.js', ['--mqtt-url', hub.brokerUrl, '--satellite-id', id, '--satellite-room', room, '--audio-source', 'wav', '--audio-wav', wav, '--playback-sink', 'file', '--playback-dir', dirs[id]]);
  const sats = [sat('k1', 'kitchen', kitchen), sat('b1', 'bedroom', quiet)];
  try {
    const set = jsonOf(await col.next((t, p) => t === 'voice/satellite/k1/reply' && jsonOf({ payload: p }).source === 'intent', 30000));
    assert.equal(set.text, 'Timer set for 3 seconds.');
    const finished = jsonOf(await col.next((t, p) => t === 'voice/satellite/k1/timer' && jsonOf({ payload: p }).event === 'finished', 10000));
    assert.equal((finished.timer as Record<string, unknown>).totalS, 3);
    const ringing = jsonOf(await col.next((t, p) => t === 'voice/satellite/k1/reply' && jsonOf({ payload: p }).source === 'timer', 5000));
    assert.equal(ringing.text, 'Your 3 second timer is done.');
    const stream = ringing.sessionId as string;
    // Let it ring a while (past the spoken name, into the repeats), then stop it as an automation or a button would.
    await new Promise((r) => setTimeout(r, 4000));
    const stopAt = Date.now();
    await col.client.publishAsync('voice/satellite/k1/command', JSON.stringify({ command: 'stop' }), { qos: 1 });
    const played = jsonOf(await col.next((t, p) => t === 'voice/satellite/k1/played' && jsonOf({ payload: p }).sessionId === stream, 5000));
    assert.equal(played.reason, 'stopped');
    const sink = JSON.parse(fs.readFileSync(path.join(dirs.k1, `${stream}.json`), 'utf8')) as { startedAt: number; endedAt: number; how: string };
    assert.equal(sink.how, 'stopped');
    assert.ok(sink.endedAt - stopAt >= 0 && sink.endedAt - stopAt <= 200, `the sink stopped ${sink.endedAt - stopAt} ms after the stop command`);
    assert.ok(sink.endedAt - sink.startedAt >= 3000, 'it had been ringing');
    const stopMsg = await col.next((t) => t === `voice/satellite/k1/tts/${stream}/stop`, 3000);
    assert.equal(jsonOf(stopMsg).reason, 'aborted', 'the hub stopped sending the alarm');
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(col.messages.filter((m) => m.topic === `voice/satellite/k1/tts/${stream}` && m.at > stopMsg.at).length, 0, 'no alarm after its stop');
    // What the kitchen heard starts with the alarm: three loud beeps in the first 700 ms.
    const wav = readWav(path.join(dirs.k1, `${stream}.wav`));
    const level = (fromMs: number, toMs: number) => {
      let sum = 0;
      const a = Math.round((fromMs * wav.rate) / 1000);
      const b = Math.round((toMs * wav.rate) / 1000);
      for (let i = a; i < b; i++) sum += wav.data.readInt16LE(i * 2) ** 2;
      return Math.sqrt(sum / (b - a));
    };
    for (const at of [10, 260, 510]) assert.ok(level(at, at + 130) > 5000, `a beep at ${at} ms`);
    // The bedroom satellite played nothing at all.
    const bedroom = fs.existsSync(dirs.b1) ? fs.readdirSync(dirs.b1) : [];
    assert.deepEqual(bedroom, []);
    assert.equal(col.messages.filter((m) => m.topic.startsWith('voice/satellite/b1/tts/')).length, 0);
  } finally {
    await Promise.all(sats.map((s) => s.stop()));
  }
});
