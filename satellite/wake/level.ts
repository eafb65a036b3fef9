/**
 * What the microphone heard at the wake word, for the hub's cross-room
 * arbitration (hub/arbitration): the speech energy of the wake segment, the
 * noise floor of the seconds before it, and their difference (the SNR). Every
 * frame the wake engine sees passes through here, cut in 10 ms blocks whose
 * energies are kept for the last few seconds; the raw samples, before any gain
 * change (the satellite applies none).
 *   energyDb  mean power of the louder half of the blocks of the last
 *             WAKE_SEGMENT_MS (the wake phrase; its pauses and the silence
 *             around it do not lower it), dBFS
 *   noiseDb   the 20th percentile of the block energies before that segment
 *             (the room between words), dBFS, at least -90; with little
 *             history, of all
 *   snrDb     energyDb - noiseDb
 */
import { AUDIO_FORMAT } from '../../common/protocol';

const BLOCK = AUDIO_FORMAT.rate / 100; // 10 ms
/** The wake phrase: the detector fires at (or a little after) its end. */
export const WAKE_SEGMENT_MS = 1000;
/** Block energies kept: the segment and the noise floor's seconds before it. */
const HISTORY_MS = 5000;
const SEGMENT_BLOCKS = WAKE_SEGMENT_MS / 10;
const HISTORY_BLOCKS = HISTORY_MS / 10;
/** Fewer blocks than this before the segment: the floor is taken over everything held. */
const MIN_NOISE_BLOCKS = 50;
/** dBFS of a block of digital silence (an all-zero block has no logarithm). */
const FLOOR_DB = -120;
/**
 * The lowest noise floor reported: a real microphone's own noise lies above
 * it, and one whose noise suppression outputs digital silence would
 * otherwise claim an SNR no microphone in a room has.
 */
const NOISE_FLOOR_MIN_DB = -90;

export interface WakeLevels {
  energyDb: number;
  noiseDb: number;
  snrDb: number;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const toDb = (meanSquare: number) => Math.max(FLOOR_DB, 10 * Math.log10(meanSquare / (32768 * 32768)));

export class LevelMeter {
  /** Mean squares of whole 10 ms blocks, oldest first (a ring). */
  private readonly blocks = new Float64Array(HISTORY_BLOCKS);
  private count = 0;
  private next = 0;
  /** The block being filled. */
  private partSum = 0;
  private partN = 0;

  push(frame: Int16Array): void {
    for (let i = 0; i < frame.length; i++) {
      const v = frame[i];
      this.partSum += v * v;
      if (++this.partN === BLOCK) {
        this.blocks[this.next] = this.partSum / BLOCK;
        this.next = (this.next + 1) % HISTORY_BLOCKS;
        this.count = Math.min(HISTORY_BLOCKS, this.count + 1);
        this.partSum = 0;
        this.partN = 0;
      }
    }
  }

  /** The levels now, as the wake word fires; undefined before any whole block. */
  measure(): WakeLevels | undefined {
    if (this.count === 0) return undefined;
    const all: number[] = [];
    for (let k = this.count; k > 0; k--) all.push(this.blocks[(this.next - k + HISTORY_BLOCKS) % HISTORY_BLOCKS]);
    const segment = all.slice(-SEGMENT_BLOCKS);
    const before = all.slice(0, Math.max(0, all.length - SEGMENT_BLOCKS));
    const loud = [...segment].sort((a, b) => b - a).slice(0, Math.max(1, Math.ceil(segment.length / 2)));
    const energyDb = toDb(loud.reduce((s, x) => s + x, 0) / loud.length);
    const pool = (before.length >= MIN_NOISE_BLOCKS ? before : all).sort((a, b) => a - b);
    const noiseDb = Math.max(NOISE_FLOOR_MIN_DB, toDb(pool[Math.floor(pool.length * 0.2)]));
    return { energyDb: round1(energyDb), noiseDb: round1(noiseDb), snrDb: round1(energyDb - noiseDb) };
  }
}
