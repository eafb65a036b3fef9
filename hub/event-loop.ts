/**
 * Event-loop health: how long the hub's main thread keeps timers, MQTT
 * messages and the embedded broker waiting. Node's monitorEventLoopDelay
 * fires a timer every RESOLUTION_MS and records how late it ran; a synchronous
 * call on the main thread (ONNX inference, a long JSON parse) shows up as one
 * late tick as long as the stall.
 *
 * The figures cover a rolling window of about hub.eventLoopWindowS: two
 * histograms run side by side, each cleared every window and half a window
 * apart, and the older one answers, so the figures always span between half
 * a window and a whole one (`windowS` says how much). Node's interval
 * histograms cannot be merged, so this is how a window rolls with exact
 * percentiles; the cost is a second 10 ms timer.
 *
 * Reported in the hub's status (eventLoop, docs/protocol.md) and by the bench.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from '../common/log';
import type { HubConfig } from '../config/hub';

/** Sampling period of the delay timer, ms: a stall shorter than this may go unseen. */
export const RESOLUTION_MS = 10;

export interface EventLoopStats {
  /** Median delay of the loop beyond the sampling tick, ms. */
  p50Ms: number;
  p99Ms: number;
  /** The longest single stall in the window, ms. */
  maxMs: number;
  /** Seconds the figures cover (half a window to a whole one). */
  windowS: number;
}

interface Half {
  h: IntervalHistogram;
  since: number;
}

export class EventLoopMonitor {
  private halves: Half[] = [];
  private timer?: NodeJS.Timeout;
  private next = 0;

  constructor(private readonly ctx: { config: HubConfig; log: Logger }) {}

  start(): void {
    const now = performance.now();
    for (let i = 0; i < 2; i++) {
      const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
      h.enable();
      this.halves.push({ h, since: now });
    }
    // Every half window, clear the histogram that has run a whole window (the other one then answers).
    // The first clear comes after half a window, so the two stay half a window apart from then on.
    this.timer = setInterval(() => this.rotate(), (this.ctx.config.hub.eventLoopWindowS * 1000) / 2);
    this.timer.unref();
    this.ctx.log.debug({ resolutionMs: RESOLUTION_MS, windowS: this.ctx.config.hub.eventLoopWindowS }, 'event-loop monitor started');
  }

  private rotate(): void {
    const half = this.halves[this.next];
    if (!half) return;
    half.h.reset();
    half.since = performance.now();
    this.next = 1 - this.next;
  }

  /** The figures over the window so far; zeros before the first tick. */
  stats(): EventLoopStats {
    const oldest = this.halves.reduce<Half | undefined>((a, b) => (a === undefined || b.since < a.since ? b : a), undefined);
    if (!oldest || oldest.h.count === 0) return { p50Ms: 0, p99Ms: 0, maxMs: 0, windowS: 0 };
    // Each sample is the time between two ticks: the delay is what exceeds the tick.
    const ms = (ns: number) => Math.round(Math.max(0, ns / 1e6 - RESOLUTION_MS) * 10) / 10;
    return {
      p50Ms: ms(oldest.h.percentile(50)),
      p99Ms: ms(oldest.h.percentile(99)),
      maxMs: ms(oldest.h.max),
      windowS: Math.round((performance.now() - oldest.since) / 1000),
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const half of this.halves) half.h.disable();
    this.halves = [];
  }
}
