/**
 * The hub's typed event bus. Features listen here instead of calling each
 * other: the session manager says a transcript is final, the reply manager
 * hears it; the registry says a satellite went offline, whoever cares hears
 * it. Listeners are filed under their owner, so a feature's stop() removes
 * all of its listeners at once. A listener that throws is logged and the
 * others still run.
 */
import type { IntentPayload } from '../common/intent';
import type { Logger } from '../common/log';
import type { ArbitrationPayload, CommandPayload, FinalReason, PlayedPayload, ReplyPayload, TranscriptPayload, WakePayload } from '../common/protocol';

export const SATELLITE_STATES = ['idle', 'listening', 'processing', 'responding', 'muted'] as const;
export type SatelliteState = (typeof SATELLITE_STATES)[number];

export interface SatelliteInfo {
  id: string;
  room: string;
  /** Optional group from the satellite's status (e.g. a floor); rooms are groups too. */
  group?: string;
  online: boolean;
  capabilities: string[];
  /** browser: a dashboard tab talking through the hub's HTTP server (its status says kind: browser); mqtt: any other. */
  kind?: 'mqtt' | 'browser';
  /** The playback volume its status last reported (0-100). */
  volume?: number;
  /** The wake threshold its status last reported (absent: its wake engine cannot change it, Porcupine, or an older satellite). */
  wakeThreshold?: number;
  state: SatelliteState;
  version?: string;
  /** Cross-room arbitrations this satellite won and lost since the hub started (hub/arbitration). */
  arbitration: { wins: number; losses: number };
  /** Date.now() of the last message from the satellite (status, wake, audio). */
  lastSeen: number;
}

/** A final transcript, what it meant, and how it is answered (docs/intents.md, "Routing"). */
export interface Understood {
  transcript: TranscriptPayload;
  intent?: IntentPayload;
  /** A built-in intent's answer, spoken at once ('' = say nothing); no automation is waited for. */
  answer?: string;
  /** What to say when no automation claims the intent. */
  unhandled?: string;
  /** Unclaimed, the LLM answers (no intent matched, or the intent says unclaimed: llm). */
  toLlm: boolean;
}

export interface HubEvents {
  satelliteOnline: [SatelliteInfo];
  satelliteOffline: [SatelliteInfo];
  /** Its retained status was cleared (an empty retained message): the satellite is gone, not just offline. */
  satelliteRemoved: [SatelliteInfo];
  satelliteState: [{ satellite: SatelliteInfo; previous: SatelliteState }];
  wake: [{ satellite: string; wake: WakePayload }];
  /** Satellites of one group heard the same wake word: one won (hub/arbitration). */
  arbitration: [ArbitrationPayload];
  sessionOpened: [{ satellite: string; sessionId: string; room: string }];
  /** A session's first audio frame reached the hub, sinceWakeMs after its wake did. */
  sessionAudio: [{ satellite: string; sessionId: string; sinceWakeMs: number }];
  sessionFinalizing: [{ satellite: string; sessionId: string; reason: FinalReason }];
  /** The session is over; `transcript` (final) was emitted before this when there was one. */
  sessionClosed: [{ satellite: string; sessionId: string; reason: FinalReason | 'aborted' }];
  transcript: [TranscriptPayload];
  /** A partial transcript, as published on .../transcript/partial. */
  partial: [TranscriptPayload];
  /** A final transcript matched an intent (hub/intents), published on .../intent. */
  intent: [IntentPayload];
  /** Where a final transcript goes next (hub/intents/feature.ts): the reply manager acts on it. */
  understood: [Understood];
  /** A reply began: a final transcript awaits its answer (automation claim, then the LLM), or an announcement. */
  replyStarted: [{ satellite: string; sessionId: string }];
  /** The reply's first audio went to the satellite. */
  replySpeaking: [{ satellite: string; sessionId: string }];
  replyFinished: [{ satellite: string; sessionId: string; aborted: boolean; spoke: boolean }];
  reply: [ReplyPayload];
  played: [{ satellite: string; played: PlayedPayload }];
  command: [{ satellite: string; command: CommandPayload }];
  /** A finished timer rings on its satellite: the alarm, then `text` (hub/timers; the reply manager plays it). */
  ring: [{ satellite: string; text: string; timerId: string }];
  /** Something asks for text to be spoken on satellites (announcements). */
  speak: [{ satellites: string[]; text: string; source: ReplyPayload['source'] }];
}

type Listener<K extends keyof HubEvents> = (...args: HubEvents[K]) => void;

export class EventBus {
  private readonly listeners = new Map<keyof HubEvents, { owner: object; fn: (...args: never[]) => void }[]>();

  constructor(private readonly log: Logger) {}

  on<K extends keyof HubEvents>(owner: object, event: K, fn: Listener<K>): void {
    const list = this.listeners.get(event) ?? [];
    list.push({ owner, fn: fn as unknown as (...args: never[]) => void });
    this.listeners.set(event, list);
  }

  emit<K extends keyof HubEvents>(event: K, ...args: HubEvents[K]): void {
    for (const l of [...(this.listeners.get(event) ?? [])]) {
      try {
        (l.fn as unknown as Listener<K>)(...args);
      } catch (err) {
        this.log.error({ code: 'VOICE_INTERNAL', err, event, owner: l.owner.constructor.name }, 'event listener failed (others still ran)');
      }
    }
  }

  /** Removes every listener the owner registered. */
  removeOwner(owner: object): void {
    for (const [event, list] of this.listeners) {
      const kept = list.filter((l) => l.owner !== owner);
      if (kept.length) this.listeners.set(event, kept);
      else this.listeners.delete(event);
    }
  }

  listenerCount(event?: keyof HubEvents): number {
    if (event) return this.listeners.get(event)?.length ?? 0;
    let n = 0;
    for (const list of this.listeners.values()) n += list.length;
    return n;
  }
}
