/** MQTT client set-up shared by both processes: last will, reconnects, TLS trust, coded connection errors. */
import * as fs from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { VoiceError } from './errors';
import type { Logger } from './log';

export interface ConnectOptions {
  url: string;
  clientId: string;
  username: string;
  password: string;
  /** mqtts: a PEM file of the CA(s) to trust instead of the system's (empty: the system's). */
  ca?: string;
  will: { topic: string; payload: string };
  log: Logger;
  /** How long to wait for the first connection before start-up fails. */
  connectTimeoutMs?: number;
}

const TLS_URL = /^(mqtts|wss|tls):/;

/** A certificate the client refused (expired, another CA, a name it does not hold…): Node's code for it, else undefined. */
export function tlsRefusal(err: Error & { code?: string | number }): string | undefined {
  const code = typeof err.code === 'string' ? err.code : '';
  return /CERT|ERR_TLS|SSL|SIGNATURE|ISSUER/.test(code) ? code : undefined;
}

function readCa(file: string): Buffer {
  let pem: Buffer;
  try {
    pem = fs.readFileSync(file);
  } catch (err) {
    throw new VoiceError('VOICE_TLS_INVALID', `cannot read mqtt.ca (${file}): ${(err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new VoiceError('VOICE_TLS_INVALID', `mqtt.ca (${file}) holds no PEM certificate`);
  return pem;
}

/** The URL as logs and errors show it: credentials in it (mqtt://user:secret@host) are replaced. */
export function shownUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1[redacted]@');
}

/** Connects, resolving once the first CONNACK arrives; the client keeps reconnecting afterwards. */
export async function connectMqtt(o: ConnectOptions): Promise<MqttClient> {
  const tls = TLS_URL.test(o.url);
  const shown = shownUrl(o.url);
  if (o.ca && !tls) o.log.warn({ url: shown, ca: o.ca }, 'mqtt.ca is set but mqtt.url is not mqtts://: the connection is not encrypted');
  const opts: IClientOptions = {
    ...(tls ? { rejectUnauthorized: true, ...(o.ca ? { ca: readCa(o.ca) } : {}) } : {}),
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
  let refused: string | undefined;
  let saidRefused: string | undefined;
  client.on('error', (err) => {
    refused = tlsRefusal(err);
    if (refused) {
      // The broker, or someone pretending to be it, is not the one this client trusts: said once per reason until a connection succeeds.
      if (refused !== saidRefused) o.log.error({ code: 'VOICE_MQTT_TLS_UNTRUSTED', reason: refused, err: err.message, url: shown, ca: o.ca || 'system CAs' }, "the broker's TLS certificate is not trusted; not connecting (retrying)");
      saidRefused = refused;
      return;
    }
    if (!warned) o.log.warn({ code: 'VOICE_MQTT_UNREACHABLE', err: err.message, url: shown }, 'MQTT connection problem; retrying');
    warned = true;
  });
  client.on('reconnect', () => o.log.debug({ url: shown }, 'MQTT reconnecting'));
  client.on('offline', () => o.log.warn({ code: 'VOICE_MQTT_UNREACHABLE', url: shown }, 'MQTT broker unreachable; retrying every second'));
  client.on('connect', () => {
    warned = false;
    saidRefused = undefined;
    o.log.info({ url: shown }, 'MQTT connected');
  });
  const timeout = o.connectTimeoutMs ?? 30000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.end(true);
      if (refused) reject(new VoiceError('VOICE_MQTT_TLS_UNTRUSTED', `the MQTT broker at ${shown} presented a certificate this client does not trust (${refused}); check mqtt.ca and the host name in mqtt.url`));
      else reject(new VoiceError('VOICE_MQTT_UNREACHABLE', `could not connect to the MQTT broker at ${shown} within ${timeout} ms`));
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
