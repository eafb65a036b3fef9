/**
 * Announcements: text published on a satellite's, a room's or the house's
 * announce topic is spoken on the satellites online there. The registry says
 * who is online where; the reply manager speaks (bus: speak). A target with
 * no satellite online gets VOICE_ANNOUNCE_NO_TARGET on the hub's error topic.
 */
import { parseAnnounce } from '../../common/protocol';
import type { SatelliteInfo } from '../bus';
import type { Feature, HubContext, TopicHandlers } from '../feature';

export class Announcements implements Feature {
  readonly name = 'announcements';
  readonly subscriptions: string[];
  readonly handlers: TopicHandlers;

  constructor(private readonly ctx: HubContext) {
    const s = ctx.topics.sub;
    this.subscriptions = [s.allAnnounce, s.announceAll, s.announceRooms];
    this.handlers = {
      announceAll: (_t, payload, topic) => this.speak(topic, payload, () => true, 'announcement to all satellites, but none is online'),
      announceRoom: (t, payload, topic) => this.speak(topic, payload, (sat) => sat.room === t.room, `announcement to room "${t.room}", but no satellite there is online`),
      announce: (t, payload, topic) => this.speak(topic, payload, (sat) => sat.id === t.satellite, `announcement to satellite "${t.satellite}", which is not online`),
    };
  }

  private speak(topic: string, payload: Buffer, where: (s: SatelliteInfo) => boolean, none: string): void {
    const { text } = parseAnnounce(topic, payload);
    const satellites = this.ctx.registry.online(where).map((s) => s.id);
    // Thrown errors about a satellite go to its error topic; "no target" is the hub's.
    if (satellites.length === 0) return this.ctx.errors.report('VOICE_ANNOUNCE_NO_TARGET', none);
    this.ctx.bus.emit('speak', { satellites, text, source: 'announce' });
  }
}

