/**
 * The sessions the hub holds, and how each one ends: finalising (the
 * satellite is told to end when the hub, not the satellite, ended it), the
 * wait for the final (as long as the audio left to decode needs, at most
 * session.finalTimeoutMs, then the last partial, marked incomplete), the
 * final transcript, a failure, and the record of recently ended ids whose
 * late messages are dropped quietly. manager.ts receives the messages and
 * builds on this.
 */
import type { ErrorCode, VoiceError } from '../../common/errors';
import { BYTES_PER_MS, type CommandPayload, type EndReason, type FinalReason } from '../../common/protocol';
import type { HubContext } from '../feature';
import { textOf, type Word } from '../stt/engine';
import type { Stt, SttHandle } from '../stt/pool';
import type { SessionTranscripts } from './transcripts';

export interface Session {
  id: string;
  satellite: string;
  room: string;
  wakeAt: number;
  bytes: number;
  stt: SttHandle;
  out: SessionTranscripts;
  state: 'live' | 'finalizing';
  reason?: FinalReason;
  finalRequestedAt?: number;
  idleTimer?: NodeJS.Timeout;
  /** Audio the recognizer had decoded at its latest partial, ms, and that partial's words (a late final falls back on them). */
  heardMs: number;
  words: Word[];
  /** The satellite ends utterances itself (audio/start vad): an engine endpoint then waits for the audio to stop. */
  vad: boolean;
  /** The engine found an endpoint in such a session: it ends once no audio came for ENDPOINT_QUIET_MS. */
  endpointSeen: boolean;
  /** The text when the engine last said "endpoint": new words after it mean the person spoke on, and the endpoint no longer counts. */
  endpointText?: string;
  /** Whose words the latest result was, when the engine decodes with the command model too (SessionManager.pick). */
  decoder?: 'commands' | 'open';
  /** What the general model heard (wake word dropped), when the command model's words were taken. */
  openText?: string;
  /** Semantic end of speech: the latest text judged, and whether it is a complete command (commands.ts). */
  complete?: { text: string; yes: boolean };
}

/** What the intent templates say of a transcript (hub/intents). */
export interface CommandJudge {
  /** An exact match of a template. */
  isCommand(text: string): boolean;
  /** An exact match that no template could go on from (semantic end of speech). */
  isComplete(text: string): boolean;
}

const RECENT_LIMIT = 256;
/** The wait for a final when the STT backend cannot estimate it (no admission control in front). */
const FINAL_WAIT_MS = 10000;

export abstract class SessionBook {
  protected readonly sessions = new Map<string, Session>(); // by session id
  protected readonly bySatellite = new Map<string, string>(); // satellite -> live session id
  protected readonly recent = new Set<string>(); // recently ended session ids: late frames are dropped quietly
  /** Counters for status, tests and benchmarks. */
  readonly stats = { opened: 0, finalized: 0, errors: 0 };

  constructor(
    protected readonly ctx: HubContext,
    protected readonly stt: Stt,
  ) {}

  get liveCount(): number {
    return this.sessions.size;
  }

  protected error(satellite: string, code: ErrorCode, message: string, sessionId: string | undefined): void {
    this.stats.errors++;
    this.ctx.errors.report(code, message, { satellite, sessionId });
  }

  /**
   * Ends the session's audio and asks the recognizer for its final; or, given
   * `heard`, takes those words (the latest partial's) as the final at once and
   * frees the recognizer without a final pass (a complete command: commands.ts).
   */
  protected finalize(s: Session, reason: FinalReason, heard?: Word[]): void {
    if (s.state !== 'live') return;
    s.state = 'finalizing';
    s.reason = reason;
    s.finalRequestedAt = Date.now();
    clearTimeout(s.idleTimer);
    // Ask the satellite to stop streaming when the hub, not the satellite, ended the session.
    // ('end' only ends streaming; 'stop' from an automation would also cut off the reply.)
    if (reason !== 'stop' && reason !== 'offline') this.tellEnd(s.satellite, s.id);
    this.ctx.bus.emit('sessionFinalizing', { satellite: s.satellite, sessionId: s.id, reason });
    if (heard) {
      s.stt.abort();
      return this.onFinal(s, heard, undefined, 0);
    }
    this.awaitFinal(s);
    s.stt.finish();
  }

