/**
 * MQTT routing for the hub: every message is parsed once (parseTopic), then
 * handed to each feature that declared a handler for its kind. A handler
 * that throws gets a coded error on the satellite's error topic (or the
 * hub's); a topic under the root that the protocol does not define gets
 * VOICE_BAD_TOPIC. Subscriptions are the union of the features' own, and
 * are renewed whenever the broker comes back.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from '../common/log';
import { parseTopic, type TopicKind } from '../common/protocol';
import type { ErrorReporter } from '../common/report';
import type { Feature, TopicOf } from './feature';

type AnyHandler = (t: TopicOf<TopicKind>, payload: Buffer, topic: string) => void;

export class Router {
  private readonly handlers = new Map<TopicKind, { feature: string; fn: AnyHandler }[]>();
  private readonly filters: string[] = [];
  private readonly onMessage = (topic: string, payload: Buffer) => this.route(topic, payload);
  private readonly onConnect = () => this.subscribe();

  constructor(
    private readonly ctx: { root: string; mqtt: MqttClient; errors: ErrorReporter; log: Logger; features: Feature[]; onConnect: () => void },
  ) {
    for (const f of ctx.features) {
      for (const filter of f.subscriptions) if (!this.filters.includes(filter)) this.filters.push(filter);
      for (const [kind, fn] of Object.entries(f.handlers) as [TopicKind, AnyHandler][]) {
        const list = this.handlers.get(kind) ?? [];
        list.push({ feature: f.name, fn });
        this.handlers.set(kind, list);
      }
    }
  }

  start(): void {
    this.ctx.mqtt.on('message', this.onMessage);
    this.ctx.mqtt.on('connect', this.onConnect);
    this.subscribe();
  }

  stop(): void {
    this.ctx.mqtt.off('message', this.onMessage);
    this.ctx.mqtt.off('connect', this.onConnect);
  }

  private subscribe(): void {
    this.ctx.mqtt.subscribe(this.filters, { qos: 1 }, (err) => {
      if (err) this.ctx.log.error({ err }, 'subscribe failed');
    });
    this.ctx.onConnect();
  }

  /** Routes one message; never throws. */
  route(topic: string, payload: Buffer): void {
    const t = parseTopic(this.ctx.root, topic);
    if (!t) return;
    if (t.kind === 'invalid') {
      this.ctx.errors.report('VOICE_BAD_TOPIC', `${t.why}; message dropped`, { satellite: t.satellite });
      return;
    }
    for (const h of this.handlers.get(t.kind) ?? []) {
      try {
        h.fn(t, payload, topic);
      } catch (err) {
        this.ctx.errors.reportError(err, 'VOICE_BAD_PAYLOAD', { satellite: t.satellite, sessionId: 'sessionId' in t ? t.sessionId : undefined, log: { topic, feature: h.feature } });
      }
    }
  }
}
