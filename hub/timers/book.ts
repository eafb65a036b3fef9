/**
 * The hub's timers, per satellite, and their file (hub.stateDir/timers.json):
 * every change is written at once (whole, under another name, then renamed),
 * so a hub that restarts finds its timers where they were. A timer is
 * running (it ends at `endsAt`), paused (`leftMs` to go), or finished but
 * not yet rung (its satellite was offline, or the hub was down, when it
 * ended): it rings when the satellite is next online.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TimerInfo } from '../../common/timer';

export interface Timer {
  id: string;
  satellite: string;
  room: string;
  name?: string;
  /** Its length as set, with time added or removed, ms. */
  totalMs: number;
  /** Epoch ms it ends at, while running. */
  endsAt?: number;
  /** Ms left, while paused. */
  leftMs?: number;
  /** It ended and has not rung yet. */
  due?: boolean;
  /** Epoch ms it was started (the newest is "the timer" when several run). */
  startedAt: number;
}

const FILE_VERSION = 1;

export class TimerBook {
  private readonly timers = new Map<string, Timer>();

  constructor(
    /** The file; '' keeps timers in memory only. */
    private readonly file: string,
    private readonly clock: () => number = Date.now,
    /** A write that failed (a full or read-only disk): the timers go on in memory. */
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Reads the file; a missing one is no timers. An unreadable one throws (the caller reports it and starts empty). */
  load(): void {
    if (!this.file || !fs.existsSync(this.file)) return;
    const doc = JSON.parse(fs.readFileSync(this.file, 'utf8')) as { version?: number; timers?: Timer[] };
    if (doc.version !== FILE_VERSION || !Array.isArray(doc.timers)) throw new Error(`${this.file}: not a timers file of version ${FILE_VERSION}`);
    const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
    for (const t of doc.timers) {
      if (typeof t.id !== 'string' || typeof t.satellite !== 'string' || !num(t.totalMs) || !num(t.startedAt)) continue;
      // Running (endsAt), paused (leftMs) or due: a timer that is none of these could never end.
      if (!t.due && !num(t.endsAt) && !num(t.leftMs)) continue;
      this.timers.set(t.id, t);
    }
  }

  /** Renames an unreadable file out of the way (`timers.json.bad-<time>`); returns its new name. */
  setAside(): string | undefined {
    if (!this.file || !fs.existsSync(this.file)) return undefined;
    const aside = `${this.file}.bad-${new Date(this.clock()).toISOString().replace(/[:.]/g, '-')}`;
    fs.renameSync(this.file, aside);
    return aside;
  }

  private save(): void {
    if (!this.file) return;
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      fs.writeFileSync(tmp, `${JSON.stringify({ version: FILE_VERSION, timers: [...this.timers.values()] }, null, 1)}\n`, { mode: 0o600 });
      fs.renameSync(tmp, this.file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      this.onError(err);
    }
  }

  start(satellite: string, room: string, ms: number, name?: string): Timer {
    const now = this.clock();
    const t: Timer = { id: randomUUID(), satellite, room, totalMs: ms, endsAt: now + ms, startedAt: now, ...(name ? { name } : {}) };
    this.timers.set(t.id, t);
    this.save();
    return t;
  }

  /** A satellite's timers not yet rung, newest first. */
  of(satellite: string): Timer[] {
    return [...this.timers.values()].filter((t) => t.satellite === satellite && !t.due).sort((a, b) => b.startedAt - a.startedAt);
  }

  /** Ends a timer (cancelled, or rung). */
  remove(t: Timer): void {
    this.timers.delete(t.id);
    this.save();
  }

  pause(t: Timer): void {
    if (t.endsAt === undefined) return;
    t.leftMs = Math.max(0, t.endsAt - this.clock());
    delete t.endsAt;
    this.save();
  }

  resume(t: Timer): void {
    if (t.leftMs === undefined) return;
    t.endsAt = this.clock() + t.leftMs;
    delete t.leftMs;
    this.save();
  }

  /** Adds (or, negative, removes) time; a timer never goes below 1 s left. */
  add(t: Timer, ms: number): void {
    const left = this.leftMs(t);
    const next = Math.max(1000, left + ms);
    t.totalMs += next - left;
    if (t.endsAt !== undefined) t.endsAt = this.clock() + next;
    else t.leftMs = next;
    this.save();
  }

  leftMs(t: Timer): number {
    if (t.due) return 0;
    return t.endsAt !== undefined ? Math.max(0, t.endsAt - this.clock()) : (t.leftMs ?? 0);
  }

  /** Running timers whose time is up: now due (kept until they have rung). */
  expire(): Timer[] {
    const now = this.clock();
    const ended = [...this.timers.values()].filter((t) => !t.due && t.endsAt !== undefined && t.endsAt <= now);
    for (const t of ended) t.due = true;
    if (ended.length) this.save();
    return ended;
  }

  /** Timers that ended and have not rung, for a satellite (or all). */
  dueFor(satellite?: string): Timer[] {
    return [...this.timers.values()].filter((t) => t.due && (satellite === undefined || t.satellite === satellite));
  }

  /** Ms until the next running timer ends; undefined when none runs. */
  nextInMs(): number | undefined {
    const ends = [...this.timers.values()].filter((t) => !t.due && t.endsAt !== undefined).map((t) => (t.endsAt as number) - this.clock());
    return ends.length ? Math.max(0, Math.min(...ends)) : undefined;
  }

  get size(): number {
    return this.timers.size;
  }

  satellites(): string[] {
    return [...new Set([...this.timers.values()].map((t) => t.satellite))];
  }

  info(t: Timer): TimerInfo {
    const left = this.leftMs(t);
    return {
      id: t.id,
      ...(t.name ? { name: t.name } : {}),
      totalS: Math.round(t.totalMs / 1000),
      remainingS: Math.ceil(left / 1000),
      paused: t.leftMs !== undefined,
      ...(t.endsAt !== undefined && !t.due ? { endsAt: new Date(t.endsAt).toISOString() } : {}),
    };
  }
}
