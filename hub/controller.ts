/**
 * The hub: builds its parts and starts them in order (the event-loop monitor,
 * broker, speech-to-text workers, text-to-speech, MQTT client, then the
 * features on the bus: the satellite registry, arbitration, sessions,
 * intents, replies, announcements, Home Assistant discovery), and stops them in reverse. Features talk through the event bus (hub/bus.ts) and declare
 * their own MQTT topics; the router (hub/router.ts) dispatches to them.
 *
 * A wake, module by module: router -> sessions (emits wake; asks arbitration
 * when satellites of a group heard it; opens a recognizer, emits sessionOpened) -> stt/pool (worker threads) -> sessions (partials,
 * the final transcript; emits transcript) -> intents (publishes the intent;
 * emits understood) -> reply/manager (automation claim,
 * LLM, TTS to the satellite) -> registry (state of each satellite throughout).
 */
import type { MqttClient } from 'mqtt';
import { toVoiceError } from '../common/errors';
import type { Logger } from '../common/log';
import { connectMqtt, endMqtt, shownUrl } from '../common/mqtt';
import { PROTOCOL_VERSION, type StatusPayload, now, topics } from '../common/protocol';
import { ErrorReporter } from '../common/report';
import { VERSION } from '../common/version';
import type { HubConfig } from '../config/hub';
import { Arbitration } from './arbitration/arbiter';
import { EmbeddedBroker } from './broker';
import { hubSelfUrl, resolveBrokerTls, warnExpiry } from './security/tls';
import { EventBus } from './bus';
import { type Resolved, startStt, startTts } from './engines';
import { EventLoopMonitor } from './event-loop';
import type { Feature, HubContext } from './feature';
import { Announcements } from './features/announce';
import { HomeAssistant } from './homeassistant/feature';
import { Intents } from './intents/feature';
import { KeptSettings } from './kept/feature';
import { commandModel, unsayable } from './intents/command-model';
import { Timers } from './timers/feature';
import { Volume } from './volume/feature';
import { BUILTIN_INTENTS, type IntentSet, loadIntents, sentenceCount, userIntentFiles } from './intents/load';
import { Http } from './http/feature';
import { OllamaClient } from './llm/ollama';
import { OllamaApi } from './llm/ollama-api';
import { checkLlmAtStart } from './llm/startup';
import { SatelliteRegistry } from './registry';
import { ReplyManager } from './reply/manager';
import { Router } from './router';
import { HUB_IDENTITY, IdentityStore } from './security/identities';
import { SessionManager } from './sessions/manager';
import { Admission } from './stt/admission';
import type { SttProcess } from './stt/process';
import type { TtsProcess } from './tts/process';

export class Hub {
  readonly config: HubConfig;
  readonly log: Logger;
  readonly topics: ReturnType<typeof topics>;
  readonly bus: EventBus;
  readonly registry: SatelliteRegistry;
  readonly errors: ErrorReporter;
  broker?: EmbeddedBroker;
  /** Who may use the embedded broker (hub/security/identities.ts); satellites' rooms come from here too. */
  identities?: IdentityStore;
  mqtt?: MqttClient;
  sessions?: SessionManager;
  /** Admission control in front of the STT process: the decoding limit, the queue, refusals (hub/stt/admission.ts). */
  admission?: Admission;
  replies?: ReplyManager;
  /** Understanding: final transcripts matched to intents (intents.*). */
  intents?: Intents;
  timers?: Timers;
  /** The HTTP server (http.enabled): health, metrics, the REST API. */
  http?: Http;
  /** Cross-room wake arbitration (arbitration.enabled). */
  arbitration?: Arbitration;
  /** The URL clients use to reach the hub's broker. */
  brokerUrl = '';
  private sttEngine?: Resolved<SttProcess>;
  private ttsEngine?: Resolved<TtsProcess>;
  /** Why no TTS runs when replies are on (text-only replies). */
  private ttsError?: { code: string; message: string };
  private features: Feature[] = [];
  private router?: Router;
  private statusTimer?: NodeJS.Timeout;
  /** The main thread's event-loop delay, for the status. */
  readonly eventLoop: EventLoopMonitor;

  constructor(ctx: { config: HubConfig; log: Logger }) {
    this.config = ctx.config;
    this.log = ctx.log;
    this.topics = topics(ctx.config.mqtt.topicRoot);
    this.bus = new EventBus(ctx.log.child({ module: 'bus' }));
    this.registry = new SatelliteRegistry(ctx.config.mqtt.topicRoot);
    this.errors = new ErrorReporter({ topics: this.topics, log: ctx.log, mqtt: () => this.mqtt });
    this.eventLoop = new EventLoopMonitor({ config: ctx.config, log: ctx.log.child({ module: 'event-loop' }) });
  }

  get stt(): SttProcess | undefined {
    return this.sttEngine?.engine;
  }

  /** The TTS process (undefined when replies are off or no engine could start). */
  get tts(): TtsProcess | undefined {
    return this.ttsEngine?.engine;
  }