  /**
   * Waits for the final as long as the audio still to decode needs at the
   * measured speed (the STT backend's estimate, admission.ts), at most
   * session.finalTimeoutMs from the request; then publishes the best partial.
   */
  protected awaitFinal(s: Session): void {
    clearTimeout(s.idleTimer);
    const backlogMs = Math.max(0, s.bytes / BYTES_PER_MS - s.heardMs);
    const left = this.ctx.config.session.finalTimeoutMs - (Date.now() - (s.finalRequestedAt ?? Date.now()));
    s.idleTimer = setTimeout(() => this.onFinalLate(s, backlogMs), Math.max(0, Math.min(left, this.stt.finalWaitMs?.(s.id, backlogMs) ?? FINAL_WAIT_MS)));
    s.idleTimer.unref();
  }

  /** No final in time: the latest partial becomes the final, marked incomplete, and the recognizer is freed. */
  protected onFinalLate(s: Session, backlogMs: number): void {
    this.error(s.satellite, 'VOICE_STT_TIMEOUT', `no final transcript ${Date.now() - (s.finalRequestedAt ?? 0)} ms after it was asked for (${Math.round(backlogMs)} ms of audio were left to decode); the last partial is published as the final, marked incomplete`, s.id);
    s.stt.abort();
    this.onFinal(s, s.words, undefined, 0, true);
  }

  protected onFinal(s: Session, words: Word[], confidence: number | undefined, decodeMs: number, incomplete = false): void {
    const { payload, dropped } = s.out.final(words, s.reason ?? 'stop', confidence);
    if (incomplete) payload.incomplete = true;
    if (s.decoder) payload.decoder = s.decoder;
    if (s.decoder === 'commands' && s.openText !== undefined) payload.openText = s.openText;
    const text = payload.text;
    const finalizeMs = s.finalRequestedAt === undefined ? undefined : Date.now() - s.finalRequestedAt;
    payload.timings.finalizeMs = finalizeMs;
    this.ctx.mqtt.publish(this.ctx.topics.transcript(s.satellite), JSON.stringify(payload), { qos: 1 });
    this.stats.finalized++;
    const wake = dropped.length > 0 ? { wakeMs: s.out.wakeMs, wakeWords: textOf(dropped) } : {};
    this.ctx.log.info({ satellite: s.satellite, sessionId: s.id, text, reason: payload.reason, finalizeMs, decodeMs, audioMs: payload.timings.audioMs, ...wake }, 'final transcript');
    this.ctx.bus.emit('transcript', payload);
    this.end(s, payload.reason ?? 'stop');
  }

  /** Asks the satellite to stop streaming session `sessionId` (the hub ended it); a refusal for VOICE_BUSY says so (the satellite plays its busy tone), as does a lost arbitration. */
  protected tellEnd(satellite: string, sessionId: string, code?: string, why?: EndReason): void {
    const reason = why ?? (code === 'VOICE_BUSY' ? 'busy' : undefined);
    const cmd: CommandPayload = reason ? { command: 'end', sessionId, reason } : { command: 'end', sessionId };
    this.ctx.mqtt.publish(this.ctx.topics.command(satellite), JSON.stringify(cmd), { qos: 1 });
  }

  protected onSttError(s: Session, err: VoiceError): void {
    this.error(s.satellite, err.code, err.message, s.id);
    // A session that failed while the satellite still streams: its audio would go nowhere. A refused
    // one is told even when the satellite has stopped: it plays the busy tone.
    if (s.state === 'live' || err.code === 'VOICE_BUSY') this.tellEnd(s.satellite, s.id, err.code);
    s.stt.abort();
    this.end(s, 'error');
  }

  /** Ends a live session the hub will not go on with (a limit, reported already): no final transcript; the satellite is told to stop streaming. */
  protected cut(s: Session): void {
    this.tellEnd(s.satellite, s.id);
    s.stt.abort();
    this.end(s, 'error');
  }

  protected abort(s: Session): void {
    s.stt.abort();
    this.end(s, 'aborted');
  }

  protected end(s: Session, reason: FinalReason | 'aborted'): void {
    if (!this.sessions.has(s.id)) return;
    s.out.clear();
    clearTimeout(s.idleTimer);
    this.sessions.delete(s.id);
    if (this.bySatellite.get(s.satellite) === s.id) this.bySatellite.delete(s.satellite);
    this.remember(s.id);
    this.ctx.bus.emit('sessionClosed', { satellite: s.satellite, sessionId: s.id, reason });
  }

  /** An ended (or refused) session id: its late messages are dropped quietly. */
  protected remember(sessionId: string): void {
    this.recent.add(sessionId);
    if (this.recent.size > RECENT_LIMIT) this.recent.delete(this.recent.values().next().value as string);
  }
}
