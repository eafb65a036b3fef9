/**
 * The one error reporter of both processes. A coded error is logged with its
 * code and published as JSON {code, message, satellite?, sessionId?, time} on
 * the satellite's error topic, or on <root>/hub/error when it concerns no
 * satellite. Nothing here throws.
 */
import type { MqttClient } from 'mqtt';
import { type ErrorCode, toVoiceError } from './errors';
import type { Logger } from './log';
import { type ErrorPayload, now, type Topics } from './protocol';

export interface ReportTarget {
  /** The satellite the error concerns; absent: the hub's own error topic. */
  satellite?: string;
  sessionId?: string;
  /** Extra log fields (never published). */
  log?: Record<string, unknown>;
}

export class ErrorReporter {
  constructor(
    private readonly ctx: {
      topics: Topics;
      log: Logger;
      /** The MQTT client, once connected; errors before that are only logged. */
      mqtt: () => MqttClient | undefined;
      /** Where errors go when no satellite is named: a satellite process names itself. */
      defaultSatellite?: string;
    },
  ) {}

  private readonly watchers: ((e: ErrorPayload) => void)[] = [];

  /** Calls fn with every error reported from now on (the hub's metrics and dashboard); returns what stops it. */
  onReport(fn: (e: ErrorPayload) => void): () => void {
    this.watchers.push(fn);
    return () => {
      const i = this.watchers.indexOf(fn);
      if (i >= 0) this.watchers.splice(i, 1);
    };
  }

  report(code: ErrorCode, message: string, at: ReportTarget = {}): void {
    const satellite = at.satellite ?? this.ctx.defaultSatellite;
    this.ctx.log.warn({ code, satellite, sessionId: at.sessionId, ...at.log }, message);
    const p: ErrorPayload = { code, message, satellite, sessionId: at.sessionId, time: now() };
    for (const w of this.watchers) w(p);
    const topic = satellite === undefined ? this.ctx.topics.hubError() : this.ctx.topics.error(satellite);
    this.ctx.mqtt()?.publish(topic, JSON.stringify(p), { qos: 1 });
  }

  /** Reports anything thrown: a VoiceError keeps its code, anything else gets `fallback`. */
  reportError(err: unknown, fallback: ErrorCode, at: ReportTarget = {}): void {
    const e = toVoiceError(err, fallback);
    this.report(e.code, e.message, at);
  }
}
