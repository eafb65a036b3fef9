/**
 * Brokers may deliver QoS 0 audio before the QoS 1 wake that opened its
 * session (aedes does: QoS 1 goes through persistence first). Messages for a
 * session the hub does not know yet are held here for ORPHAN_GRACE_MS, then
 * dropped with VOICE_UNKNOWN_SESSION; when the wake arrives they are replayed
 * in arrival order. A wake under arbitration pins its session: its messages
 * are held with no time limit until it is adopted (won) or dropped (lost).
 */
export const ORPHAN_GRACE_MS = 1000;
const ORPHAN_MAX_BYTES = 256 * 1024;
const ORPHAN_MAX_SESSIONS = 64;

export interface HeldMessage {
  topic: string;
  payload: Buffer;
  replay: () => void;
}

interface Orphan {
  messages: HeldMessage[];
  bytes: number;
  /** Undefined while pinned. */
  timer: NodeJS.Timeout | undefined;
}

export class OrphanBuffer {
  private readonly orphans = new Map<string, Orphan>();

  /** `expired(n)` is called when a held session's grace ends with no wake. */
  constructor(private readonly expired: (satellite: string, sessionId: string, dropped: number) => void) {}

  /** Holds a message; false when the buffer is full and the message must be handled now. */
  hold(satellite: string, sessionId: string, m: HeldMessage): boolean {
    let o = this.orphans.get(sessionId);
    if (!o) {
      if (this.orphans.size >= ORPHAN_MAX_SESSIONS) return false;
      const timer = setTimeout(() => {
        this.orphans.delete(sessionId);
        this.expired(satellite, sessionId, o?.messages.length ?? 0);
      }, ORPHAN_GRACE_MS);
      timer.unref();
      o = { messages: [], bytes: 0, timer };
      this.orphans.set(sessionId, o);
    }
    if (o.bytes + m.payload.length <= ORPHAN_MAX_BYTES) {
      o.messages.push(m);
      o.bytes += m.payload.length;
    }
    return true;
  }

  /** Holds the session's messages until adopt() or drop(), however long (its wake is being arbitrated). */
  pin(sessionId: string): void {
    const o = this.orphans.get(sessionId);
    if (o) {
      clearTimeout(o.timer);
      o.timer = undefined;
    } else {
      this.orphans.set(sessionId, { messages: [], bytes: 0, timer: undefined });
    }
  }

  /** Sessions held now. */
  get size(): number {
    return this.orphans.size;
  }

  pinned(sessionId: string): boolean {
    const o = this.orphans.get(sessionId);
    return o !== undefined && o.timer === undefined;
  }

  /** Forgets what was held for the session (its wake lost arbitration). */
  drop(sessionId: string): void {
    clearTimeout(this.orphans.get(sessionId)?.timer);
    this.orphans.delete(sessionId);
  }

  /** Replays what was held for the session, in arrival order. */
  adopt(sessionId: string): void {
    const o = this.orphans.get(sessionId);
    if (!o) return;
    clearTimeout(o.timer);
    this.orphans.delete(sessionId);
    for (const m of o.messages) m.replay();
  }

  clear(): void {
    for (const o of this.orphans.values()) clearTimeout(o.timer);
    this.orphans.clear();
  }
}
