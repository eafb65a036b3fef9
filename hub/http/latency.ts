/**
 * The three latencies the metrics and the dashboard both show, taken from
 * the bus in one place: wake -> the session's first audio, end of speech ->
 * final transcript, final transcript -> the reply's first audio.
 */
import type { EventBus } from '../bus';

export type LatencyKind = 'wakeToAudio' | 'speechToFinal' | 'finalToSpeech';

/** Calls fn(kind, ms) for each latency as it is known; the listeners are filed under owner (bus.removeOwner). */
export function watchLatencies(bus: EventBus, owner: object, fn: (kind: LatencyKind, ms: number) => void): void {
  /** Final transcripts waiting for their reply's first audio: session id -> when the final came. */
  const finals = new Map<string, number>();
  bus.on(owner, 'sessionAudio', (e) => fn('wakeToAudio', e.sinceWakeMs));
  bus.on(owner, 'transcript', (t) => {
    if (!t.final) return;
    if (t.timings.finalizeMs !== undefined) fn('speechToFinal', t.timings.finalizeMs);
    finals.set(t.sessionId, Date.now());
    if (finals.size > 256) finals.delete(finals.keys().next().value as string);
  });
  bus.on(owner, 'replySpeaking', (e) => {
    const at = finals.get(e.sessionId);
    if (at === undefined) return; // an announcement or a ring: no transcript before it
    finals.delete(e.sessionId);
    fn('finalToSpeech', Date.now() - at);
  });
  bus.on(owner, 'replyFinished', (e) => finals.delete(e.sessionId));
}
