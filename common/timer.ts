/** Payloads of the timer topics (docs/protocol.md, "Timers"): the hub's timers, per satellite. */

/** One timer as automations and dashboards see it. */
export interface TimerInfo {
  id: string;
  /** The name it was given ("pasta"), absent for an unnamed timer. */
  name?: string;
  /** Its length as set, plus time added or removed, seconds. */
  totalS: number;
  /** Seconds left (0 once finished). */
  remainingS: number;
  paused: boolean;
  /** When it will finish (ISO 8601); absent while paused. */
  endsAt?: string;
}

export const TIMER_EVENTS = ['started', 'updated', 'cancelled', 'finished'] as const;
export type TimerEvent = (typeof TIMER_EVENTS)[number];

/** <root>/satellite/<id>/timer (QoS 1, not retained): something happened to one timer. */
export interface TimerPayload {
  event: TimerEvent;
  satellite: string;
  room: string;
  timer: TimerInfo;
  time: string;
}

/** <root>/satellite/<id>/timers (QoS 1, retained): the satellite's timers now (an empty list when none). */
export interface TimersPayload {
  satellite: string;
  room: string;
  timers: TimerInfo[];
  time: string;
}
