/** Satellite frame queue: re-framing, strict order, bounded (oldest frames dropped, counted, warned). */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { FrameQueue } from '../satellite/session/frame-queue';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk: Buffer, _e, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb(); } });
  return { log: pino({ level: 'info' }, stream), lines };
}

/** `n` samples of value `tag`, as s16le. */
function pcm(n: number, tag: number): Buffer {
  const b = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) b.writeInt16LE(tag, i * 2);
  return b;
}

test('chunks of any size become whole frames, processed one at a time in order', async () => {
  const { log } = capture();
  const seen: number[] = [];
  let busy = 0;
  const q = new FrameQueue({ frameLength: 4, maxQueued: Infinity, log, onError: (e) => assert.fail(String(e)), handle: async (f) => { assert.equal(busy++, 0); await new Promise((r) => setImmediate(r)); seen.push(f[0], f.length); busy--; } });
  q.write(Buffer.concat([pcm(3, 1), pcm(1, 1), pcm(2, 2)]));
  q.write(pcm(2, 2));
  q.write(pcm(1, 3));
  await q.idle();
  assert.deepEqual(seen, [1, 4, 2, 4]);
});

test('falling behind real time drops the oldest frames, counted and with a warning', async () => {
  const { log, lines } = capture();
  const seen: number[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const q = new FrameQueue({ frameLength: 2, maxQueued: 5, log, onError: (e) => assert.fail(String(e)), handle: async (f) => { await gate; seen.push(f[0]); } });
  for (let i = 0; i < 20; i++) q.write(pcm(2, i));
  // Frame 0 is being processed; of 19 waiting only the newest 5 stay.
  assert.equal(q.length, 5);
  assert.equal(q.dropped, 14);
  assert.ok(lines.some((l) => l.level === 40 && /fell behind/.test(String(l.msg))), 'a warning is logged');
  release();
  await q.idle();
  assert.deepEqual(seen, [0, 15, 16, 17, 18, 19]);
});

test('stop drops waiting frames and waits for the one in flight', async () => {
  const { log } = capture();
  const seen: number[] = [];
  const q = new FrameQueue({ frameLength: 2, maxQueued: Infinity, log, onError: (e) => assert.fail(String(e)), handle: async (f) => { await new Promise((r) => setTimeout(r, 5)); seen.push(f[0]); } });
  for (let i = 0; i < 5; i++) q.write(pcm(2, i));
  await q.stop();
  assert.deepEqual(seen, [0]);
  q.write(pcm(2, 9));
  await q.idle();
  assert.deepEqual(seen, [0]);
});
