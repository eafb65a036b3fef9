/**
 * Home Assistant MQTT discovery (homeassistant.*, docs/homeassistant.md).
 * One device per satellite the registry knows and one for the hub, each a
 * retained device-based discovery message under homeassistant.prefix (see
 * discovery.ts). Besides discovery the feature publishes what no protocol
 * topic carried: each satellite's state as the registry computes it
 * (.../state, retained) and its wakes, final transcripts and intents as
 * events (.../event).
 *
 * - Home Assistant says `online` on <prefix>/status (its birth message):
 *   discovery and states are published again.
 * - At start the retained discovery under the prefix is read back for
 *   homeassistant.readbackMs; this hub's satellite devices whose satellite
 *   the registry does not know by then are removed (an empty retained
 *   config), as zigbee2mqtt does.
 * - A satellite's device is published again when its status changes it
 *   (a new room, a new version).
 * - A satellite whose retained status is cleared (registry:
 *   satelliteRemoved) loses its device and its retained state. States are
 *   published only for satellites whose device is, and devices only from a
 *   status: a session that ends after the removal, or a wake that makes the
 *   registry assume the satellite again, brings back neither, and neither
 *   does Home Assistant's birth message.
 */
import { now } from '../../common/protocol';
import type { SatelliteInfo } from '../bus';
import type { Feature, HubContext, TopicHandlers } from '../feature';
import { type DevicePayload, discoveryTopic, hubDevice, hubDeviceId, nodeId, satelliteDevice, wire } from './discovery';

export class HomeAssistant implements Feature {
  readonly name = 'homeassistant';
  readonly subscriptions: string[];
  readonly handlers: TopicHandlers;
  private readonly prefix: string;
  private readonly root: string;
  /** Discovery payloads published, by discovery topic: a satellite's is published again only when it changes. */
  private readonly published = new Map<string, string>();
  /** During the read-back at start: this hub's satellite devices found retained under the prefix. */
  private readBack?: Set<string>;
  private readTimer?: NodeJS.Timeout;
  private readonly onMessage = (topic: string, payload: Buffer) => this.message(topic, payload);
  private readonly onConnect = () => this.subscribe();

  constructor(private readonly ctx: HubContext) {
    this.prefix = ctx.config.homeassistant.prefix;
    this.root = ctx.config.mqtt.topicRoot;
    // After the registry (the first feature) read the status: a new room or version changes the device, published again.
    this.subscriptions = [ctx.topics.sub.allSatStatus];
    this.handlers = {
      satStatus: (t) => {
        const s = ctx.registry.get(t.satellite);
        if (!s) return;
        const first = !this.published.has(this.topicOf(s.id));
        this.publishDevice(this.topicOf(s.id), satelliteDevice(ctx.topics, this.root, s));
        // A satellite back after it was removed (its wake came first, so no satelliteOnline): its state too.
        if (first) this.publishState(s);
      },
    };
  }

  private get birthTopic(): string {
    return `${this.prefix}/status`;
  }

  private get readBackFilter(): string {
    return `${this.prefix}/device/+/config`;
  }

  start(): void {
    const { bus, mqtt } = this.ctx;
    bus.on(this, 'satelliteOnline', (s) => this.publishSatellite(s));
    bus.on(this, 'satelliteOffline', (s) => this.publishSatellite(s));
    bus.on(this, 'satelliteState', ({ satellite }) => this.publishState(satellite));
    bus.on(this, 'satelliteRemoved', (s) => this.removeSatellite(s.id));
    bus.on(this, 'wake', ({ satellite, wake }) => this.event(satellite, 'wake', wake));
    bus.on(this, 'transcript', (t) => {
      if (t.final) this.event(t.satellite, 'transcript', t);
    });
    // hub/intents emits the intent while the transcript is still being emitted (before this feature hears it): a microtask later, the events keep their order.
    bus.on(this, 'intent', (i) => queueMicrotask(() => this.event(i.satellite, 'intent', i)));
    mqtt.on('message', this.onMessage);
    mqtt.on('connect', this.onConnect);
    this.readBack = new Set();
    this.subscribe();
    this.readTimer = setTimeout(() => this.endReadBack(), this.ctx.config.homeassistant.readbackMs);
    this.publishHub();
    for (const s of this.ctx.registry.all()) this.publishSatellite(s);
  }

