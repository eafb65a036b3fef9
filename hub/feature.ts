/**
 * What every hub feature gets and provides. A feature (sessions, replies,
 * announcements, the registry; later arbitration, intents, discovery, HTTP)
 * is one module: it gets one context object, listens on the bus, and
 * declares the MQTT topics it handles. The controller never switches on a
 * feature's topics: the router dispatches each parsed topic to the features
 * that declared its kind.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from '../common/log';
import type { IncomingTopic, TopicKind, Topics } from '../common/protocol';
import type { ErrorReporter } from '../common/report';
import type { HubConfig } from '../config/hub';
import type { EventBus } from './bus';
import type { SatelliteRegistry } from './registry';
import type { IdentityStore } from './security/identities';

export interface HubContext {
  config: HubConfig;
  mqtt: MqttClient;
  topics: Topics;
  bus: EventBus;
  registry: SatelliteRegistry;
  /** Who may use the hub's broker, with their roles and rooms. */
  identities: IdentityStore;
  errors: ErrorReporter;
  log: Logger;
}

/** A parsed topic of one kind, as handed to a feature's handler. */
export type TopicOf<K extends TopicKind> = Extract<IncomingTopic, { kind: K }>;

export type TopicHandlers = { [K in TopicKind]?: (t: TopicOf<K>, payload: Buffer, topic: string) => void };

export interface Feature {
  readonly name: string;
  /** MQTT filters to subscribe to (re-subscribed on every reconnect). */
  readonly subscriptions: string[];
  /** Handlers by topic kind; a handler may throw a VoiceError, which the router reports. */
  readonly handlers: TopicHandlers;
  start?(): void | Promise<void>;
  stop?(): void | Promise<void>;
}
