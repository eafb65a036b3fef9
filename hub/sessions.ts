/**
 * Session manager: a wake opens a session, audio frames stream into a
 * recognizer on a worker thread, partial transcripts are published as they
 * change (throttled), the final one when the satellite sends stop, when the
 * engine detects the endpoint, at the max length, or when audio stops
 * arriving. Every bad message gets a coded error on the satellite's error
 * topic; nothing here throws into the MQTT client.
 */
import type { MqttClient } from 'mqtt';
import { type ErrorCode, toVoiceError, VoiceError } from '../common/errors';
import type { Logger } from '../common/log';
import {
  BYTES_PER_MS,
  type ErrorPayload,
  type FinalReason,
  formatMatches,
  now,
  parseJson,
  parseTopic,
  type Topics,
  type TranscriptPayload,
  validateAudioStart,
  validateAudioStop,
  validateWake,
} from '../common/protocol';
import type { HubConfig } from '../config/hub';
import type { ReplyManager } from './reply/manager';
import type { SttHandle, SttPool } from './stt/pool';

interface Session {
  id: string;
  satellite: string;
  room: string;
  wakeAt: number;
  bytes: number;
  stt: SttHandle;
  state: 'live' | 'finalizing';
  reason?: FinalReason;
  finalRequestedAt?: number;
  lastPartial: string;
  lastPartialAt: number;
  partialTimer?: NodeJS.Timeout;
  idleTimer?: NodeJS.Timeout;
}

export interface SessionContext {
  config: HubConfig;
  mqtt: MqttClient;
  root: string;
  topics: Topics;
  stt: SttPool;
  log: Logger;
  /** Receives final transcripts; its replies are aborted when the satellite wakes again. */
  replies?: ReplyManager;
}

const RECENT_LIMIT = 256;
/**
 * Brokers may deliver QoS 0 audio before the QoS 1 wake that opened its
 * session (aedes does: QoS 1 goes through persistence first). Messages for a
 * session not yet known are held this long, then reported as unknown.
 */
export const ORPHAN_GRACE_MS = 1000;
const ORPHAN_MAX_BYTES = 256 * 1024;
const ORPHAN_MAX_SESSIONS = 64;

interface Orphan {
  satellite: string;
  messages: { topic: string; payload: Buffer }[];
  bytes: number;
  timer: NodeJS.Timeout;
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>(); // by session id
  private readonly bySatellite = new Map<string, string>(); // satellite -> live session id
  private readonly rooms = new Map<string, string>(); // satellite -> room from its status
  private readonly online = new Map<string, boolean>(); // satellite -> presence from its status
  private readonly recent = new Set<string>(); // recently ended session ids: late frames are dropped quietly
  private readonly orphans = new Map<string, Orphan>(); // messages that arrived before their wake
  private readonly ctx: SessionContext;
  /** Counters for status, tests and benchmarks. */
  readonly stats = { opened: 0, finalized: 0, errors: 0 };

  constructor(ctx: SessionContext) {
    this.ctx = ctx;
  }

  get liveCount(): number {
    return this.sessions.size;
  }

  /** Satellites seen (status or wake), with room and presence. */
  satellites(): Map<string, { room: string; online: boolean }> {
    const out = new Map<string, { room: string; online: boolean }>();
    for (const [id, room] of this.rooms) out.set(id, { room, online: this.online.get(id) ?? true });
    return out;
  }

  /** Entry point for every message on the hub's subscriptions. Never throws. */
  handle(topic: string, payload: Buffer): void {
    const t = parseTopic(this.ctx.root, topic);
    if (!t) return;
    try {
      switch (t.kind) {
        case 'wake':
          return this.onWake(t.satellite, topic, payload);
        case 'audioStart':
          if (this.holdOrphan(t.satellite, t.sessionId, topic, payload)) return;
          return this.onAudioStart(t.satellite, t.sessionId, topic, payload);
        case 'audio':
          if (this.holdOrphan(t.satellite, t.sessionId, topic, payload)) return;
          return this.onAudio(t.satellite, t.sessionId, payload);
        case 'audioStop':
          if (this.holdOrphan(t.satellite, t.sessionId, topic, payload)) return;
          return this.onAudioStop(t.satellite, t.sessionId, topic, payload);
        case 'satStatus':
          return this.onSatStatus(t.satellite, payload);
        default:
          return;
      }
    } catch (err) {
      const e = toVoiceError(err);
      this.error(t.satellite, e.code, e.message, 'sessionId' in t ? t.sessionId : undefined);
    }
  }