  stop(): void {
    clearTimeout(this.readTimer);
    this.ctx.bus.removeOwner(this);
    this.ctx.mqtt.off('message', this.onMessage);
    this.ctx.mqtt.off('connect', this.onConnect);
  }

  private subscribe(): void {
    const filters = [this.birthTopic, ...(this.readBack ? [this.readBackFilter] : [])];
    this.ctx.mqtt.subscribe(filters, { qos: 1 }, (err) => {
      if (err) this.ctx.log.error({ err, filters }, 'subscribe failed');
    });
  }

  private message(topic: string, payload: Buffer): void {
    if (topic === this.birthTopic) {
      if (payload.toString('utf8').trim() === 'online') this.republish();
      return;
    }
    if (!this.readBack || payload.length === 0) return;
    const ours = `${this.prefix}/device/${nodeId(this.root)}_satellite_`;
    if (topic.startsWith(ours) && topic.endsWith('/config')) this.readBack.add(topic);
  }

  /** The end of the read-back: removes this hub's satellite devices that no satellite it knows has. */
  private endReadBack(): void {
    const found = this.readBack ?? new Set<string>();
    this.readBack = undefined;
    this.ctx.mqtt.unsubscribe(this.readBackFilter);
    const known = new Set(this.ctx.registry.all().map((s) => this.topicOf(s.id)));
    for (const topic of found) {
      if (known.has(topic)) continue;
      this.ctx.log.info({ topic }, 'Home Assistant device of a satellite that no longer exists removed');
      this.ctx.mqtt.publish(topic, '', { qos: 1, retain: true });
    }
  }

  private topicOf(satellite: string): string {
    return discoveryTopic(this.prefix, `${nodeId(this.root)}_satellite_${satellite}`);
  }

  /**
   * Home Assistant (re)started: it forgot nothing retained, but states it missed are sent again, with discovery: of
   * the satellites that have a device (a status made it), not of one the registry only heard wake (after its removal).
   */
  private republish(): void {
    this.ctx.log.info('Home Assistant online: discovery and states published again');
    const devices = new Set(this.published.keys());
    this.published.clear();
    this.publishHub();
    for (const s of this.ctx.registry.all()) if (devices.has(this.topicOf(s.id))) this.publishSatellite(s);
  }

  private publishDevice(topic: string, p: DevicePayload): void {
    const body = JSON.stringify(wire(p));
    if (this.published.get(topic) === body) return;
    this.published.set(topic, body);
    this.ctx.mqtt.publish(topic, body, { qos: 1, retain: true });
  }

  private publishHub(): void {
    this.publishDevice(discoveryTopic(this.prefix, hubDeviceId(this.root)), hubDevice(this.ctx.topics, this.root, this.ctx.config.hub.name));
  }

  private publishSatellite(s: SatelliteInfo): void {
    if (this.ctx.registry.get(s.id) !== s) return; // removed meanwhile
    this.publishDevice(this.topicOf(s.id), satelliteDevice(this.ctx.topics, this.root, s));
    this.publishState(s);
  }

  private publishState(s: SatelliteInfo): void {
    // Only for a satellite the registry has and whose device is published: a late event (a session ending after its
    // retained status was cleared) must not bring back the retained state removeSatellite cleared.
    if (this.ctx.registry.get(s.id) !== s || !this.published.has(this.topicOf(s.id))) return;
    this.ctx.mqtt.publish(this.ctx.topics.state(s.id), JSON.stringify({ state: s.state, time: now() }), { qos: 1, retain: true });
  }

  private removeSatellite(id: string): void {
    const topic = this.topicOf(id);
    this.published.delete(topic);
    this.ctx.log.info({ satellite: id, topic }, 'satellite removed: its Home Assistant device too');
    this.ctx.mqtt.publish(topic, '', { qos: 1, retain: true });
    this.ctx.mqtt.publish(this.ctx.topics.state(id), '', { qos: 1, retain: true });
  }

  private event(satellite: string, type: string, payload: object): void {
    this.ctx.mqtt.publish(this.ctx.topics.event(satellite), JSON.stringify({ ...payload, event_type: type }), { qos: 1 });
  }
}
