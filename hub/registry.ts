/**
 * The satellite registry: the one place that knows which satellites exist,
 * their room, group, presence, capabilities and state, and when each was
 * last heard. It learns presence from the retained status topics (and last
 * wills), rooms from status and wake messages, and state from the bus:
 *   muted       the satellite's status says muted
 *   listening   a session is open (audio streaming)
 *   processing  the session is being finalised, or a reply is being prepared
 *   responding  reply audio is being sent or played
 *   idle        none of these
 * A satellite whose retained status is cleared (an empty retained message,
 * e.g. `mosquitto_pub -r -n -t voice/satellite/<id>/status` after it was
 * retired) is forgotten: satelliteRemoved. Nothing else removes one, and
 * only its status or a wake brings it back: the end of a session or reply
 * heard after it was removed does not.
 * It emits satelliteOnline / satelliteOffline / satelliteState / satelliteRemoved on the bus.
 */
import { parseJson } from '../common/protocol';
import { type SatelliteInfo, type SatelliteState } from './bus';
import type { Feature, HubContext, TopicHandlers } from './feature';

interface Activity {
  session?: 'open' | 'finalizing';
  reply?: 'preparing' | 'speaking';
  muted: boolean;
}

export class SatelliteRegistry implements Feature {
  readonly name = 'registry';
  readonly subscriptions: string[];
  readonly handlers: TopicHandlers;
  private readonly sats = new Map<string, SatelliteInfo>();
  private readonly activity = new Map<string, Activity>();
  private ctx?: HubContext;

  constructor(root: string) {
    this.subscriptions = [`${root}/satellite/+/status`];
    this.handlers = {
      satStatus: (t, payload, topic) => this.onStatus(t.satellite, payload, topic),
      // A wake is seen on the bus (it also sets the room); audio only refreshes last seen.
      audio: (t) => this.touch(t.satellite),
    };
  }

  /** The registry is built before the context (which holds it); attach() completes it. */
  attach(ctx: HubContext): void {
    this.ctx = ctx;
    const bus = ctx.bus;
    bus.on(this, 'wake', ({ satellite, wake }) => {
      const s = this.ensure(satellite);
      s.room = this.roomOf(satellite, wake.room);
    });
    bus.on(this, 'arbitration', (d) => {
      for (const c of d.candidates) {
        const a = this.sats.get(c.satellite)?.arbitration;
        if (!a) continue; // removed while the window was open: not brought back
        if (c.won) a.wins++;
        else a.losses++;
      }
    });
    bus.on(this, 'sessionOpened', ({ satellite }) => this.set(satellite, { session: 'open' }));
    bus.on(this, 'sessionFinalizing', ({ satellite }) => this.set(satellite, { session: 'finalizing' }));
    bus.on(this, 'sessionClosed', ({ satellite }) => this.set(satellite, { session: undefined }));
    bus.on(this, 'replyStarted', ({ satellite }) => this.set(satellite, { reply: 'preparing' }));
    bus.on(this, 'replySpeaking', ({ satellite }) => this.set(satellite, { reply: 'speaking' }));
    bus.on(this, 'replyFinished', ({ satellite, spoke }) => {
      // Audio that was sent is still playing: responding lasts until the satellite reports played.
      if (!spoke) this.set(satellite, { reply: undefined });
    });
    bus.on(this, 'played', ({ satellite }) => this.set(satellite, { reply: undefined }));
  }

  stop(): void {
    this.ctx?.bus.removeOwner(this);
  }

  /**
   * A satellite's room: the one its identity was added with (`voice-hub
   * satellite add <id> --room`), whatever it claims; else what it claims, else
   * what it said before.
   */
  roomOf(id: string, claimed?: string): string {
    // The embedded broker reads the store again as it changes; with an external broker (mqtt.url) nothing else does,
    // so a satellite added while the hub runs gets its room here (a stat when nothing changed).
    if (this.ctx?.config.mqtt.url) {
      try {
        this.ctx.identities.refresh();
      } catch (err) {
        this.ctx.log.warn({ err }, 'cannot read the identity store; keeping the identities read before');
      }
    }
    return this.ctx?.identities.get(id)?.room ?? claimed ?? this.sats.get(id)?.room ?? 'default';
  }

  get(id: string): SatelliteInfo | undefined {
    return this.sats.get(id);
  }

  all(): SatelliteInfo[] {
    return [...this.sats.values()];
  }

  online(filter: (s: SatelliteInfo) => boolean = () => true): SatelliteInfo[] {
    return this.all().filter((s) => s.online && filter(s));
  }

  private ensure(id: string): SatelliteInfo {
    let s = this.sats.get(id);
    if (!s) {
      // Heard before its status (or its status was cleared): assume online until told otherwise.
      s = { id, room: 'default', online: true, capabilities: [], state: 'idle', arbitration: { wins: 0, losses: 0 }, lastSeen: Date.now() };
      this.sats.set(id, s);
      this.activity.set(id, { muted: false });
    }
    s.lastSeen = Date.now();
    return s;
  }

  private touch(id: string): void {
    const s = this.sats.get(id);
    if (s) s.lastSeen = Date.now();
  }

  private onStatus(id: string, payload: Buffer, topic: string): void {
    if (payload.length === 0) return this.remove(id); // retained status cleared: the satellite is gone
    const o = parseJson(topic, payload);
    const known = this.sats.has(id);
    const s = this.ensure(id);
    const wasOnline = known && s.online;
    s.room = this.roomOf(id, typeof o.room === 'string' && o.room !== '' ? o.room : undefined);
    if (o.state === 'online') s.group = typeof o.group === 'string' && o.group !== '' ? o.group : undefined;
    if (typeof o.version === 'string') s.version = o.version;
    if (typeof o.volume === 'number') s.volume = o.volume;
    if (typeof o.wakeThreshold === 'number') s.wakeThreshold = o.wakeThreshold;
    s.kind = o.kind === 'browser' ? 'browser' : 'mqtt';
    if (Array.isArray(o.capabilities)) s.capabilities = o.capabilities.filter((c): c is string => typeof c === 'string');
    s.online = o.state === 'online';
    const bus = this.ctx?.bus;
    if (s.online && !wasOnline) bus?.emit('satelliteOnline', s);
    if (!s.online && (wasOnline || !known)) bus?.emit('satelliteOffline', s);
    this.set(id, { muted: o.muted === true, ...(s.online ? {} : { session: undefined, reply: undefined }) });
  }

  private remove(id: string): void {
    const s = this.sats.get(id);
    if (!s) return;
    this.sats.delete(id);
    this.activity.delete(id);
    this.ctx?.bus.emit('satelliteRemoved', s);
  }

  /** A change of activity; one of a satellite the registry does not have (a session ending after it was removed) is ignored. */
  private set(id: string, change: Partial<Activity>): void {
    const s = this.sats.get(id);
    if (!s) return;
    s.lastSeen = Date.now();
    const a = { ...(this.activity.get(id) ?? { muted: false }), ...change };
    this.activity.set(id, a);
    const previous = s.state;
    s.state = stateOf(a);
    if (s.state !== previous) this.ctx?.bus.emit('satelliteState', { satellite: s, previous });
  }
}

function stateOf(a: Activity): SatelliteState {
  if (a.muted) return 'muted';
  if (a.session === 'open') return 'listening';
  if (a.session === 'finalizing' || a.reply === 'preparing') return 'processing';
  if (a.reply === 'speaking') return 'responding';
  return 'idle';
}
