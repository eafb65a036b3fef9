/**
 * The hub: builds its parts, starts them in order (broker, speech-to-text
 * workers, MQTT client, session manager) and stops them in reverse.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from '../common/log';
import { connectMqtt, endMqtt } from '../common/mqtt';
import { PROTOCOL_VERSION, type StatusPayload, now, topics } from '../common/protocol';
import { VERSION } from '../common/version';
import type { HubConfig } from '../config/hub';
import { EmbeddedBroker } from './broker';
import { SessionManager } from './sessions';
import { SttPool } from './stt/pool';

export class Hub {
  readonly config: HubConfig;
  readonly log: Logger;
  readonly topics: ReturnType<typeof topics>;
  broker?: EmbeddedBroker;
  stt?: SttPool;
  mqtt?: MqttClient;
  sessions?: SessionManager;
  /** The URL clients use to reach the hub's broker. */
  brokerUrl = '';

  constructor(ctx: { config: HubConfig; log: Logger }) {
    this.config = ctx.config;
    this.log = ctx.log;
    this.topics = topics(ctx.config.mqtt.topicRoot);
  }

  private status(state: 'online' | 'offline'): string {
    const p: StatusPayload = { state, protocol: PROTOCOL_VERSION, version: VERSION, name: this.config.hub.name, time: now() };
    if (state === 'online') p.stt = { engine: this.stt?.engineName, workers: this.stt?.workers };
    return JSON.stringify(p);
  }

  async start(): Promise<void> {
    const c = this.config;
    if (c.mqtt.url === '') {
      this.broker = new EmbeddedBroker(c.broker, this.log.child({ module: 'broker' }));
      await this.broker.start();
      const host = c.broker.host === '0.0.0.0' || c.broker.host === '::' ? '127.0.0.1' : c.broker.host;
      this.brokerUrl = `mqtt://${host}:${this.broker.port}`;
    } else {
      this.brokerUrl = c.mqtt.url;
    }

    this.stt = new SttPool(c.stt, SttPool.defaultSize(c.stt.workers), this.log.child({ module: 'stt' }));
    await this.stt.start();

    const embedded = this.broker !== undefined;
    this.mqtt = await connectMqtt({
      url: this.brokerUrl,
      clientId: c.mqtt.clientId,
      username: embedded ? c.broker.username : c.mqtt.username,
      password: embedded ? c.broker.password : c.mqtt.password,
      will: { topic: this.topics.hubStatus(), payload: this.status('offline') },
      log: this.log.child({ module: 'mqtt' }),
    });
    const mqtt = this.mqtt;
    this.sessions = new SessionManager({ config: c, mqtt, root: c.mqtt.topicRoot, topics: this.topics, stt: this.stt, log: this.log.child({ module: 'sessions' }) });
    const sessions = this.sessions;
    mqtt.on('message', (topic, payload) => sessions.handle(topic, payload));
    // Re-announce and re-subscribe whenever the broker comes back.
    const announce = () => {
      const s = this.topics.sub;
      mqtt.subscribe([s.allWakes, s.allAudio, s.allSatStatus], { qos: 1 }, (err) => {
        if (err) this.log.error({ err }, 'subscribe failed');
      });
      mqtt.publish(this.topics.hubStatus(), this.status('online'), { qos: 1, retain: true });
    };
    announce();
    mqtt.on('connect', announce);
    this.log.info({ broker: this.brokerUrl, engine: this.stt.engineName }, 'hub ready');
  }

  async stop(): Promise<void> {
    this.sessions?.stop();
    if (this.mqtt?.connected) {
      await new Promise<void>((resolve) => this.mqtt?.publish(this.topics.hubStatus(), this.status('offline'), { qos: 1, retain: true }, () => resolve()));
    }
    await endMqtt(this.mqtt);
    await this.stt?.stop();
    await this.broker?.stop();
  }
}
