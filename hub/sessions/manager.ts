/**
 * Session manager: a wake opens a session, audio frames stream into a
 * recognizer on a worker thread, partial transcripts are published as they
 * change (throttled), the final one when the satellite sends stop, when the
 * engine detects the endpoint, at the max length, when audio stops arriving,
 * or when the satellite goes offline. What a session publishes, without the
 * wake word's words, is transcripts.ts's; an engine endpoint needs a word of
 * the command, and a satellite that has its own VAD (audio/start vad) is
 * ended by it only once its audio stops. How sessions end is book.ts's. It tells the rest of the hub what
 * happened on the bus (wake, sessionOpened, sessionFinalizing, transcript,
 * sessionClosed); it calls no other feature. A wake-word wake waits for the
 * arbiter (hub/arbitration) when there is one, its audio held meanwhile; a
 * lost one is told end (arbitration-lost) and opens nothing. Every bad
 * message gets a coded error on the satellite's error topic. Each satellite's wake rate and audio
 * bandwidth are limits.ts's to judge.
 */
import { toVoiceError } from '../../common/errors';
import { BYTES_PER_MS, formatMatches, parseJson, validateAudioStart, validateAudioStop, validateWake, type TranscriptPayload, type WakePayload } from '../../common/protocol';
import type { WakeArbiter } from '../arbitration/arbiter';
import type { Feature, HubContext, TopicHandlers } from '../feature';
import type { Word } from '../stt/engine';
import type { Stt, SttHandle } from '../stt/pool';
import { type CommandJudge, type Session, SessionBook } from './book';
import { SessionCommands } from './commands';
import { SessionLimits } from './limits';
import { OrphanBuffer } from './orphans';
import { SessionTranscripts } from './transcripts';

/** How long audio must have stopped, after an engine endpoint, before a satellite that has its own VAD is ended by it. */
const ENDPOINT_QUIET_MS = 1000;
/** A client that sends no audio/start (it is optional for third-party satellites) gets partials after this much audio. */
const NO_START_MS = 1000;

export class SessionManager extends SessionBook implements Feature {
  readonly name = 'sessions';
  readonly subscriptions: string[];
  readonly handlers: TopicHandlers;
  private readonly orphans: OrphanBuffer;
  private readonly limits: SessionLimits;
  /** Satellite -> the session id of its wake the arbiter has not decided yet. */
  private readonly pending = new Map<string, string>();

  /** The command model's words, and semantic end of speech (commands.ts). */
  private readonly understanding: SessionCommands;

  /**
   * `arbiter`: cross-room arbitration (hub/arbitration); without it every wake opens its session at once.
   * `commands`: what the intent templates say of a session's words (hub/intents); without it the general
   * model's words are the transcript and sessions end as the satellite or the engine says.
   */
  constructor(
    ctx: HubContext,
    stt: Stt,
    private readonly arbiter?: WakeArbiter,
    commands?: CommandJudge,
  ) {
    super(ctx, stt);
    this.understanding = new SessionCommands(ctx, commands, (s, heard) => this.finalize(s, 'complete', heard));
    const s = ctx.topics.sub;
    this.subscriptions = [s.allWakes, s.allAudio];
    this.limits = new SessionLimits({ settings: ctx.config.session, report: (sat, code, message, sid) => this.error(sat, code, message, sid) });
    this.orphans = new OrphanBuffer((satellite, sessionId, n) =>
      this.error(satellite, 'VOICE_UNKNOWN_SESSION', `no live session ${sessionId} for satellite ${satellite} (no wake within the grace period); ${n} message(s) dropped`, sessionId),
    );
    // Messages for a session not seen yet are held until its wake (see orphans.ts).
    const held = <T extends { satellite: string; sessionId: string }>(fn: (t: T, payload: Buffer, topic: string) => void) => (t: T, payload: Buffer, topic: string) => {
      const known = this.sessions.has(t.sessionId) || this.recent.has(t.sessionId);
      const replay = () => this.run(t, () => fn(t, payload, topic));
      if (!known && this.orphans.hold(t.satellite, t.sessionId, { topic, payload, replay })) return;
      fn(t, payload, topic);
    };
    this.handlers = {
      wake: (t, payload, topic) => this.onWake(t.satellite, topic, payload),
      audioStart: held((t, payload, topic) => this.onAudioStart(t.satellite, t.sessionId, topic, payload)),
      audio: held((t, payload) => this.onAudio(t.satellite, t.sessionId, payload)),
      audioStop: held((t, payload, topic) => this.onAudioStop(t.satellite, t.sessionId, topic, payload)),
    };
  }

