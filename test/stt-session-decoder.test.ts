/**
 * The STT worker's per-session decoder restarts after the wake word when the
 * speaker paused, and only then. A fake recognizer reads words straight out
 * of the audio (a run of samples of value k is word "wk"), so what a
 * restarted recognizer hears, and where, is exact.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AcceptResult, FinalResult, Recognizer, Word } from '../hub/stt/engine';
import { RESTART_AFTER_MS, RESTART_GAP_MS, RESTART_LEAD_MS, SessionDecoder } from '../hub/stt/session-decoder';

class ReadingRecognizer implements Recognizer {
  private samples: number[] = [];
  accept(pcm: Int16Array): AcceptResult {
    this.samples.push(...pcm);
    const words = this.words();
    return { partial: words.map((w) => w.word).join(' '), endpoint: false, words };
  }
  final(): FinalResult {
    const words = this.words();
    return { text: words.map((w) => w.word).join(' '), words };
  }
  free(): void {}
  protected reset(): void {
    this.samples = [];
  }
  /** Runs of equal non-zero samples are words; times from this recognizer's first sample. */
  private words(): Word[] {
    const out: Word[] = [];
    let i = 0;
    while (i < this.samples.length) {
      const v = this.samples[i];
      let j = i;
      while (j < this.samples.length && this.samples[j] === v) j++;
      if (v !== 0) out.push({ word: `w${v}`, startMs: i / 16, endMs: j / 16 });
      i = j;
    }
    return out;
  }
}

/** Session audio: [value, ms] segments. */
function audio(...segments: [number, number][]): Int16Array {
  return Int16Array.from(segments.flatMap(([v, ms]) => new Array<number>(ms * 16).fill(v)));
}

/** A recognizer that can start over itself (as pocketsphinx's does, keeping its session-start state). */
class RestartingRecognizer extends ReadingRecognizer {
  restarts = 0;
  restart(): void {
    this.restarts++;
    this.reset();
  }
}

function run(pcm: Int16Array, wakeMs: number | undefined, make: () => ReadingRecognizer = () => new ReadingRecognizer()): { dec: SessionDecoder; made: number; final: FinalResult } {
  let made = 0;
  const dec = new SessionDecoder(() => {
    made++;
    return make();
  });
  if (wakeMs !== undefined) dec.setWake({ wakeMs, marginMs: 100 });
  for (let i = 0; i < pcm.length; i += 1280) dec.accept(pcm.subarray(i, i + 1280));
  return { dec, made, final: dec.final() };
}

test('a pause after the wake word: the decode starts over just after the wake word, and word times stay in session time', () => {
  // Wake word (w1) to 300 ms, the detector fired at 320, a 600 ms pause, then the command (w2, w3).
  const { dec, made, final } = run(audio([1, 300], [0, 600], [2, 250], [3, 250], [0, 500]), 320);
  assert.equal(made, 2, 'one restart');
  assert.equal(dec.restartedAtMs, 900 - RESTART_LEAD_MS, 'the restarted decode hears RESTART_LEAD_MS before the command');
  assert.deepEqual(final.words, [
    { word: 'w2', startMs: 900, endMs: 1150 },
    { word: 'w3', startMs: 1150, endMs: 1400 },
  ]);
});

test('a short pause: the restart never reaches back into the wake word; a wake word that runs past the fire point counts to its end', () => {
  // 300 ms pause after the wake word: the command's lead is cut at the wake word's end (+ RESTART_AFTER_MS).
  const short = run(audio([1, 300], [0, 300], [2, 250], [0, 500]), 320);
  assert.equal(short.dec.restartedAtMs, 300 + RESTART_AFTER_MS);
  assert.deepEqual(short.final.words.map((w) => w.word), ['w2']);
  // The wake word's last word straddles the fire point (ends at 400): the pause is counted from its end.
  const straddle = run(audio([1, 400], [0, 600], [2, 250], [0, 500]), 320);
  assert.equal(straddle.dec.restartedAtMs, 1000 - RESTART_LEAD_MS);
  assert.deepEqual(straddle.final.words, [{ word: 'w2', startMs: 1000, endMs: 1250 }]);
  // A pause shorter than RESTART_GAP_MS after it: no restart.
  const tight = run(audio([1, 400], [0, RESTART_GAP_MS - 50], [2, 250], [0, 500]), 320);
  assert.equal(tight.dec.restartedAtMs, undefined);
});

test('the pause is counted from the end of the wake word, not from the fire point', () => {
  // The detector fired 150 ms after the wake word ended; the speaker paused 280 ms after the word,
  // only 130 ms after the fire point.
  const late = run(audio([1, 300], [0, 280], [2, 250], [0, 500]), 450);
  assert.ok(280 >= RESTART_GAP_MS && 130 < RESTART_GAP_MS);
  assert.equal(late.dec.restartedAtMs, 300 + RESTART_AFTER_MS);
  assert.deepEqual(late.final.words, [{ word: 'w2', startMs: 580, endMs: 830 }]);
});

test('a recognizer that can restart itself is restarted, not replaced', () => {
  let rec: RestartingRecognizer | undefined;
  const { dec, made, final } = run(audio([1, 300], [0, 600], [2, 250], [0, 500]), 320, () => (rec = new RestartingRecognizer()));
  assert.equal(made, 1);
  assert.equal(rec?.restarts, 1);
  assert.equal(dec.restartedAtMs, 900 - RESTART_LEAD_MS);
  assert.deepEqual(final.words, [{ word: 'w2', startMs: 900, endMs: 1150 }]);
});

test('a command run on from the wake word: no restart (the trim drops the wake word later)', () => {
  const { dec, made, final } = run(audio([1, 300], [2, 250], [3, 250], [0, 500]), 320);
  assert.equal(made, 1);
  assert.equal(dec.restartedAtMs, undefined);
  assert.deepEqual(final.words.map((w) => w.word), ['w1', 'w2', 'w3']);
});

test('no wake word (listen, follow-up): no restart, whatever the pauses', () => {
  const { made, final } = run(audio([1, 300], [0, 900], [2, 250], [0, 500]), undefined);
  assert.equal(made, 1);
  assert.deepEqual(final.words.map((w) => w.word), ['w1', 'w2']);
});
