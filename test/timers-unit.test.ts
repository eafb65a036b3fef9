/** Timers without speech: the book (a clock the test moves), its file, the words answers use, the alarm's sound. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { alarmCycle, CYCLE_MS } from '../hub/reply/alarm';
import { TimerBook } from '../hub/timers/book';
import { duration, listed, slotsMs } from '../hub/timers/words';
import { TMP } from './helpers';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, move: (ms: number) => (t += ms) };
}

test('a timer runs, pauses (time stands still), resumes and ends when its time is up', () => {
  const c = clock();
  const book = new TimerBook('', c.now);
  const t = book.start('k1', 'kitchen', 60_000, 'pasta');
  c.move(20_000);
  assert.equal(book.leftMs(t), 40_000);
  book.pause(t);
  c.move(30_000);
  assert.equal(book.leftMs(t), 40_000, 'paused: no time passes');
  assert.equal(book.info(t).paused, true);
  assert.equal(book.info(t).endsAt, undefined);
  assert.equal(book.nextInMs(), undefined, 'a paused timer never ends');
  book.resume(t);
  assert.equal(book.nextInMs(), 40_000);
  c.move(39_999);
  assert.deepEqual(book.expire(), []);
  c.move(1);
  assert.deepEqual(book.expire().map((x) => x.id), [t.id]);
  assert.deepEqual(book.of('k1'), [], 'a due timer is no longer listed');
  assert.deepEqual(book.dueFor('k1').map((x) => x.id), [t.id], 'it waits to ring');
  assert.deepEqual(book.dueFor('b1'), []);
});

test('time added and taken off; a timer never goes below 1 s left; the total follows', () => {
  const c = clock();
  const book = new TimerBook('', c.now);
  const t = book.start('k1', 'kitchen', 5 * 60_000);
  book.add(t, 2 * 60_000);
  assert.equal(book.leftMs(t), 7 * 60_000);
  assert.equal(book.info(t).totalS, 420);
  book.add(t, -10 * 60_000);
  assert.equal(book.leftMs(t), 1000);
  assert.equal(book.info(t).totalS, 1);
  book.pause(t);
  book.add(t, 30_000);
  assert.equal(book.leftMs(t), 31_000, 'time added to a paused timer');
});

test("a satellite's timers, newest first; each satellite sees only its own", () => {
  const c = clock();
  const book = new TimerBook('', c.now);
  const a = book.start('k1', 'kitchen', 60_000, 'eggs');
  c.move(10);
  const b = book.start('k1', 'kitchen', 120_000);
  book.start('b1', 'bedroom', 30_000);
  assert.deepEqual(book.of('k1').map((t) => t.id), [b.id, a.id]);
  assert.equal(book.of('b1').length, 1);
  book.remove(a);
  assert.deepEqual(book.of('k1').map((t) => t.id), [b.id]);
});

test('the file: timers survive a new book on the same file (a hub restart), and one that ended meanwhile is due', () => {
  const file = path.join(TMP, `timers-${process.pid}.json`);
  fs.rmSync(file, { force: true });
  const c = clock();
  const first = new TimerBook(file, c.now);
  first.load();
  const long = first.start('k1', 'kitchen', 600_000, 'roast');
  const short = first.start('k1', 'kitchen', 5_000);
  const paused = first.start('b1', 'bedroom', 90_000);
  first.pause(paused);
  assert.equal((fs.statSync(file).mode & 0o777).toString(8), '600', 'private');
  c.move(60_000);
  const second = new TimerBook(file, c.now);
  second.load();
  assert.equal(second.size, 3);
  assert.deepEqual(second.expire().map((t) => t.id), [short.id], 'the short one ended while the hub was down');
  const roast = second.of('k1')[0];
  assert.equal(roast.id, long.id);
  assert.equal(roast.name, 'roast');
  assert.equal(second.leftMs(roast), 540_000);
  assert.equal(second.leftMs(second.of('b1')[0]), 90_000, 'paused across the restart');
  // Due timers are kept (and written) until they have rung.
  const third = new TimerBook(file, c.now);
  third.load();
  assert.deepEqual(third.dueFor('k1').map((t) => t.id), [short.id]);
});

test('an unreadable timers file is an error for the caller (it starts empty), not a crash later', () => {
  const file = path.join(TMP, `timers-bad-${process.pid}.json`);
  fs.writeFileSync(file, '{"version": 7}');
  assert.throws(() => new TimerBook(file).load(), /not a timers file of version 1/);
  fs.writeFileSync(file, 'not json');
  assert.throws(() => new TimerBook(file).load());
});

test('durations as answers say them', () => {
  assert.equal(duration(45_000), '45 seconds');
  assert.equal(duration(1000), '1 second');
  assert.equal(duration(200), '1 second', 'a part of a second left is a second');
  assert.equal(duration(0), '0 seconds');
  assert.equal(duration(150_000), '2 minutes and 30 seconds');
  assert.equal(duration(60_000), '1 minute');
  assert.equal(duration(3_600_000 + 5 * 60_000 + 7000), '1 hour and 5 minutes', 'no seconds beside hours');
  assert.equal(duration(2 * 3_600_000), '2 hours');
  assert.equal(slotsMs({ hours: { value: 1 }, minutes: { value: 2 }, seconds: { value: 3 } }), 3_723_000);
  assert.equal(slotsMs({ minutes: { value: 10 }, name: { value: 'pasta' } }), 600_000);
  assert.equal(listed(['a']), 'a');
  assert.equal(listed(['a', 'b', 'c']), 'a, b and c');
});

test('the alarm: three 880 Hz beeps, then quiet to the end of its 2 s cycle', () => {
  const rate = 22050;
  const pcm = alarmCycle(rate);
  assert.equal(pcm.length, ((CYCLE_MS * rate) / 1000) * 2);
  const rms = (fromMs: number, toMs: number) => {
    let sum = 0;
    const a = Math.round((fromMs * rate) / 1000);
    const b = Math.round((toMs * rate) / 1000);
    for (let i = a; i < b; i++) sum += pcm.readInt16LE(i * 2) ** 2;
    return Math.sqrt(sum / (b - a));
  };
  for (const start of [0, 250, 500]) assert.ok(rms(start + 10, start + 140) > 5000, `beep at ${start} ms`);
  for (const start of [160, 410]) assert.ok(rms(start, start + 80) < 1, `gap after ${start - 150} ms`);
  assert.ok(rms(700, 2000) < 1, 'quiet after the beeps');
});
