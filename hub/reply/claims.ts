/**
 * Automation claims: after a final transcript, automations get
 * reply.handledWaitMs to publish .../handled {sessionId, text?}. A claim that
 * arrives before its transcript is final is kept briefly and used when it is.
 */
import type { HandledPayload } from '../../common/protocol';

const HANDLED_KEEP_MS = 30000;
const HANDLED_MAX = 256;

export class Claims {
  private readonly waiting = new Map<string, { sessionId: string; ctl: AbortController; resolve: (h: HandledPayload | null) => void }>(); // by satellite
  private readonly early = new Map<string, { h: HandledPayload; at: number }>(); // by session id

  /** Resolves with the claim, or null when none came within `waitMs` or `ctl` aborted. */
  wait(satellite: string, sessionId: string, waitMs: number, ctl: AbortController): Promise<HandledPayload | null> {
    return new Promise((resolve) => {
      const early = this.early.get(sessionId);
      if (early) {
        this.early.delete(sessionId);
        resolve(early.h);
        return;
      }
      const done = (h: HandledPayload | null) => {
        clearTimeout(timer);
        if (this.waiting.get(satellite)?.sessionId === sessionId) this.waiting.delete(satellite);
        resolve(h);
      };
      const timer = setTimeout(() => done(null), waitMs);
      ctl.signal.addEventListener('abort', () => done(null));
      this.waiting.set(satellite, { sessionId, ctl, resolve: done });
    });
  }

  /** An automation's claim (satellite/<id>/handled). */
  claim(satellite: string, h: HandledPayload): void {
    const w = this.waiting.get(satellite);
    if (w && w.sessionId === h.sessionId) {
      w.resolve(h);
      return;
    }
    const cutoff = Date.now() - HANDLED_KEEP_MS;
    for (const [k, v] of this.early) if (v.at < cutoff) this.early.delete(k);
    if (this.early.size < HANDLED_MAX) this.early.set(h.sessionId, { h, at: Date.now() });
  }

  /** Stops waiting for a satellite's claim (the wait resolves null). */
  abort(satellite: string): void {
    const w = this.waiting.get(satellite);
    if (!w) return;
    this.waiting.delete(satellite);
    w.ctl.abort();
  }

  satellites(): string[] {
    return [...this.waiting.keys()];
  }
}
