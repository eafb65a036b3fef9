/**
 * Which satellites usually hear the same wake words as a given one, learned
 * from recent arbitrations: the window can close as soon as those have
 * reported instead of waiting for its bound. For each satellite the last
 * RECORDS decisions it took part in are kept, with which other satellites of
 * the group were online then and which of them heard the wake word too.
 * Another satellite is expected unless it was online in at least MIN_SEEN of
 * those decisions and heard none of them: one it knows too little about is
 * waited for, so a new or rarely seen satellite is never cut off by learning.
 * A satellite that comes in late (a late duplicate) joins the decision it
 * was late for: it is waited for again from the next wake on.
 */
const RECORDS = 10;
const MIN_SEEN = 3;

export interface Record {
  online: Set<string>;
  fired: Set<string>;
}

export class CoFireHistory {
  private readonly bySatellite = new Map<string, Record[]>();

  /** One decision: the satellites that heard it, and every satellite of the group online at the time. */
  record(fired: readonly string[], online: readonly string[]): Record {
    const rec: Record = { online: new Set(online), fired: new Set(fired) };
    for (const id of fired) this.keep(id, rec);
    return rec;
  }

  /** A satellite heard a decided wake word after all (a late duplicate): it co-fires with that decision's satellites. */
  join(rec: Record, id: string): void {
    rec.online.add(id);
    if (rec.fired.has(id)) return;
    rec.fired.add(id);
    this.keep(id, rec);
  }

  private keep(id: string, rec: Record): void {
    const list = this.bySatellite.get(id) ?? [];
    list.push(rec);
    if (list.length > RECORDS) list.shift();
    this.bySatellite.set(id, list);
  }

  /** Of `others` (online now), those to wait for after `first` fired. */
  expected(first: string, others: readonly string[]): string[] {
    const list = this.bySatellite.get(first) ?? [];
    return others.filter((id) => {
      const seen = list.filter((r) => r.online.has(id));
      return seen.length < MIN_SEEN || seen.some((r) => r.fired.has(id));
    });
  }
}
