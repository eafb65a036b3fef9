/**
 * Who heard a wake word best. The highest calibrated SNR (the satellite's
 * snrDb plus its wake.calibrationDb) wins; SNRs within `tieDb` of the best
 * tie, and the wake score decides between them, then the earliest wake. A
 * satellite that sent no levels ranks below every one that did.
 */
import type { WakePayload } from '../../common/protocol';

export interface Ranked {
  wake: Pick<WakePayload, 'snrDb' | 'calibrationDb' | 'score'>;
  /** Date.now() when the wake reached the hub. */
  at: number;
}

/** snrDb + calibrationDb, or undefined without levels. */
export function rankDb(w: Ranked['wake']): number | undefined {
  return w.snrDb === undefined ? undefined : w.snrDb + (w.calibrationDb ?? 0);
}

/** The index of the winner among `cands` (at least one). */
export function pickWinner(cands: readonly Ranked[], tieDb: number): number {
  const db = cands.map((c) => rankDb(c.wake) ?? Number.NEGATIVE_INFINITY);
  const best = Math.max(...db);
  const tied = cands.map((_, i) => i).filter((i) => db[i] === best || db[i] >= best - tieDb);
  tied.sort((a, b) => cands[b].wake.score - cands[a].wake.score || cands[a].at - cands[b].at);
  return tied[0];
}