  /**
   * Holds a message for a session id the hub has not seen (no wake yet, not
   * recently ended). Returns true if held; false if it should be handled now.
   */
  private holdOrphan(satellite: string, sessionId: string, topic: string, payload: Buffer): boolean {
    if (this.sessions.has(sessionId) || this.recent.has(sessionId)) return false;
    let o = this.orphans.get(sessionId);
    if (!o) {
      if (this.orphans.size >= ORPHAN_MAX_SESSIONS) return false;
      const timer = setTimeout(() => {
        this.orphans.delete(sessionId);
        const n = o?.messages.length ?? 0;
        this.error(satellite, 'VOICE_UNKNOWN_SESSION', `no live session ${sessionId} for satellite ${satellite} (no wake within ${ORPHAN_GRACE_MS} ms); ${n} message(s) dropped`, sessionId);
      }, ORPHAN_GRACE_MS);
      timer.unref();
      o = { satellite, messages: [], bytes: 0, timer };
      this.orphans.set(sessionId, o);
    }
    if (o.bytes + payload.length <= ORPHAN_MAX_BYTES) {
      o.messages.push({ topic, payload });
      o.bytes += payload.length;
    }
    return true;
  }

  /** Replays messages that arrived before their wake, in arrival order. */
  private adoptOrphans(sessionId: string): void {
    const o = this.orphans.get(sessionId);
    if (!o) return;
    clearTimeout(o.timer);
    this.orphans.delete(sessionId);
    for (const m of o.messages) this.handle(m.topic, m.payload);
  }

  private error(satellite: string, code: ErrorCode, message: string, sessionId: string | undefined): void {
    this.stats.errors++;
    this.ctx.log.warn({ code, satellite, sessionId }, message);
    const p: ErrorPayload = { code, message, satellite, sessionId, time: now() };
    this.ctx.mqtt.publish(this.ctx.topics.error(satellite), JSON.stringify(p), { qos: 1 });
  }

  private onSatStatus(satellite: string, payload: Buffer): void {
    if (payload.length === 0) return; // retained status cleared
    const o = parseJson(this.ctx.topics.satStatus(satellite), payload);
    if (typeof o.room === 'string') this.rooms.set(satellite, o.room);
    this.online.set(satellite, o.state === 'online');
    if (o.state === 'offline') {
      this.ctx.replies?.abortSatellite(satellite, 'satellite offline');
      const sid = this.bySatellite.get(satellite);
      const s = sid ? this.sessions.get(sid) : undefined;
      if (s) {
        this.ctx.log.info({ satellite, sessionId: s.id }, 'satellite went offline mid-session');
        this.finalize(s, 'offline');
      }
    }
  }