  start(): void {
    this.ctx.bus.on(this, 'satelliteOffline', (sat) => {
      const sid = this.bySatellite.get(sat.id);
      const s = sid ? this.sessions.get(sid) : undefined;
      if (!s) return;
      this.ctx.log.info({ satellite: sat.id, sessionId: s.id }, 'satellite went offline mid-session');
      this.finalize(s, 'offline');
    });
  }

  /** Runs a replayed handler, reporting what it throws as the router would. */
  private run(t: { satellite: string; sessionId: string }, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.stats.errors++;
      this.ctx.errors.reportError(err, 'VOICE_BAD_PAYLOAD', { satellite: t.satellite, sessionId: t.sessionId });
    }
  }

  private onWake(satellite: string, topic: string, payload: Buffer): void {
    const w = validateWake(topic, parseJson(topic, payload));
    const at = Date.now();
    // Features hear every wake, refused or not: a new wake interrupts a reply (barge-in).
    this.ctx.bus.emit('wake', { satellite, wake: w });
    const liveId = this.bySatellite.get(satellite) ?? this.pending.get(satellite);
    if (liveId) {
      this.error(satellite, 'VOICE_SESSION_BUSY', `satellite ${satellite} already has live session ${liveId}; wake ${w.sessionId} ignored`, w.sessionId);
      return;
    }
    if (this.sessions.has(w.sessionId) || this.recent.has(w.sessionId) || this.orphans.pinned(w.sessionId)) {
      this.error(satellite, 'VOICE_BAD_PAYLOAD', `session id ${w.sessionId} was already used`, w.sessionId);
      return;
    }
    if (!this.limits.admitWake(satellite, w.sessionId)) return this.refuse(satellite, w.sessionId);
    const room = this.ctx.registry.roomOf(satellite, w.room);
    // Listen and follow-up sessions are addressed to this satellite: never arbitrated (older satellites send no openedBy, only the wake word's name).
    const byWakeWord = (w.openedBy ?? (w.wakeWord === 'listen' || w.wakeWord === 'follow-up' ? 'remote' : 'wake')) === 'wake';
    if (!this.arbiter || !byWakeWord) return void this.open(satellite, room, w, at);
    // Its audio is held until the arbiter decides (no speech is lost whoever wins).
    this.pending.set(satellite, w.sessionId);
    this.orphans.pin(w.sessionId);
    let decided = false;
    const decide = (verdict: 'won' | 'lost'): boolean => {
      if (decided) return false;
      decided = true;
      this.pending.delete(satellite);
      if (verdict === 'won') {
        let opened = false;
        this.run({ satellite, sessionId: w.sessionId }, () => (opened = this.open(satellite, room, w, at)));
        return opened;
      }
      // Another satellite heard it better: this one goes back to idle quietly (no error, no earcon).
      this.ctx.log.info({ satellite, sessionId: w.sessionId }, 'wake lost arbitration');
      this.remember(w.sessionId);
      this.tellEnd(satellite, w.sessionId, undefined, 'arbitration-lost');
      this.orphans.drop(w.sessionId);
      return false;
    };
    try {
      this.arbiter.submit({ satellite, room, wake: w }, decide);
    } catch (err) {
      // The arbiter failed: the wake is served as if arbitration were off.
      this.ctx.log.error({ code: 'VOICE_INTERNAL', err, satellite, sessionId: w.sessionId }, 'arbitration failed; the wake opens its session');
      decide('won');
    }
  }

  /** Opens the wake's session (alone, or it won arbitration): a recognizer, then its held audio. False when refused. */
  private open(satellite: string, room: string, w: WakePayload, wakeAt: number): boolean {
    const max = this.ctx.config.stt.maxSessions;
    if (this.sessions.size >= max) {
      this.error(satellite, 'VOICE_SESSION_LIMIT', `hub is at stt.maxSessions=${max}; wake refused`, w.sessionId);
      this.refuse(satellite, w.sessionId);
      return false;
    }
    const audioMs = () => s.bytes / BYTES_PER_MS;
    const source = { sessionId: w.sessionId, satellite, room, engine: this.stt.engineName, wakeAt, wakeWord: w.wakeWord, audioMs };
    const publish = (p: TranscriptPayload) => {
      this.ctx.mqtt.publish(this.ctx.topics.transcriptPartial(satellite), JSON.stringify(p), { qos: 0 });
      this.ctx.bus.emit('partial', p);
    };
    const s: Session = {
      id: w.sessionId,
      satellite,
      room,
      wakeAt,
      bytes: 0,
      state: 'live',
      out: new SessionTranscripts(source, this.ctx.config.session, publish),
      heardMs: 0,
      words: [],
      vad: false,
      endpointSeen: false,
      stt: null as unknown as SttHandle,
    };
    try {
      s.stt = this.stt.open(s.id, {
        partial: (words, endpoint, audioMs, commands) => this.onPartial(s, this.understanding.pick(s, words, commands), endpoint, audioMs),
        final: (words, confidence, decodeMs, commands) => this.onFinal(s, this.understanding.pick(s, words, commands), confidence, decodeMs),
        error: (err) => this.onSttError(s, err),
      });
    } catch (err) {
      // No recognizer (the hub is at its decoding limit, or the STT process is restarting): refuse the wake,
      // and stop the satellite streaming into nothing.
      const e = toVoiceError(err, 'VOICE_STT_FAILED');
      this.error(satellite, e.code, e.message, w.sessionId);
      this.refuse(satellite, w.sessionId, e.code);
      return false;
    }
    this.sessions.set(s.id, s);
    this.bySatellite.set(satellite, s.id);
    this.stats.opened++;
    this.touch(s);
    this.ctx.log.info({ satellite, sessionId: s.id, wakeWord: w.wakeWord, score: w.score }, 'session opened');
    this.ctx.bus.emit('sessionOpened', { satellite, sessionId: s.id, room: s.room });
    this.orphans.adopt(s.id);
    return true;
  }

  /** Sessions whose messages are held (awaiting their wake, or arbitration): for tests. */
  get heldCount(): number {
    return this.orphans.size;
  }

  /** Refuses a wake (the error was reported): the satellite is told to stop streaming, and its messages are dropped quietly. */
  private refuse(satellite: string, sessionId: string, code?: string): void {
    this.remember(sessionId);
    this.tellEnd(satellite, sessionId, code);
    // Frames that came before the wake belong to the refused session: drop them quietly, not as unknown later.
    this.orphans.adopt(sessionId);
  }

  /** Finds the live session a message refers to, or reports VOICE_UNKNOWN_SESSION. */
  private live(satellite: string, sessionId: string): Session | undefined {
    const s = this.sessions.get(sessionId);
    if (s && s.satellite === satellite) return s;
    if (!this.recent.has(sessionId)) this.error(satellite, 'VOICE_UNKNOWN_SESSION', `no live session ${sessionId} for satellite ${satellite}`, sessionId);
    return undefined;
  }

  private onAudioStart(satellite: string, sessionId: string, topic: string, payload: Buffer): void {
    const a = validateAudioStart(topic, parseJson(topic, payload));
    const s = this.live(satellite, sessionId);
    if (!s) return;
    if (formatMatches(a.format)) {
      s.out.wakeMs = a.wakeMs;
      s.vad = a.vad === true;
      if (a.wakeMs !== undefined) s.stt.wake(a.wakeMs, this.ctx.config.session.wakeMarginMs);
      this.release(s);
      return;
    }
    this.error(satellite, 'VOICE_AUDIO_FORMAT', `unsupported audio format ${JSON.stringify(a.format)}; send s16le, 16000 Hz, 1 channel. Session aborted.`, sessionId);
    this.abort(s);
  }

  /** Partials flow from now on (audio/start arrived, or a client that sends none streamed a while). */
  private release(s: Session): void {
    const held = s.out.release();
    if (held !== undefined) s.out.offer(held);
  }

  private onAudio(satellite: string, sessionId: string, payload: Buffer): void {
    const s = this.live(satellite, sessionId);
    if (!s || s.state !== 'live') return;
    const max = this.ctx.config.session.maxFrameBytes;
    if (payload.length > max) return this.error(satellite, 'VOICE_FRAME_TOO_LARGE', `audio frame of ${payload.length} bytes exceeds session.maxFrameBytes=${max}; dropped`, sessionId);
    if (payload.length % 2 !== 0) return this.error(satellite, 'VOICE_AUDIO_FORMAT', `audio frame of ${payload.length} bytes is not whole 16-bit samples; dropped`, sessionId);
    if (payload.length === 0) return;
    if (!this.limits.admitAudio(satellite, sessionId, payload.length)) return this.cut(s);
    if (s.bytes === 0) this.ctx.bus.emit('sessionAudio', { satellite, sessionId, sinceWakeMs: Date.now() - s.wakeAt });
    s.bytes += payload.length;
    if (s.bytes / BYTES_PER_MS >= NO_START_MS) this.release(s);
    s.stt.audio(payload);
    this.touch(s);
    // The pre-roll does not count: the limit is on what was said after the wake word.
    if (s.bytes / BYTES_PER_MS - (s.out.wakeMs ?? 0) >= this.ctx.config.session.maxLengthMs) this.finalize(s, 'max-length');
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
  private onPartial(s: Session, words: Word[], endpoint: boolean, audioMs: number): void {
    if (!this.sessions.has(s.id)) return;
    s.heardMs = audioMs;
    s.words = words;
    // Progress while finalising: the wait is worked out again from what is left to decode.
    if (s.state === 'finalizing') this.awaitFinal(s);
    const text = s.out.heard(words);
    if (text === undefined) return;
    const cfg = this.ctx.config.session;
    if (!endpoint && s.endpointSeen && s.state === 'live' && text !== s.endpointText) {
      // Words after the endpoint: the person went on speaking, and only an endpoint after them counts.
      s.endpointSeen = false;
      this.touch(s);
    }
    if (endpoint && s.state === 'live' && cfg.endpoint && s.bytes / BYTES_PER_MS >= cfg.endpointMinMs && text !== '') {
      // A satellite with its own VAD may still be sending speech (a decoder that lags says "endpoint" mid-sentence
      // under load): the endpoint only counts once its audio stops (touch).
      if (!s.vad) return this.finalize(s, 'endpoint');
      s.endpointSeen = true;
      s.endpointText = text;
      this.touch(s);
    }
    this.understanding.heard(s, text, words, audioMs);
    // A complete command may have just been published as the final: no partial after it.
    if (this.sessions.has(s.id)) s.out.offer(text);
  }

  private touch(s: Session): void {
    clearTimeout(s.idleTimer);
    const ms = s.endpointSeen ? ENDPOINT_QUIET_MS : this.ctx.config.session.timeoutMs;
    s.idleTimer = setTimeout(() => {
      if (s.endpointSeen) return this.finalize(s, 'endpoint');
      this.error(s.satellite, 'VOICE_SESSION_TIMEOUT', `no audio from ${s.satellite} for ${ms} ms; session ${s.id} ended`, s.id);
      this.finalize(s, 'timeout');
    }, ms);
    s.idleTimer.unref();
  }

  /** Ends every session (hub shutdown). */
  stop(): void {
    this.ctx.bus.removeOwner(this);
    for (const s of [...this.sessions.values()]) this.abort(s);
    this.pending.clear();
    this.orphans.clear();
  }
}