  /** The retained hub status: presence, the engines really in use (with any fallback), and the main event loop's delay. */
  private status(state: 'online' | 'offline'): string {
    const p: StatusPayload = { state, protocol: PROTOCOL_VERSION, version: VERSION, name: this.config.hub.name, time: now() };
    if (state === 'online') {
      const stt = this.sttEngine;
      const tts = this.ttsEngine;
      const a = this.admission?.stats;
      p.stt = { engine: stt?.engine.engineName, workers: stt?.engine.workers, capacity: stt?.engine.capacity, limit: a?.limit, live: a?.live, queued: a?.queued, refused: a?.refused, restarts: stt?.engine.restarts, fallback: stt?.fallback };
      p.tts = { engine: tts?.name ?? null, rate: tts?.engine.format.rate, restarts: tts?.engine.restarts, fallback: tts?.fallback, error: this.ttsError };
      p.llm = { model: this.config.llm.model, enabled: this.config.reply.enabled };
      p.eventLoop = this.eventLoop.stats();
      const satellites = Object.fromEntries(this.registry.all().filter((x) => x.arbitration.wins + x.arbitration.losses > 0).map((x) => [x.id, x.arbitration]));
      p.arbitration = { enabled: this.config.arbitration.enabled, decisions: this.arbitration?.stats.decisions ?? 0, lateDuplicates: this.arbitration?.stats.lateDuplicates ?? 0, satellites };
      p.intents = { enabled: this.config.intents.enabled, ...this.intents?.summary() };
      p.timers = { enabled: this.timers !== undefined, ...this.timers?.summary() };
      if (this.http?.url) p.http = { url: this.http.url };
    }
    return JSON.stringify(p);
  }

  async start(): Promise<void> {
    const c = this.config;
    // First, so that what the other parts cost the main thread when they start is measured too.
    this.eventLoop.start();
    // Before anything listens: a mistake in an intent file stops the hub at once (exit 78), every problem listed.
    const intentSet = c.intents.enabled ? this.loadIntents() : undefined;
    // The identities, and the hub's own secret (made at its first start).
    this.identities = new IdentityStore(c.hub.stateDir).open();
    const hubSecret = await this.identities.hubSecret();
    let ca = c.mqtt.ca;
    if (c.mqtt.url === '') {
      const { port, allowAnonymous, plain, host, maxPacketBytes } = c.broker;
      const tls = resolveBrokerTls({ stateDir: c.hub.stateDir, host, plain, tls: c.broker.tls });
      if (tls.listener) warnExpiry(tls.listener.notAfter, this.log);
      this.broker = new EmbeddedBroker({ host, port, plain, tls: tls.listener, allowAnonymous, maxPacketBytes, report: (code, message, at) => this.errors.report(code, message, at), topicRoot: c.mqtt.topicRoot, hubClientId: c.mqtt.clientId }, this.identities, this.log.child({ module: 'broker' }));
      await this.broker.start();
      const self = hubSelfUrl({ host, plain }, { plain: this.broker.port, tls: this.broker.tlsPort }, tls.listener?.host ?? '');
      this.brokerUrl = self.url;
      ca = self.tls ? tls.caFile : '';
    } else {
      this.brokerUrl = c.mqtt.url;
    }

    this.sttEngine = await startStt(c.stt, this.log.child({ module: 'stt' }), {
      commands: intentSet && c.intents.commandModel ? this.commandModel(intentSet) : undefined,
      quietMs: intentSet && c.intents.endOfCommandMs > 0 ? c.intents.endOfCommandMs : undefined,
    });
    if (c.reply.enabled) await this.startTts();

    const embedded = this.broker !== undefined;
    this.mqtt = await connectMqtt({
      url: this.brokerUrl,
      clientId: c.mqtt.clientId,
      username: embedded ? HUB_IDENTITY : c.mqtt.username,
      password: embedded ? hubSecret : c.mqtt.password,
      ca,
      will: { topic: this.topics.hubStatus(), payload: this.status('offline') },
      log: this.log.child({ module: 'mqtt' }),
    });
    const ctx: HubContext = { config: c, mqtt: this.mqtt, topics: this.topics, bus: this.bus, registry: this.registry, identities: this.identities, errors: this.errors, log: this.log };
    const child = (module: string): HubContext => ({ ...ctx, log: this.log.child({ module }) });
    this.registry.attach(child('registry'));
    const admission = new Admission(this.sttEngine.engine, { queueMs: c.stt.queueMs, log: this.log.child({ module: 'admission' }) });
    this.sttEngine.engine.onReplaced(() => admission.resume());
    this.admission = admission;
    if (c.arbitration.enabled) this.arbitration = new Arbitration(child('arbitration'));
    this.intents = new Intents(child('intents'), intentSet);
    this.sessions = new SessionManager(child('sessions'), this.admission, this.arbitration, this.intents);
    this.features = [this.registry, ...(this.arbitration ? [this.arbitration] : []), this.sessions, this.intents];
    // Timers answer intents: without templates there is nothing to set one with.
    if (intentSet && c.timers.enabled) this.features.push((this.timers = new Timers(child('timers'), this.intents)));
    const kept = new KeptSettings(child('kept'));
    this.features.push(kept);
    if (intentSet) this.features.push(new Volume(child('volume'), this.intents, kept.volume));
    if (c.reply.enabled) {
      this.replies = new ReplyManager(child('reply'), { llm: new OllamaClient(c.llm, this.log.child({ module: 'llm' })), tts: this.tts, intents: this.intents });
      this.features.push(this.replies, new Announcements(child('announce')));
    }
    if (c.homeassistant.enabled) this.features.push(new HomeAssistant(child('homeassistant')));
    const ollama = new OllamaApi(c.llm);
    if (c.http.enabled) this.features.push((this.http = this.httpServer(child('http'), ollama)));
    for (const f of this.features) await f.start?.();
    if (c.reply.enabled && c.llm.checkAtStart) void checkLlmAtStart(ollama, c.llm, this.errors, this.log.child({ module: 'llm' }));
    // Subscribe and announce presence now and whenever the broker comes back.
    const mqtt = this.mqtt;
    this.router = new Router({
      root: c.mqtt.topicRoot,
      mqtt,
      errors: this.errors,
      log: this.log.child({ module: 'router' }),
      features: this.features,
      onConnect: () => this.publishStatus(),
    });
    this.router.start();
    if (c.hub.statusIntervalS > 0) {
      // Refreshes the event-loop figures; while the broker is away, the next connect publishes anyway.
      this.statusTimer = setInterval(() => {
        if (mqtt.connected) this.publishStatus();
      }, c.hub.statusIntervalS * 1000);
      this.statusTimer.unref();
    }
    this.log.info({ broker: shownUrl(this.brokerUrl), stt: this.sttEngine.name, tts: this.ttsEngine?.name ?? null }, 'hub ready');
  }

