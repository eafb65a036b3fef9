/**
 * What each role may do on the hub's broker (docs/security.md), as three
 * questions the broker asks: may this client publish to a topic, subscribe
 * to a filter, and receive a message on a topic. The last is asked for every
 * delivery, retained messages too, so a wildcard subscription (`#`) never
 * shows a client more than it may read.
 *
 * - hub: everything.
 * - satellite S: publishes its own status, wake, audio/..., played and
 *   error; subscribes to its own command and tts/..., and the hub status.
 * - automation: reads transcripts, intents, timers, replies, wakes, statuses, states, events, errors,
 *   arbitration decisions and played (audio and TTS streams only with readAudio); publishes handled,
 *   announce and command. Outside the topic root (its own topics, Home
 *   Assistant's) it may do anything: the broker is shared.
 * Only the hub publishes transcripts and replies.
 */
import { parseTopic, type TopicKind } from '../../common/protocol';
import type { Identity } from './identities';

/** A connected client's identity: from the store, or `anonymous` when broker.allowAnonymous lets it in (all rights, as before). */
export type Principal = Pick<Identity, 'name' | 'role' | 'readAudio' | 'secret'> | { name: string; role: 'anonymous'; readAudio?: undefined };

const SATELLITE_PUBLISHES: ReadonlySet<TopicKind> = new Set(['satStatus', 'wake', 'audio', 'audioStart', 'audioStop', 'played', 'error']);
const AUTOMATION_PUBLISHES: ReadonlySet<TopicKind> = new Set(['handled', 'announce', 'announceAll', 'announceRoom', 'command']);
const AUTOMATION_READS: ReadonlySet<TopicKind> = new Set(['transcript', 'transcriptPartial', 'intent', 'intentNone', 'timer', 'timers', 'state', 'event', 'reply', 'replyPartial', 'wake', 'satStatus', 'hubStatus', 'error', 'hubError', 'hubArbitration', 'played']);
const STREAMS: ReadonlySet<TopicKind> = new Set(['audio', 'audioStart', 'audioStop', 'tts', 'ttsStart', 'ttsStop']);

const under = (root: string, topic: string) => topic === root || topic.startsWith(`${root}/`);

export class Acl {
  constructor(private readonly root: string) {}

  /** Why the client may not publish there, or undefined if it may. */
  publish(who: Principal, topic: string): string | undefined {
    if (who.role === 'hub' || who.role === 'anonymous') return undefined;
    if (!under(this.root, topic)) return who.role === 'automation' ? undefined : 'a satellite publishes only under the topic root';
    const t = parseTopic(this.root, topic);
    if (!t || t.kind === 'invalid') return 'not a topic of the protocol';
    if (who.role === 'satellite') {
      if (t.satellite !== who.name) return "another satellite's topic";
      return SATELLITE_PUBLISHES.has(t.kind) ? undefined : `a satellite may not publish ${t.kind}`;
    }
    return AUTOMATION_PUBLISHES.has(t.kind) ? undefined : `an automation may not publish ${t.kind}`;
  }

  /** Why the client may not subscribe to the filter, or undefined if it may. */
  subscribe(who: Principal, filter: string): string | undefined {
    if (who.role === 'hub' || who.role === 'anonymous') return undefined;
    if (who.role === 'satellite') {
      const own = `${this.root}/satellite/${who.name}`;
      const allowed = [`${own}/command`, `${own}/tts/+`, `${own}/tts/+/#`, `${own}/tts/#`, `${this.root}/hub/status`];
      return allowed.includes(filter) ? undefined : 'a satellite subscribes only to its own command and tts topics and the hub status';
    }
    // An automation: any filter (deliveries are checked one by one), but not one that only names audio or TTS streams.
    const levels = filter.split('/');
    const rootLevels = this.root.split('/').length;
    if (!who.readAudio && levels[rootLevels] === 'satellite' && (levels[rootLevels + 2] === 'audio' || levels[rootLevels + 2] === 'tts')) return 'an automation does not read audio or TTS streams (add it with --read-audio)';
    return undefined;
  }

  /** May the client receive a message on this topic (every delivery, retained ones too)? */
  receive(who: Principal, topic: string): boolean {
    if (who.role === 'hub' || who.role === 'anonymous') return true;
    if (!under(this.root, topic)) return who.role === 'automation';
    if (who.role === 'satellite') {
      // Its own command and tts/... topics, well formed or not: the satellite checks them and reports what is wrong (VOICE_BAD_TOPIC).
      const own = `${this.root}/satellite/${who.name}/`;
      return topic === `${this.root}/hub/status` || topic === `${own}command` || topic.startsWith(`${own}tts/`);
    }
    const t = parseTopic(this.root, topic);
    if (!t || t.kind === 'invalid') return false;
    return AUTOMATION_READS.has(t.kind) || (who.readAudio === true && STREAMS.has(t.kind));
  }
}
