/**
 * The satellite's playback volume (issue 12), with a real satellite process
 * and its file sink: the same announcement is played before and after the
 * person says "hey jarvis, set your volume to fifty percent", and the
 * second is a quarter of the first's level (the gain is (volume/100)^2).
 * The satellite reports its volume in its status; restarted (with nothing
 * said), it comes back at its configured volume and the hub sets it back
 * to fifty.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { validateCommand } from '../common/protocol';
import { readWav, wavFromPcm } from '../common/wav';
import type { Hub } from '../hub/controller';
import { Collector, jsonOf, runNode, TMP } from './helpers';
import { startHub } from './hub-helpers';
import { userIntentsDir } from './intents-corpus';
import { noisy, speak, zeros } from './speech-fixtures';

let hub: Hub;
let col: Collector;
const dir = path.join(TMP, `volume-play-${process.pid}`);
const state = path.join(TMP, `volume-state-${process.pid}`);

before(async () => {
  hub = await startHub(['--intents-enabled', 'true', '--intents-dir', userIntentsDir(TMP), '--llm-host', 'http://127.0.0.1:9', '--hub-state-dir', state]);
  col = await Collector.create(hub.brokerUrl, ['voice/#']);
});
after(async () => {
  await col?.end();
  await hub?.stop();
});

const rms = (file: string) => {
  const w = readWav(file);
  let sum = 0;
  for (let i = 0; i < w.data.length; i += 2) sum += w.data.readInt16LE(i) ** 2;
  return Math.sqrt(sum / (w.data.length / 2));
};

/** Announces the same sentence on the satellite and returns the WAV its sink wrote. */
async function announce(): Promise<string> {
  const from = col.messages.length;
  await col.client.publishAsync('voice/satellite/v1/announce', JSON.stringify({ text: 'This is a test of the speaker.' }), { qos: 1 });
  const reply = jsonOf(await col.next((t) => t === 'voice/satellite/v1/reply', 10000, from));
  await col.next((t, p) => t === 'voice/satellite/v1/played' && jsonOf({ payload: p }).sessionId === reply.sessionId, 15000, from);
  return path.join(dir, `${String(reply.sessionId)}.wav`);
}

/** The first online status after `from` that reports `volume`. */
const statusWith = (volume: number, from: number) => col.next((t, p) => t === 'voice/satellite/v1/status' && jsonOf({ payload: p }).state === 'online' && jsonOf({ payload: p }).volume === volume, 10000, from);

test('"set your volume to fifty percent": what the satellite plays is a quarter of the level; a restarted satellite gets fifty back', { timeout: 120_000 }, async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  // The command comes after 9 s of the room's noise: time to play the first announcement at full volume.
  const wav = path.join(TMP, 'volume-command.wav');
  fs.writeFileSync(wav, wavFromPcm(noisy(Buffer.concat([zeros(9000), speak('hey jarvis'), zeros(400), speak('set your volume to fifty percent'), zeros(8000)]))));
  const args = ['--mqtt-url', hub.brokerUrl, '--satellite-id', 'v1', '--satellite-room', 'study', '--audio-source', 'wav', '--audio-wav', wav, '--playback-sink', 'file', '--playback-dir', dir];
  let sat = runNode('satellite/main.js', args);
  try {
    await statusWith(100, 0); // the satellite starts at playback.volume
    const loud = rms(await announce());
    const from = col.messages.length;
    const intent = jsonOf(await col.next((t) => t === 'voice/satellite/v1/intent', 30000, from));
    assert.equal(intent.intent, 'VoiceSetVolume');
    const reply = jsonOf(await col.next((t) => t === 'voice/satellite/v1/reply', 5000, from));
    assert.equal(reply.text, 'Volume 50 percent.');
    await statusWith(50, from); // the status reports the new volume
    await col.next((t, p) => t === 'voice/satellite/v1/played' && jsonOf({ payload: p }).sessionId === reply.sessionId, 15000, from);
    const soft = rms(await announce());
    const ratio = soft / loud;
    assert.ok(Math.abs(ratio - 0.25) < 0.01, `level ratio ${ratio.toFixed(4)} (expected 0.25)`);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(state, 'volumes.json'), 'utf8')), { v1: 50 });

    // Restarted (hearing only its room now: nothing asks for a volume), the satellite comes back at its
    // playback.volume (100); the hub sets it back to 50 as soon as it sees it online.
    await sat.stop();
    const back = col.messages.length;
    const quiet = path.join(TMP, 'volume-quiet.wav');
    fs.writeFileSync(quiet, wavFromPcm(noisy(zeros(5000))));
    sat = runNode('satellite/main.js', args.map((a) => (a === wav ? quiet : a)));
    const online = await statusWith(100, back);
    const cmd = await col.next((t) => t === 'voice/satellite/v1/command', 3000, back);
    assert.deepEqual(jsonOf(cmd), { command: 'volume', volume: 50 });
    assert.ok(cmd.at - online.at < 1000, `the hub sent it ${cmd.at - online.at} ms after the satellite came online`);
    const volumes: unknown[] = [];
    for (let i = back; volumes.at(-1) !== 50; ) {
      const m = await col.next((t, p) => t === 'voice/satellite/v1/status' && typeof jsonOf({ payload: p }).volume === 'number', 10000, i);
      i = col.messages.indexOf(m) + 1;
      volumes.push(jsonOf(m).volume);
    }
    assert.deepEqual(volumes.slice(0, 1), [100], `statuses after the restart: ${JSON.stringify(volumes)}`);
  } finally {
    await sat.stop();
  }
});

test('a volume command is validated: out of range, missing, or on another command is refused', () => {
  // The satellite validates commands with this (common/protocol.ts) and reports VOICE_BAD_PAYLOAD on its error topic.
  assert.throws(() => validateCommand('voice/satellite/x/command', { command: 'volume', volume: 101 }), /"volume" must be a whole number from 0 to 100/);
  assert.throws(() => validateCommand('voice/satellite/x/command', { command: 'volume' }), /"volume" must be a whole number/);
  assert.throws(() => validateCommand('voice/satellite/x/command', { command: 'stop', volume: 5 }), /only be given on a "volume" command/);
  assert.deepEqual(validateCommand('voice/satellite/x/command', { command: 'volume', volume: 0 }), { command: 'volume', volume: 0 });
});
