/**
 * Cuts the source's PCM chunks into wake-engine frames and processes them one
 * at a time, in order, from a bounded queue. When processing falls behind
 * real time and more than `maxQueued` frames wait, the oldest are dropped
 * (counted, with a warning): live audio that old is worth less than keeping
 * up. Commands never go through this queue.
 */
import type { Logger } from '../../common/log';

export interface FrameQueueContext {
  frameLength: number;
  /** Most frames waiting; Infinity never drops (a source not paced in real time). */
  maxQueued: number;
  handle: (frame: Int16Array) => Promise<void>;
  onError: (err: unknown) => void;
  log: Logger;
}

/** Warn about drops at most this often. */
const DROP_WARN_MS = 5000;

export class FrameQueue {
  private pending = new Int16Array(0);
  private queue: Int16Array[] = [];
  private running: Promise<void> | null = null;
  private closed = false;
  private lastWarn = Number.NEGATIVE_INFINITY;
  /** Frames dropped because processing fell behind. */
  dropped = 0;

  constructor(private readonly ctx: FrameQueueContext) {}

  get length(): number {
    return this.queue.length;
  }

  /** Takes any s16le PCM chunk; whole frames are queued, the rest waits for the next chunk. */
  write(buf: Buffer): void {
    if (this.closed) return;
    const n = buf.length >> 1;
    const joined = new Int16Array(this.pending.length + n);
    joined.set(this.pending);
    for (let i = 0; i < n; i++) joined[this.pending.length + i] = buf.readInt16LE(i * 2);
    const fl = this.ctx.frameLength;
    let off = 0;
    for (; off + fl <= joined.length; off += fl) this.queue.push(joined.slice(off, off + fl));
    this.pending = joined.slice(off);
    this.trim();
    // The loop awaits at least one frame before it clears `running`, so it is never left set.
    if (!this.running && this.queue.length > 0) this.running = this.loop();
  }

  private trim(): void {
    const over = this.queue.length - this.ctx.maxQueued;
    if (over <= 0) return;
    this.queue.splice(0, over);
    this.dropped += over;
    const t = Date.now();
    if (t - this.lastWarn >= DROP_WARN_MS) {
      this.lastWarn = t;
      this.ctx.log.warn({ dropped: over, droppedTotal: this.dropped }, 'audio processing fell behind real time; oldest frames dropped');
    }
  }

  private async loop(): Promise<void> {
    for (let f = this.queue.shift(); f && !this.closed; f = this.queue.shift()) {
      try {
        await this.ctx.handle(f);
      } catch (err) {
        this.ctx.onError(err);
      }
    }
    this.running = null;
  }

  /** Waits until every queued frame is processed (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Drops waiting frames and waits for the one being processed. */
  async stop(): Promise<void> {
    this.closed = true;
    this.queue = [];
    await this.running;
  }
}
