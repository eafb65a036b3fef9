/**
 * Cross-room wake arbitration: one answer per wake word. Satellites of one
 * group (satellite.group from their status; by default the whole house) that
 * hear the same wake word each send a wake; the first opens a window, and
 * the session manager holds every candidate's audio meanwhile. The window
 * closes when every other online satellite of the group has reported, or
 * every one that usually hears this one's wakes (cofire.ts), or at once when
 * it has no online peer, else at arbitration.windowMs. The best heard wins
 * (rank.ts) and its session goes on as if it had been alone; the others are
 * told `end` (reason arbitration-lost). A wake from the group after the
 * window, within arbitration.lateMs of its first wake while the winner's
 * session is live, is a late duplicate and loses the same way. Every
 * decision goes on the bus and to <root>/hub/arbitration. Only wake-word
 * sessions come here: listen and follow-up are addressed to one satellite.
 */
import { type ArbitrationCandidate, type ArbitrationPayload, now, type WakePayload } from '../../common/protocol';
import type { SatelliteInfo } from '../bus';
import type { Feature, HubContext, TopicHandlers } from '../feature';
import { CoFireHistory, type Record as CoFireRecord } from './cofire';
import { pickWinner, rankDb } from './rank';

/** The group of a satellite whose status names none. */
export const DEFAULT_GROUP = 'house';

export type Verdict = 'won' | 'lost';

export interface WakeCandidate {
  satellite: string;
  room: string;
  wake: WakePayload;
}

/**
 * What the session manager asks: open this wake's session, or not. `decide`
 * is called once per wake; for 'won' it returns whether the session opened
 * (the hub may still refuse it: its session limit, no decoder).
 */
export interface WakeArbiter {
  submit(c: WakeCandidate, decide: (v: Verdict) => boolean): void;
}

interface Pending extends WakeCandidate {
  at: number;
  decide: (v: Verdict) => boolean;
}

interface Window {
  group: string;
  openedAt: number;
  /** The wakes in it so far, in arrival order (pending[0] opened it). */
  pending: Pending[];
  /** Other satellites of the group online when it opened (muted and busy ones cannot hear it). */
  others: string[];
  /** Of those, the ones that usually co-fire with the first. */
  usual: string[];
  timer?: NodeJS.Timeout;
}

interface Decided {
  winner: string;
  sessionId: string;
  openedAt: number;
  /** What the co-firer history learned from it (a late duplicate is added to it). */
  learned?: CoFireRecord;
}

export class Arbitration implements Feature, WakeArbiter {
  readonly name = 'arbitration';
  readonly subscriptions: string[] = [];
  readonly handlers: TopicHandlers = {};
  private readonly windows = new Map<string, Window>();
  /** Per group, the last decision while its winner's session may still be live. */
  private readonly decided = new Map<string, Decided>();
  private readonly history = new CoFireHistory();
  readonly stats = { decisions: 0, lateDuplicates: 0 };

  constructor(private readonly ctx: HubContext) {}

  start(): void {
    this.ctx.bus.on(this, 'sessionClosed', ({ sessionId }) => {
      for (const [g, d] of this.decided) if (d.sessionId === sessionId) this.decided.delete(g);
    });
    // A candidate that went offline cannot answer: it leaves the window (quietly), and nobody waits for it.
    this.ctx.bus.on(this, 'satelliteOffline', (sat) => {
      for (const w of [...this.windows.values()]) {
        const gone = w.pending.find((q) => q.satellite === sat.id);
        w.others = w.others.filter((id) => id !== sat.id);
        w.usual = w.usual.filter((id) => id !== sat.id);
        if (gone) {
          w.pending = w.pending.filter((q) => q !== gone);
          gone.decide('lost');
        }
        if (w.pending.length === 0) {
          clearTimeout(w.timer);
          this.windows.delete(w.group);
        } else this.check(w);
      }
    });
  }

  stop(): void {
    this.ctx.bus.removeOwner(this);
    for (const w of this.windows.values()) clearTimeout(w.timer);
    this.windows.clear();
  }

  groupOf(satellite: string): string {
    return this.ctx.registry.get(satellite)?.group ?? DEFAULT_GROUP;
  }