  private onWake(satellite: string, topic: string, payload: Buffer): void {
    const w = validateWake(topic, parseJson(topic, payload));
    // A new wake interrupts whatever the satellite was saying (barge-in).
    this.ctx.replies?.abortSatellite(satellite, 'wake');
    const liveId = this.bySatellite.get(satellite);
    if (liveId) {
      this.error(satellite, 'VOICE_SESSION_BUSY', `satellite ${satellite} already has live session ${liveId}; wake ${w.sessionId} ignored`, w.sessionId);
      return;
    }
    if (this.sessions.has(w.sessionId) || this.recent.has(w.sessionId)) {
      this.error(satellite, 'VOICE_BAD_PAYLOAD', `session id ${w.sessionId} was already used`, w.sessionId);
      return;
    }
    if (this.sessions.size >= this.ctx.config.stt.maxSessions) {
      this.error(satellite, 'VOICE_SESSION_LIMIT', `hub is at stt.maxSessions=${this.ctx.config.stt.maxSessions}; wake refused`, w.sessionId);
      return;
    }
    if (w.room) this.rooms.set(satellite, w.room);
    const s: Session = {
      id: w.sessionId,
      satellite,
      room: w.room ?? this.rooms.get(satellite) ?? 'default',
      wakeAt: Date.now(),
      bytes: 0,
      state: 'live',
      lastPartial: '',
      lastPartialAt: 0,
      stt: null as unknown as SttHandle,
    };
    s.stt = this.ctx.stt.open(s.id, {
      partial: (text, endpoint) => this.onPartial(s, text, endpoint),
      final: (text, confidence, decodeMs) => this.onFinal(s, text, confidence, decodeMs),
      error: (err) => this.onSttError(s, err),
    });
    this.sessions.set(s.id, s);
    this.bySatellite.set(satellite, s.id);
    this.stats.opened++;
    this.touch(s);
    this.ctx.log.info({ satellite, sessionId: s.id, wakeWord: w.wakeWord, score: w.score }, 'session opened');
    this.adoptOrphans(s.id);
  }

  /** Finds the live session a message refers to, or reports VOICE_UNKNOWN_SESSION. */
  private live(satellite: string, sessionId: string): Session | undefined {
    const s = this.sessions.get(sessionId);
    if (s && s.satellite === satellite) return s;
    if (!this.recent.has(sessionId)) {
      this.error(satellite, 'VOICE_UNKNOWN_SESSION', `no live session ${sessionId} for satellite ${satellite}`, sessionId);
    }
    return undefined;
  }

  private onAudioStart(satellite: string, sessionId: string, topic: string, payload: Buffer): void {
    const a = validateAudioStart(topic, parseJson(topic, payload));
    const s = this.live(satellite, sessionId);
    if (!s) return;
    if (!formatMatches(a.format)) {
      this.error(satellite, 'VOICE_AUDIO_FORMAT', `unsupported audio format ${JSON.stringify(a.format)}; send s16le, 16000 Hz, 1 channel. Session aborted.`, sessionId);
      this.abort(s);
    }
  }

  private onAudio(satellite: string, sessionId: string, payload: Buffer): void {
    const s = this.live(satellite, sessionId);
    if (!s || s.state !== 'live') return;
    const max = this.ctx.config.session.maxFrameBytes;
    if (payload.length > max) {
      this.error(satellite, 'VOICE_FRAME_TOO_LARGE', `audio frame of ${payload.length} bytes exceeds session.maxFrameBytes=${max}; dropped`, sessionId);
      return;
    }
    if (payload.length % 2 !== 0) {
      this.error(satellite, 'VOICE_AUDIO_FORMAT', `audio frame of ${payload.length} bytes is not whole 16-bit samples; dropped`, sessionId);
      return;
    }
    if (payload.length === 0) return;
    s.bytes += payload.length;
    s.stt.audio(payload);
    this.touch(s);
    if (s.bytes / BYTES_PER_MS >= this.ctx.config.session.maxLengthMs) this.finalize(s, 'max-length');
  }

  private onAudioStop(satellite: string, sessionId: string, topic: string, payload: Buffer): void {
    validateAudioStop(topic, parseJson(topic, payload));
    const s = this.live(satellite, sessionId);
    if (s) this.finalize(s, 'stop');
  }

  /**
   * Partials keep flowing while the session is finalising: a worker that lags
   * behind real time still decodes its backlog before the final, and what it
   * hears on the way is published in order, before the final.
   */
  private onPartial(s: Session, text: string, endpoint: boolean): void {
    if (!this.sessions.has(s.id)) return;
    const cfg = this.ctx.config.session;
    if (endpoint && s.state === 'live' && cfg.endpoint && s.bytes / BYTES_PER_MS >= cfg.endpointMinMs && text !== '') {
      this.finalize(s, 'endpoint');
      return;
    }
    if (text === s.lastPartial || text === '') return;
    const wait = s.lastPartialAt + cfg.partialIntervalMs - Date.now();
    s.lastPartial = text;
    if (wait <= 0) this.publishPartial(s);
    else if (!s.partialTimer) s.partialTimer = setTimeout(() => this.publishPartial(s), wait);
  }

