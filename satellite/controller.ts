/**
 * The satellite: builds its parts, starts them in order and stops them in
 * reverse, and wires their events. The path of one interaction:
 *
 *   audio/supervisor (source) -> session/frame-queue (bounded, in order)
 *   -> session/listener: preroll, wake/gate + wake engine -> openSession
 *   -> session/streamer publishes wake, audio start, pre-roll, frames
 *   -> Silero VAD -> endpointer -> endSession -> streamer publishes audio stop
 *   -> the hub replies: playback/router -> player -> 'played' -> follow-up?
 *
 * The one state field (idle, streaming, playing, follow-up, muted) is in
 * state.ts; commands (commands.ts) change it synchronously. A remote listen
 * plays its earcon before it streams (session/remote-listen.ts). The retained
 * status says whenever a session streams (listening, openedBy).
 */
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import type { Logger } from '../common/log';
import { connectMqtt, endMqtt } from '../common/mqtt';
import { AUDIO_FORMAT, now, PROTOCOL_VERSION, parseJson, type StatusPayload, type Topics, topics, validateCommand } from '../common/protocol';
import { ErrorReporter } from '../common/report';
import { VERSION } from '../common/version';
import type { SatelliteConfig } from '../config/satellite';
import { isRealtime } from './audio/select';
import { SourceSupervisor } from './audio/supervisor';
import { applyCommand } from './commands';
import { busyTone, playEarcon } from './playback/earcon';
import { type PlayedEvent, Player } from './playback/player';
import { TtsRouter } from './playback/router';
import { createSink } from './playback/sinks';
import { PreRoll } from './preroll';
import { FrameQueue } from './session/frame-queue';
import { Listener } from './session/listener';
import { RemoteListen } from './session/remote-listen';
import { SessionStreamer } from './session/streamer';
import { SatelliteState } from './state';
import { SileroVad } from './vad';
import { setWakeThreshold, type WakeEngine } from './wake/engine';
import { WakeGate } from './wake/gate';
import { LevelMeter } from './wake/level';
import { createWakeEngine } from './wake/select';

export { createSource } from './audio/select';
export { createWakeEngine } from './wake/select';

/** Audio allowed to wait for processing before the oldest is dropped (a real-time source). */
/** Audio a live source may get ahead of processing before the oldest frames are dropped: a full pipe (64 KiB) is ~2 s. */
export const MAX_QUEUED_MS = 3000;

/** Emits 'wake', 'session-end', 'played' and 'source-end'. */
export class Satellite extends EventEmitter {
  readonly config: SatelliteConfig;
  readonly log: Logger;
  readonly topics: Topics;
  readonly state: SatelliteState;
  mqtt?: MqttClient;
  errors?: ErrorReporter;
  player?: Player;
  vad?: SileroVad;
  wake?: WakeEngine;
  listener?: Listener;
  frames?: FrameQueue;
  source?: SourceSupervisor;
  private tts?: TtsRouter;
  private remote?: RemoteListen;

  constructor(ctx: { config: SatelliteConfig; log: Logger }) {
    super();
    this.config = ctx.config;
    this.log = ctx.log;
    this.topics = topics(ctx.config.mqtt.topicRoot);
    this.state = new SatelliteState((next, prev) => this.log.debug({ from: prev.kind, to: next.kind }, 'state'));
  }

  private get id(): string {
    return this.config.satellite.id;
  }

  get sessionId(): string | null {
    return this.state.session?.id ?? null;
  }

  private status(state: 'online' | 'offline'): string {
    const c = this.config;
    const session = this.state.session;
    const p: StatusPayload = {
      state,
      protocol: PROTOCOL_VERSION,
      version: VERSION,
      room: c.satellite.room,
      ...(c.satellite.group ? { group: c.satellite.group } : {}),
      capabilities: ['wake', 'stream', 'vad', 'playback'],
      wake: { engine: this.wake?.name, keyword: this.wake?.name === 'porcupine' ? c.wake.porcupine.keyword : c.wake.keyword },
      audio: { source: c.audio.source, format: AUDIO_FORMAT },
      muted: this.state.kind === 'muted',
      // The microphone streams to the hub (a live session), and what opened it.
      listening: state === 'online' && session !== null,
      volume: this.player?.volume ?? c.playback.volume,
      // Only an engine that can change it while running (openWakeWord) has one to report.
      ...(this.wake?.threshold !== undefined ? { wakeThreshold: this.wake.threshold } : {}),
      ...(state === 'online' && session ? { openedBy: session.openedBy } : {}),
      time: now(),
    };
    return JSON.stringify(p);
  }

  private publishStatus(): void {
    this.mqtt?.publish(this.topics.satStatus(this.id), this.status('online'), { qos: 1, retain: true });
  }