  submit(c: WakeCandidate, decide: (v: Verdict) => boolean): void {
    const group = this.groupOf(c.satellite);
    const p: Pending = { ...c, at: Date.now(), decide };
    const open = this.windows.get(group);
    if (open) {
      open.pending.push(p);
      this.check(open);
      return;
    }
    const last = this.decided.get(group);
    if (last && p.at - last.openedAt < this.ctx.config.arbitration.lateMs) return this.lateDuplicate(group, last, p);
    const others = this.ctx.registry
      .online((s: SatelliteInfo) => s.id !== c.satellite && this.groupOf(s.id) === group && s.state !== 'muted' && s.state !== 'listening')
      .map((s) => s.id);
    const w: Window = { group, openedAt: p.at, pending: [p], others, usual: this.history.expected(c.satellite, others) };
    this.windows.set(group, w);
    if (others.length === 0) return this.close(w, 'alone');
    if (w.usual.length === 0) return this.close(w, 'usual-reported');
    w.timer = setTimeout(() => this.close(w, 'bound'), this.ctx.config.arbitration.windowMs);
    w.timer.unref();
  }

  /** Closes the window once everyone it waits for has reported. */
  private check(w: Window): void {
    const reported = new Set(w.pending.map((q) => q.satellite));
    if (w.others.every((id) => reported.has(id))) this.close(w, 'all-reported');
    else if (w.usual.every((id) => reported.has(id))) this.close(w, 'usual-reported');
  }

  private close(w: Window, closedBy: ArbitrationPayload['closedBy']): void {
    clearTimeout(w.timer);
    this.windows.delete(w.group);
    const learned = w.others.length > 0 ? this.history.record(w.pending.map((q) => q.satellite), [...w.others, w.pending[0].satellite]) : undefined;
    // The best first: its session opens before the others are told. If the hub refuses it (its session limit, no
    // decoder), the next best answers instead; only when none can is there no winner.
    const left = [...w.pending];
    let winner: Pending | undefined;
    while (!winner && left.length > 0) {
      const best = left.splice(pickWinner(left, this.ctx.config.arbitration.tieDb), 1)[0];
      if (best.decide('won')) winner = best;
    }
    for (const q of left) q.decide('lost');
    if (!winner) return;
    this.decided.set(w.group, { winner: winner.satellite, sessionId: winner.wake.sessionId, openedAt: w.openedAt, learned });
    this.stats.decisions++;
    const candidates = w.pending.map((q) => this.candidate(q, w.openedAt, q === winner));
    this.publish({ group: w.group, winner: winner.satellite, winnerSessionId: winner.wake.sessionId, candidates, windowMs: Date.now() - w.openedAt, closedBy, time: now() });
  }

  private lateDuplicate(group: string, last: Decided, p: Pending): void {
    this.stats.lateDuplicates++;
    // It does hear this group's wakes: wait for it next time.
    if (last.learned) this.history.join(last.learned, p.satellite);
    this.publish({ group, winner: last.winner, winnerSessionId: last.sessionId, candidates: [this.candidate(p, last.openedAt, false)], windowMs: p.at - last.openedAt, closedBy: 'late-duplicate', time: now() });
    p.decide('lost');
  }

  private candidate(q: Pending, openedAt: number, won: boolean): ArbitrationCandidate {
    const w = q.wake;
    const c: ArbitrationCandidate = { satellite: q.satellite, sessionId: w.sessionId, room: q.room, score: w.score, afterMs: q.at - openedAt, won };
    if (w.snrDb !== undefined) Object.assign(c, { snrDb: w.snrDb, calibrationDb: w.calibrationDb ?? 0, rankDb: rankDb(w) });
    return c;
  }

  private publish(d: ArbitrationPayload): void {
    this.ctx.log.info({ group: d.group, winner: d.winner, closedBy: d.closedBy, windowMs: d.windowMs, candidates: d.candidates.map((c) => `${c.satellite}:${c.rankDb ?? '-'}dB/${c.score}${c.won ? '*' : ''}`) }, 'arbitration');
    this.ctx.mqtt.publish(this.ctx.topics.hubArbitration(), JSON.stringify(d), { qos: 1 });
    this.ctx.bus.emit('arbitration', d);
  }
}
