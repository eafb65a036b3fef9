/**
 * The hub: builds its parts, starts them in order (broker, speech-to-text
 * workers, MQTT client, session manager) and stops them in reverse.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from '../common/log';
import { connectMqtt, endMqtt } from '../common/mqtt';
import { toVoiceError } from '../common/errors';
import { PROTOCOL_VERSION, type StatusPayload, now, parseAnnounce, parseJson, parseTopic, topics, validateCommand, validateHandled, validatePlayed } from '../common/protocol';
import { VERSION } from '../common/version';
import type { HubConfig } from '../config/hub';
import { EmbeddedBroker } from './broker';
import { OllamaClient } from './llm/ollama';
import { ReplyManager } from './reply/manager';
import { SessionManager } from './sessions';
import type { TtsEngine } from './tts/engine';
import { createTts } from './tts/select';
import { SttPool } from './stt/pool';

export class Hub {
  readonly config: HubConfig;
  readonly log: Logger;
  readonly topics: ReturnType<typeof topics>;
  broker?: EmbeddedBroker;
  stt?: SttPool;
  mqtt?: MqttClient;
  sessions?: SessionManager;
  replies?: ReplyManager;
  tts?: TtsEngine;
  /** The URL clients use to reach the hub's broker. */
  brokerUrl = '';

  /** Matches <root>/room/<room>/announce. */
  private readonly roomAnnounce: RegExp;

  constructor(ctx: { config: HubConfig; log: Logger }) {
    this.config = ctx.config;
    this.log = ctx.log;
    this.topics = topics(ctx.config.mqtt.topicRoot);
    const escaped = ctx.config.mqtt.topicRoot.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
    this.roomAnnounce = new RegExp(`^${escaped}/room/([^/]+)/announce$`);
  }

  private status(state: 'online' | 'offline'): string {
    const p: StatusPayload = { state, protocol: PROTOCOL_VERSION, version: VERSION, name: this.config.hub.name, time: now() };
    if (state === 'online') {
      p.stt = { engine: this.stt?.engineName, workers: this.stt?.workers };
      p.tts = { engine: this.tts?.name ?? null, rate: this.tts?.format.rate };
      p.llm = { model: this.config.llm.model, enabled: this.config.reply.enabled };
    }
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

    if (c.reply.enabled) {
      const tts = createTts(c.tts);
      try {
        await tts.start();
        this.tts = tts;
        this.log.info({ engine: tts.name, rate: tts.format.rate }, 'text-to-speech ready');
      } catch (err) {
        const e = toVoiceError(err, 'VOICE_TTS_FAILED');
        // A voice named explicitly must work; otherwise the hub still transcribes and answers in text.
        if (c.tts.engine === 'piper') throw e;
        this.log.error({ code: e.code }, `${e.message}; replies will be text only`);
      }
    }

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
    const sessionsRef: { s?: SessionManager } = {};
    this.replies = new ReplyManager({
      config: c,
      mqtt,
      topics: this.topics,
      llm: new OllamaClient(c.llm),
      tts: this.tts,
      log: this.log.child({ module: 'reply' }),
      satellites: () => sessionsRef.s?.satellites() ?? new Map(),
    });
    this.sessions = new SessionManager({ config: c, mqtt, root: c.mqtt.topicRoot, topics: this.topics, stt: this.stt, log: this.log.child({ module: 'sessions' }), replies: this.replies });
    sessionsRef.s = this.sessions;
    mqtt.on('message', (topic, payload) => this.route(topic, payload));
    // Re-announce and re-subscribe whenever the broker comes back.
    const announce = () => {
      const s = this.topics.sub;
      const filters = [s.allWakes, s.allAudio, s.allSatStatus];
      if (c.reply.enabled) filters.push(s.allHandled, s.allCommands, s.allPlayed, s.allAnnounce, s.announceAll, s.announceRooms);
      mqtt.subscribe(filters, { qos: 1 }, (err) => {
        if (err) this.log.error({ err }, 'subscribe failed');
      });
      mqtt.publish(this.topics.hubStatus(), this.status('online'), { qos: 1, retain: true });
    };
    announce();
    mqtt.on('connect', announce);
    this.log.info({ broker: this.brokerUrl, engine: this.stt.engineName }, 'hub ready');
  }


  /** Routes one incoming message; never throws (bad payloads become coded errors). */
  private route(topic: string, payload: Buffer): void {
    const sessions = this.sessions as SessionManager;
    const replies = this.replies as ReplyManager;
    const root = this.config.mqtt.topicRoot;
    try {
      if (topic === this.topics.announceAll()) {
        const a = parseAnnounce(topic, payload);
        const targets = [...sessions.satellites()].filter(([, v]) => v.online).map(([id]) => id);
        if (targets.length === 0) return this.hubError('VOICE_ANNOUNCE_NO_TARGET', 'announcement to all satellites, but none is online');
        return replies.announce(targets, a.text);
      }
      const room = this.roomAnnounce.exec(topic);
      if (room) {
        const a = parseAnnounce(topic, payload);
        const targets = [...sessions.satellites()].filter(([, v]) => v.online && v.room === room[1]).map(([id]) => id);
        if (targets.length === 0) return this.hubError('VOICE_ANNOUNCE_NO_TARGET', `announcement to room "${room[1]}", but no satellite there is online`);
        return replies.announce(targets, a.text);
      }
      const t = parseTopic(root, topic);
      if (!t) return;
      switch (t.kind) {
        case 'handled':
          return replies.onHandled(t.satellite, validateHandled(topic, parseJson(topic, payload)));
        case 'announce': {
          const a = parseAnnounce(topic, payload);
          const known = sessions.satellites().get(t.satellite);
          if (!known?.online) return this.hubError('VOICE_ANNOUNCE_NO_TARGET', `announcement to satellite "${t.satellite}", which is not online`);
          return replies.announce([t.satellite], a.text);
        }
        case 'command': {
          // The satellite reports bad commands itself; the hub only acts on stop.
          let cmd;
          try {
            cmd = validateCommand(topic, parseJson(topic, payload));
          } catch {
            return;
          }
          if (cmd.command === 'stop' || cmd.command === 'mute') replies.abortSatellite(t.satellite, `${cmd.command} command`);
          return;
        }
        case 'played': {
          const p = validatePlayed(topic, parseJson(topic, payload));
          if (p.reason !== 'done') replies.abortSatellite(t.satellite, `playback ${p.reason}`);
          return;
        }
        default:
          return sessions.handle(topic, payload);
      }
    } catch (err) {
      const e = toVoiceError(err);
      const t = parseTopic(root, topic);
      if (t) {
        this.log.warn({ code: e.code, topic }, e.message);
        this.mqtt?.publish(this.topics.error(t.satellite), JSON.stringify({ code: e.code, message: e.message, satellite: t.satellite, time: now() }), { qos: 1 });
      } else {
        this.hubError(e.code, e.message);
      }
    }
  }

  private hubError(code: string, message: string): void {
    this.log.warn({ code }, message);
    this.mqtt?.publish(this.topics.hubError(), JSON.stringify({ code, message, time: now() }), { qos: 1 });
  }

  async stop(): Promise<void> {
    this.replies?.stop();
    this.sessions?.stop();
    if (this.mqtt?.connected) {
      await new Promise<void>((resolve) => this.mqtt?.publish(this.topics.hubStatus(), this.status('offline'), { qos: 1, retain: true }, () => resolve()));
    }
    await endMqtt(this.mqtt);
    await this.stt?.stop();
    await this.tts?.stop();
    await this.broker?.stop();
  }
}
