/** MQTT client set-up shared by both processes: last will, reconnects, coded connection errors. */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { VoiceError } from './errors';
import type { Logger } from './log';

export interface ConnectOptions {
  url: string;
  clientId: string;
  username: string;
  password: string;
  will: { topic: string; payload: string };
  log: Logger;
  /** How long to wait for the first connection before start-up fails. */
  connectTimeoutMs?: number;
}

/** Connects, resolving once the first CONNACK arrives; the client keeps reconnecting afterwards. */
export async function connectMqtt(o: ConnectOptions): Promise<MqttClient> {
  const opts: IClientOptions = {
    clientId: o.clientId,
    username: o.username || undefined,
    password: o.password || undefined,
    reconnectPeriod: 1000,
    connectTimeout: 5000,
    keepalive: 10,
    will: { topic: o.will.topic, payload: Buffer.from(o.will.payload), qos: 1, retain: true },
  };
  const client = mqtt.connect(o.url, opts);
  let warned = false;
  client.on('error', (err) => {
    if (!warned) o.log.warn({ code: 'VOICE_MQTT_UNREACHABLE', err: err.message, url: o.url }, 'MQTT connection problem; retrying');
    warned = true;
  });
  client.on('reconnect', () => o.log.debug({ url: o.url }, 'MQTT reconnecting'));
  client.on('offline', () => o.log.warn({ code: 'VOICE_MQTT_UNREACHABLE', url: o.url }, 'MQTT broker unreachable; retrying every second'));
  client.on('connect', () => {
    warned = false;
    o.log.info({ url: o.url }, 'MQTT connected');
  });
  const timeout = o.connectTimeoutMs ?? 30000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.end(true);
      reject(new VoiceError('VOICE_MQTT_UNREACHABLE', `could not connect to the MQTT broker at ${o.url} within ${timeout} ms`));
    }, timeout);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return client;
}

export function endMqtt(client: MqttClient | undefined): Promise<void> {
  if (!client) return Promise.resolve();
  return new Promise((resolve) => client.end(false, {}, () => resolve()));
}