  private httpServer(ctx: HubContext, llm: OllamaApi): Http {
    const voice = (name: string) => (name === 'piper' ? this.config.tts.piper.voice : this.config.tts.flite.voice);
    return new Http(ctx, {
      stt: () => this.admission,
      tts: () => (this.tts && this.ttsEngine ? { engine: this.tts, name: this.ttsEngine.name, voice: voice(this.ttsEngine.name) } : undefined),
      ttsError: () => this.ttsError,
      broker: () => this.broker,
      sttBusyMs: () => this.admission?.busyMs ?? 0,
      isCommand: (text) => this.intents?.isCommand(text) ?? false,
      llm,
    });
  }

  private loadIntents(): IntentSet {
    const started = Date.now();
    const set = loadIntents([BUILTIN_INTENTS, ...userIntentFiles(this.config.intents.dir)]);
    this.log.info({ files: set.files, intents: set.intents.size, sentences: sentenceCount(set), lists: set.lists.size, nodes: set.graph.size, ms: Date.now() - started }, 'intents loaded');
    return set;
  }

  /** The intent templates' language model, for the recognizer to decode beside its general one (intents.commandModel). */
  private commandModel(set: IntentSet): { lm: string; grammar: string } {
    const started = Date.now();
    const m = commandModel(set, this.config.hub.stateDir);
    this.log.info({ lm: m.lm, grammar: m.grammar, words: m.words, reused: m.reused, ms: Date.now() - started }, 'command model ready');
    // The engine is resolved after this (startStt, stt.engine=auto): the check runs whatever it will be.
    const missing = unsayable(set, this.config.stt.pocketsphinx.dict, this.log);
    if (missing.length) this.log.warn({ words: missing }, 'template words the pocketsphinx dictionary has no pronunciation for: the command model cannot hear them (add them to stt.pocketsphinx.dict, or say them another way)');
    return { lm: m.lm, grammar: m.grammar };
  }

  private publishStatus(): void {
    this.mqtt?.publish(this.topics.hubStatus(), this.status('online'), { qos: 1, retain: true });
  }

  private async startTts(): Promise<void> {
    try {
      this.ttsEngine = await startTts(this.config.tts, this.log.child({ module: 'tts' }));
      this.log.info({ engine: this.ttsEngine.name, rate: this.ttsEngine.engine.format.rate, threads: this.ttsEngine.engine.threads, pid: this.ttsEngine.engine.pid }, 'text-to-speech ready');
    } catch (err) {
      // A Piper voice named explicitly must work; otherwise the hub still transcribes and answers in text.
      if (this.config.tts.engine === 'piper') throw err;
      const e = toVoiceError(err, 'VOICE_TTS_FAILED');
      this.ttsError = { code: e.code, message: e.message };
      this.errors.report('VOICE_TTS_FAILED', `${e.message}; replies will be text only`);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.statusTimer);
    this.router?.stop();
    for (const f of [...this.features].reverse()) await f.stop?.();
    if (this.mqtt?.connected) {
      await new Promise<void>((resolve) => this.mqtt?.publish(this.topics.hubStatus(), this.status('offline'), { qos: 1, retain: true }, () => resolve()));
    }
    await endMqtt(this.mqtt);
    await this.stt?.stop();
    await this.tts?.stop();
    await this.broker?.stop();
    this.eventLoop.stop();
  }
}
