/**
 * Pre-roll: the most recent audio before a session opens, so the first word
 * is not cut. Holds whole frames covering at least `preRollMs` (the fewest
 * newest frames that do), and hands them over once per session.
 */
import { BYTES_PER_MS } from '../common/protocol';

export class PreRoll {
  private frames: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly preRollMs: number) {}

  push(frame: Buffer): void {
    this.frames.push(frame);
    this.bytes += frame.length;
    // Drop the oldest frame while the rest still cover preRollMs.
    while (this.frames.length > 0 && (this.bytes - this.frames[0].length) / BYTES_PER_MS >= this.preRollMs) {
      this.bytes -= (this.frames.shift() as Buffer).length;
    }
  }

  /** Audio held now, ms. */
  get ms(): number {
    return this.bytes / BYTES_PER_MS;
  }

  /** The pre-roll frames, oldest first; the buffer starts empty again. */
  take(): Buffer[] {
    const out = this.frames;
    this.frames = [];
    this.bytes = 0;
    return out;
  }
}
