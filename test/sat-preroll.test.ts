/** Satellite pre-roll: keeps the newest whole frames covering vad.preRollMs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BYTES_PER_MS } from '../common/protocol';
import { PreRoll } from '../satellite/preroll';

/** A frame of `ms` whose samples all hold `tag`. */
function frame(ms: number, tag: number): Buffer {
  const b = Buffer.alloc(ms * BYTES_PER_MS);
  for (let i = 0; i < b.length; i += 2) b.writeInt16LE(tag, i);
  return b;
}
const tags = (frames: Buffer[]) => frames.map((f) => f.readInt16LE(0));

test('keeps the last preRollMs (the fewest newest frames that cover it)', () => {
  const p = new PreRoll(300);
  for (let i = 0; i < 10; i++) p.push(frame(80, i));
  assert.equal(p.ms, 320);
  assert.deepEqual(tags(p.take()), [6, 7, 8, 9]);
  assert.deepEqual(p.take(), [], 'taken once');
});

test('frames that divide preRollMs exactly keep exactly preRollMs', () => {
  const p = new PreRoll(300);
  for (let i = 0; i < 25; i++) p.push(frame(30, i));
  assert.deepEqual(tags(p.take()), [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
});

test('preRollMs 0 keeps nothing; less audio than preRollMs keeps all of it', () => {
  const none = new PreRoll(0);
  none.push(frame(80, 1));
  assert.deepEqual(none.take(), []);
  const some = new PreRoll(300);
  some.push(frame(80, 1));
  some.push(frame(80, 2));
  assert.deepEqual(tags(some.take()), [1, 2]);
});
