/**
 * The satellite's player keeps a stream's audio in order while its sink is
 * starting. MQTT.js hands several packets from one socket read to the
 * player in the same tick, so chunks arrive while sink.start() has not yet
 * resolved; the speaker's start really is asynchronous.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../common/log';
import { readWav } from '../common/wav';
import { Player } from '../satellite/playback/player';
import { FileSink } from '../satellite/playback/sinks';
import { TMP } from './helpers';

/** A file sink whose start resolves a little later, as the speaker's does. */
class SlowStartSink extends FileSink {
  override start(rate: number, streamId: string): Promise<void> {
    return super.start(rate, streamId).then(() => new Promise((r) => setTimeout(r, 30)));
  }
}

/** 100 ms chunks, each filled with its own index so the order can be read back. */
function chunks(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => {
    const b = Buffer.alloc(3200);
    for (let o = 0; o < b.length; o += 2) b.writeInt16LE(i + 1, o);
    return b;
  });
}

function order(file: string): number[] {
  const pcm = readWav(file).data;
  const out: number[] = [];
  for (let o = 0; o < pcm.length; o += 3200) out.push(pcm.readInt16LE(o));
  return out;
}

async function play(sink: FileSink, dir: string, id: string, feed: (p: Player, cs: Buffer[]) => Promise<void>): Promise<number[]> {
  const player = new Player(sink, 250, createLogger('test', 'error'));
  const played = new Promise((r) => player.once('played', r));
  player.onStart({ sessionId: id, format: { encoding: 's16le', rate: 16000, channels: 1 }, engine: 'flite', time: new Date().toISOString() });
  await feed(player, chunks(12));
  player.onStop({ sessionId: id, reason: 'done', followUp: false, time: new Date().toISOString() });
  await played;
  return order(path.join(dir, `${id}.wav`));
}

const expected = Array.from({ length: 12 }, (_, i) => i + 1);

test('chunks that arrive in the tick the jitter buffer fills are played after the buffered ones', async () => {
  const dir = path.join(TMP, 'player-same-tick');
  const got = await play(new FileSink(dir), dir, 's1', (p, cs) => {
    for (const c of cs) p.onChunk('s1', c); // one socket read
    return Promise.resolve();
  });
  assert.deepEqual(got, expected);
});

test('chunks that arrive while the sink is still starting are played in order', async () => {
  const dir = path.join(TMP, 'player-slow-start');
  const got = await play(new SlowStartSink(dir), dir, 's2', async (p, cs) => {
    for (const c of cs) {
      p.onChunk('s2', c);
      await new Promise((r) => setTimeout(r, 5));
    }
  });
  assert.deepEqual(got, expected);
  assert.ok(fs.existsSync(path.join(dir, 's2.wav')));
});