  async start(): Promise<void> {
    const c = this.config;
    const log = (module: string) => this.log.child({ module });
    // 1. MQTT, and the error reporter that publishes on it.
    this.mqtt = await connectMqtt({
      url: c.mqtt.url,
      clientId: `voice-sat-${this.id}`,
      username: c.mqtt.username,
      password: c.mqtt.password,
      ca: c.mqtt.ca,
      will: { topic: this.topics.satStatus(this.id), payload: this.status('offline') },
      log: log('mqtt'),
    });
    const mqtt = this.mqtt;
    const errors = new ErrorReporter({ topics: this.topics, log: this.log, mqtt: () => this.mqtt, defaultSatellite: this.id });
    this.errors = errors;

    // 2. Playback.
    const player = new Player(createSink(c.playback), c.playback.bufferMs, log('playback'));
    player.volume = c.playback.volume;
    this.player = player;
    this.tts = new TtsRouter({ topicRoot: c.mqtt.topicRoot, satellite: this.id, player, state: this.state, errors });

    // 3. VAD and wake engine (ONNX models).
    this.vad = new SileroVad(1);
    await this.vad.start();
    const wake = createWakeEngine(c.wake);
    this.wake = wake;
    await wake.start();

    // 4. The frame path: gate, pre-roll, streamer, listener behind a bounded queue.
    const listener = new Listener({
      config: c,
      log: log('listener'),
      state: this.state,
      gate: new WakeGate({ settings: c.wake, canRaise: wake.name !== 'porcupine', now: Date.now }),
      preRoll: new PreRoll(c.vad.preRollMs),
      levels: new LevelMeter(),
      streamer: new SessionStreamer({ satellite: this.id, room: c.satellite.room, calibrationDb: c.wake.calibrationDb, topics: this.topics, publish: (t, p, qos) => mqtt.publish(t, p, { qos }) }),
      wake,
      vad: this.vad,
      player,
    });
    this.listener = listener;
    this.remote = new RemoteListen({ earcon: c.privacy.listenEarcon, listener, player, report: (code, message, sessionId) => errors.report(code, message, { sessionId }), log: log('listen') });
    const frameMs = (wake.frameLength * 1000) / AUDIO_FORMAT.rate;
    this.frames = new FrameQueue({
      frameLength: wake.frameLength,
      maxQueued: isRealtime(c.audio) ? Math.ceil(MAX_QUEUED_MS / frameMs) : Number.POSITIVE_INFINITY,
      handle: (f) => listener.handleFrame(f),
      onError: (err) => errors.reportError(err, 'VOICE_WAKE_FAILED', { sessionId: this.sessionId ?? undefined }),
      log: log('frames'),
    });

    // Wiring.
    listener.on('wake', (w) => {
      this.publishStatus();
      this.emit('wake', w);
    });
    listener.on('session-end', (s) => {
      this.publishStatus();
      this.emit('session-end', s);
    });
    player.on('played', (ev: PlayedEvent) => this.onPlayed(ev));
    player.on('error', (err: unknown) => errors.reportError(err, 'VOICE_PLAYBACK_FAILED', { sessionId: player.sessionId ?? undefined }));
    mqtt.on('message', (topic, payload) => this.onMessage(topic, payload));
    const announce = () => {
      mqtt.subscribe([this.topics.command(this.id), `${this.topics.tts(this.id, '+')}/#`, this.topics.tts(this.id, '+')], { qos: 1 });
      this.publishStatus();
    };
    announce();
    mqtt.on('connect', announce);

    // 5. The audio source, last: frames only flow once everything above runs.
    const frames = this.frames;
    this.source = new SourceSupervisor({ config: c.audio, log: log('audio'), errors, onData: (b) => frames.write(b), onEnd: () => this.emit('source-end') });
    await this.source.start();
    this.log.info({ id: this.id, room: c.satellite.room, wake: wake.name, source: c.audio.source }, 'satellite listening');
  }

  private onPlayed(ev: PlayedEvent): void {
    const { followUp, ...payload } = ev;
    this.mqtt?.publish(this.topics.played(this.id), JSON.stringify(payload), { qos: 1 });
    this.emit('played', ev);
    this.remote?.played(ev);
    this.listener?.playbackEnded(followUp);
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic !== this.topics.command(this.id)) {
      this.tts?.handle(topic, payload);
      return;
    }
    const { listener, player, remote } = this;
    if (!listener || !player || !remote) return;
    try {
      const cmd = validateCommand(topic, parseJson(topic, payload));
      this.log.info({ command: cmd.command, sessionId: cmd.sessionId, state: this.state.kind }, 'command');
      applyCommand(cmd, {
        state: this.state,
        listener,
        player,
        publishStatus: () => this.publishStatus(),
        listen: () => remote.open(),
        busy: (sid) => playEarcon(player, sid, busyTone()),
        setVolume: (v) => (player.volume = v),
        setWakeThreshold: (t) => this.setWakeThreshold(t),
      });
    } catch (err) {
      this.errors?.reportError(err, 'VOICE_BAD_PAYLOAD');
    }
  }

  private setWakeThreshold(threshold: number): void {
    if (!this.wake) return;
    const was = setWakeThreshold(this.wake, threshold);
    this.log.info({ threshold, was }, 'wake threshold changed');
  }

  /** Stops the parts in reverse order of start. */
  async stop(): Promise<void> {
    await this.source?.stop();
    await this.frames?.stop();
    this.remote?.stop();
    this.listener?.endSession('shutdown');
    this.player?.close();
    if (this.mqtt?.connected) {
      await new Promise<void>((resolve) => this.mqtt?.publish(this.topics.satStatus(this.id), this.status('offline'), { qos: 1, retain: true }, () => resolve()));
    }
    await endMqtt(this.mqtt);
    await this.wake?.stop();
    await this.vad?.stop();
  }
}