  private publishPartial(s: Session): void {
    clearTimeout(s.partialTimer);
    s.partialTimer = undefined;
    if (!this.sessions.has(s.id)) return;
    s.lastPartialAt = Date.now();
    this.ctx.mqtt.publish(this.ctx.topics.transcriptPartial(s.satellite), JSON.stringify(this.transcript(s, s.lastPartial, false)), { qos: 0 });
  }

  private transcript(s: Session, text: string, final: boolean, extra: Pick<TranscriptPayload, 'reason' | 'confidence'> = {}): TranscriptPayload {
    return {
      sessionId: s.id,
      satellite: s.satellite,
      room: s.room,
      text,
      final,
      engine: this.ctx.stt.engineName,
      ...extra,
      time: now(),
      timings: { audioMs: Math.round(s.bytes / BYTES_PER_MS), sinceWakeMs: Date.now() - s.wakeAt },
    };
  }

  private touch(s: Session): void {
    clearTimeout(s.idleTimer);
    s.idleTimer = setTimeout(() => {
      this.error(s.satellite, 'VOICE_SESSION_TIMEOUT', `no audio from ${s.satellite} for ${this.ctx.config.session.timeoutMs} ms; session ${s.id} ended`, s.id);
      this.finalize(s, 'timeout');
    }, this.ctx.config.session.timeoutMs);
    s.idleTimer.unref();
  }

  private finalize(s: Session, reason: FinalReason): void {
    if (s.state !== 'live') return;
    s.state = 'finalizing';
    s.reason = reason;
    s.finalRequestedAt = Date.now();
    clearTimeout(s.idleTimer);
    // Ask the satellite to stop streaming when the hub, not the satellite, ended the session.
    // ('end' only ends streaming; 'stop' from an automation would also cut off the reply.)
    if (reason !== 'stop') this.ctx.mqtt.publish(this.ctx.topics.command(s.satellite), JSON.stringify({ command: 'end', sessionId: s.id }), { qos: 1 });
    // A worker that never answers must not leak the session.
    s.idleTimer = setTimeout(() => this.onSttError(s, new VoiceError('VOICE_STT_FAILED', 'the recognizer did not return a final result in time')), 10000);
    s.idleTimer.unref();
    s.stt.finish();
  }

  private onFinal(s: Session, text: string, confidence: number | undefined, decodeMs: number): void {
    clearTimeout(s.partialTimer);
    const finalizeMs = s.finalRequestedAt === undefined ? undefined : Date.now() - s.finalRequestedAt;
    const payload = this.transcript(s, text, true, { reason: s.reason ?? 'stop', confidence });
    payload.timings.finalizeMs = finalizeMs;
    this.ctx.mqtt.publish(this.ctx.topics.transcript(s.satellite), JSON.stringify(payload), { qos: 1 });
    this.stats.finalized++;
    this.ctx.replies?.onTranscript(payload);
    this.ctx.log.info({ satellite: s.satellite, sessionId: s.id, text, reason: payload.reason, finalizeMs, decodeMs, audioMs: payload.timings.audioMs }, 'final transcript');
    this.end(s);
  }

  private onSttError(s: Session, err: VoiceError): void {
    this.error(s.satellite, err.code, err.message, s.id);
    s.stt.abort();
    this.end(s);
  }

  private abort(s: Session): void {
    s.stt.abort();
    this.end(s);
  }

  private end(s: Session): void {
    clearTimeout(s.partialTimer);
    clearTimeout(s.idleTimer);
    this.sessions.delete(s.id);
    if (this.bySatellite.get(s.satellite) === s.id) this.bySatellite.delete(s.satellite);
    this.recent.add(s.id);
    if (this.recent.size > RECENT_LIMIT) this.recent.delete(this.recent.values().next().value as string);
  }

  /** Ends every session (hub shutdown). */
  stop(): void {
    for (const s of [...this.sessions.values()]) this.abort(s);
    for (const o of this.orphans.values()) clearTimeout(o.timer);
    this.orphans.clear();
  }
}
