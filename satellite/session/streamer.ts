/**
 * Session streaming on MQTT: wake, audio/<id>/start, the pre-roll, live
 * frames (QoS 0) and audio/<id>/stop. Publishing only; no decisions.
 */
import { randomUUID } from 'node:crypto';
import type { Endpointer } from '../endpointer';
import type { WakeLevels } from '../wake/level';
import { AUDIO_FORMAT, type AudioStartPayload, type AudioStopPayload, BYTES_PER_MS, now, type OpenedBy, type StopReason, type Topics, type WakePayload } from '../../common/protocol';

/** Publishes one message; a satellite offline from its broker drops it (mqtt.js queues while reconnecting). */
export type Publish = (topic: string, payload: string | Buffer, qos: 0 | 1) => void;

export interface StreamerContext {
  satellite: string;
  room: string;
  /** wake.calibrationDb, sent with the levels of a spoken wake word. */
  calibrationDb: number;
  topics: Topics;
  publish: Publish;
}

export interface Opened {
  sessionId: string;
  wake: WakePayload;
  preRollMs: number;
  /** Where the wake word fired, ms from the first audio byte; undefined without a spoken wake word. */
  wakeMs?: number;
}

export class SessionStreamer {
  constructor(private readonly ctx: StreamerContext) {}

  /**
   * Publishes wake, audio start and the pre-roll of a new session. `by`
   * wake: the wake word fired at the end of the pre-roll (audio start says
   * where), and `levels` are what the microphone heard then.
   */
  open(wakeWord: string, score: number, preRoll: readonly Buffer[], by: OpenedBy, levels?: WakeLevels): Opened {
    const { satellite, topics: t, publish } = this.ctx;
    const sessionId = randomUUID();
    const preRollMs = preRoll.reduce((n, b) => n + b.length / BYTES_PER_MS, 0);
    const wakeMs = by === 'wake' ? preRollMs : undefined;
    const wake: WakePayload = { sessionId, wakeWord, score, time: now(), room: this.ctx.room, openedBy: by };
    if (by === 'wake' && levels) Object.assign(wake, levels, { calibrationDb: this.ctx.calibrationDb });
    const start: AudioStartPayload = { sessionId, format: { ...AUDIO_FORMAT }, preRollMs, wakeMs, vad: true, time: now() };
    publish(t.wake(satellite), JSON.stringify(wake), 1);
    publish(t.audioStart(satellite, sessionId), JSON.stringify(start), 1);
    for (const b of preRoll) publish(t.audio(satellite, sessionId), b, 0);
    return { sessionId, wake, preRollMs, wakeMs };
  }

  frame(sessionId: string, pcm: Buffer): void {
    this.ctx.publish(this.ctx.topics.audio(this.ctx.satellite, sessionId), pcm, 0);
  }

  close(sessionId: string, reason: StopReason, at: Pick<Endpointer, 'audioMs' | 'speechEndMs' | 'wakeEndMs'>): AudioStopPayload {
    const stop: AudioStopPayload = { sessionId, reason, audioMs: Math.round(at.audioMs), time: now() };
    if (at.speechEndMs !== undefined) stop.speechEndMs = Math.round(at.speechEndMs);
    if (at.wakeEndMs !== undefined) stop.wakeEndMs = Math.round(at.wakeEndMs);
    this.ctx.publish(this.ctx.topics.audioStop(this.ctx.satellite, sessionId), JSON.stringify(stop), 1);
    return stop;
  }
}
