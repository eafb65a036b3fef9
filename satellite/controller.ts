/**
 * The satellite: audio source -> wake word -> (pre-roll + live audio) over
 * MQTT to the hub, with Silero VAD deciding the end of speech. Parts start in
 * order (MQTT, VAD, wake engine, audio source) and stop in reverse.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { type ErrorCode, toVoiceError, VoiceError } from '../common/errors';
import type { Logger } from '../common/log';
import { connectMqtt, endMqtt } from '../common/mqtt';
import {
  AUDIO_FORMAT,
  type AudioStartPayload,
  type AudioStopPayload,
  type ErrorPayload,
  now,
  PROTOCOL_VERSION,
  parseJson,
  type StatusPayload,
  type StopReason,
  parseTopic,
  topics,
  validateCommand,
  validateTtsStart,
  validateTtsStop,
  type WakePayload,
} from '../common/protocol';
import { VERSION } from '../common/version';
import type { SatelliteConfig } from '../config/satellite';
import { CommandSource } from './audio/command';
import { MicrophoneSource } from './audio/microphone';
import type { AudioSource } from './audio/source';
import { WavSource } from './audio/wav';
import { type PlayedEvent, Player } from './playback/player';
import { createSink } from './playback/sinks';
import { SileroVad } from './vad';
import type { WakeEngine } from './wake/engine';
import { OpenWakeWordEngine } from './wake/openwakeword';
import { PorcupineEngine } from './wake/porcupine';

const SOURCE_RETRY_MS = 2000;

interface LiveSession {
  id: string;
  /** Audio sent so far, ms (pre-roll included). */
  sentMs: number;
  preRollMs: number;
  speech: boolean;
  speechStarted: boolean;
  /** End of the last speech window, ms from the first frame sent. */
  lastSpeechMs: number;
  /** How long to wait for speech to start (vad.noSpeechMs, or followUp.listenMs). */
  noSpeechMs: number;
}

export function createWakeEngine(c: SatelliteConfig['wake']): WakeEngine {
  const engine = c.engine === 'auto' ? (c.porcupine.accessKey ? 'porcupine' : 'openwakeword') : c.engine;
  if (engine === 'porcupine') return new PorcupineEngine(c.porcupine);
  return new OpenWakeWordEngine({ keyword: c.keyword, threshold: c.threshold, threads: 1 });
}

export function createSource(c: SatelliteConfig['audio']): AudioSource {
  if (c.source === 'wav') return new WavSource(c.wav, c.wavRealtime, c.wavTrailingSilenceMs);
  if (c.source === 'command') return new CommandSource(c.command);
  return new MicrophoneSource(c.device);
}

export class Satellite extends EventEmitter {
  readonly config: SatelliteConfig;
  readonly log: Logger;
  readonly topics: ReturnType<typeof topics>;
  mqtt?: MqttClient;
  wake?: WakeEngine;
  vad?: SileroVad;
  source?: AudioSource;
  player?: Player;
  private pending = new Int16Array(0);
  private preRoll: Buffer[] = [];
  private session: LiveSession | null = null;
  private chain: Promise<void> = Promise.resolve();
  private refractoryUntil = 0;
  private playbackEndedAt = 0;
  private muted = false;
  private stopping = false;
  private retryTimer?: NodeJS.Timeout;

  constructor(ctx: { config: SatelliteConfig; log: Logger }) {
    super();
    this.config = ctx.config;
    this.log = ctx.log;
    this.topics = topics(ctx.config.mqtt.topicRoot);
  }

  private get id(): string {
    return this.config.satellite.id;
  }

  private status(state: 'online' | 'offline'): string {
    const p: StatusPayload = {
      state,
      protocol: PROTOCOL_VERSION,
      version: VERSION,
      room: this.config.satellite.room,
      capabilities: ['wake', 'stream', 'vad', 'playback'],
      wake: { engine: this.wake?.name, keyword: this.wake?.name === 'porcupine' ? this.config.wake.porcupine.keyword : this.config.wake.keyword },
      audio: { source: this.config.audio.source, format: AUDIO_FORMAT },
      muted: this.muted,
      time: now(),
    };
    return JSON.stringify(p);
  }

  async start(): Promise<void> {
    const c = this.config;
    this.mqtt = await connectMqtt({
      url: c.mqtt.url,
      clientId: `voice-sat-${this.id}`,
      username: c.mqtt.username,
      password: c.mqtt.password,
      will: { topic: this.topics.satStatus(this.id), payload: this.status('offline') },
      log: this.log.child({ module: 'mqtt' }),
    });
    const mqtt = this.mqtt;
    mqtt.on('message', (topic, payload) => this.onMessage(topic, payload));

    this.player = new Player(createSink(c.playback), c.playback.bufferMs, this.log.child({ module: 'playback' }));
    this.player.on('played', (ev: PlayedEvent) => this.onPlayed(ev));
    this.player.on('error', (err: unknown) => {
      const e = toVoiceError(err, 'VOICE_PLAYBACK_FAILED');
      this.publishError(e.code, e.message, this.player?.sessionId ?? undefined);
    });

    this.vad = new SileroVad(1);
    await this.vad.start();
    this.wake = createWakeEngine(c.wake);
    await this.wake.start();

    const announce = () => {
      mqtt.subscribe([this.topics.command(this.id), `${this.topics.tts(this.id, '+')}/#`, this.topics.tts(this.id, '+')], { qos: 1 });
      this.publishStatus();
    };
    announce();
    mqtt.on('connect', announce);

    await this.startSource();
    this.log.info({ id: this.id, room: c.satellite.room, wake: this.wake.name, source: c.audio.source }, 'satellite listening');
  }

  private publishStatus(): void {
    this.mqtt?.publish(this.topics.satStatus(this.id), this.status('online'), { qos: 1, retain: true });
  }

  private async startSource(): Promise<void> {
    const source = createSource(this.config.audio);
    this.source = source;
    source.on('data', (b: Buffer) => this.onAudio(b));
    source.on('error', (err: unknown) => this.onSourceError(err));
    source.on('end', () => {
      this.log.info({ source: source.name }, 'audio source ended');
      this.emit('source-end');
    });
    await source.start();
  }

  private onSourceError(err: unknown): void {
    const e = toVoiceError(err, 'VOICE_AUDIO_SOURCE_FAILED');
    this.publishError(e.code, e.message);
    if (this.stopping || this.config.audio.source === 'wav' || this.retryTimer) return;
    // A microphone unplugged or a capture command that died: retry until it works.
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      const old = this.source;
      void (async () => {
        await old?.stop().catch(() => undefined);
        old?.removeAllListeners();
        try {
          await this.startSource();
          this.log.info('audio source restarted');
        } catch (err2) {
          this.onSourceError(err2);
        }
      })();
    }, SOURCE_RETRY_MS);
  }

  publishError(code: ErrorCode, message: string, sessionId?: string): void {
    this.log.warn({ code, sessionId }, message);
    const p: ErrorPayload = { code, message, satellite: this.id, sessionId, time: now() };
    this.mqtt?.publish(this.topics.error(this.id), JSON.stringify(p), { qos: 1 });
  }

  /** Re-frames arbitrary PCM chunks into wake-engine frames, processed strictly in order. */
  private onAudio(buf: Buffer): void {
    const wake = this.wake;
    if (!wake || this.stopping) return;
    const n = buf.length >> 1;
    const joined = new Int16Array(this.pending.length + n);
    joined.set(this.pending);
    for (let i = 0; i < n; i++) joined[this.pending.length + i] = buf.readInt16LE(i * 2);
    const fl = wake.frameLength;
    let off = 0;
    for (; off + fl <= joined.length; off += fl) {
      const frame = joined.slice(off, off + fl);
      this.chain = this.chain.then(() => this.onFrame(frame)).catch((err: unknown) => {
        const e = toVoiceError(err, 'VOICE_WAKE_FAILED');
        this.publishError(e.code, e.message, this.session?.id);
      });
    }
    this.pending = joined.slice(off);
  }

  private frameMs(frame: Int16Array): number {
    return (frame.length * 1000) / AUDIO_FORMAT.rate;
  }

  private async onFrame(frame: Int16Array): Promise<void> {
    const bytes = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    const ms = this.frameMs(frame);
    if (this.session) {
      await this.stream(bytes, frame, ms);
      return;
    }
    this.preRoll.push(bytes);
    const keep = Math.ceil(this.config.vad.preRollMs / ms) + 1;
    if (this.preRoll.length > keep) this.preRoll.splice(0, this.preRoll.length - keep);
    if (this.muted) return;
    const wake = this.wake as WakeEngine;
    const playing = (this.player?.playing ?? false) || Date.now() < this.playbackEndedAt + this.config.wake.playbackTailMs;
    const mode = this.config.wake.duringPlayback === 'raise' && wake.name === 'porcupine' ? 'pause' : this.config.wake.duringPlayback;
    if (playing && mode === 'pause') return;
    const det = await wake.process(frame);
    if (!det || Date.now() < this.refractoryUntil) return;
    if (playing) {
      if (mode === 'raise' && det.score < this.config.wake.playbackThreshold) {
        this.log.info({ score: det.score }, 'wake word ignored during playback (below wake.playbackThreshold)');
        return;
      }
      this.log.info({ score: det.score }, 'barge-in: wake word during playback');
      this.player?.stop('barge-in');
    }
    this.log.info({ keyword: det.keyword, score: det.score }, 'wake word detected');
    await this.openSession(det.keyword, det.score);
  }

  private onPlayed(ev: PlayedEvent): void {
    const { followUp, ...payload } = ev;
    this.playbackEndedAt = Date.now();
    this.mqtt?.publish(this.topics.played(this.id), JSON.stringify(payload), { qos: 1 });
    this.emit('played', ev);
    // The reply asked a question: listen for the answer without the wake word.
    if (followUp && this.config.followUp.listenMs > 0 && !this.muted && !this.session) {
      this.chain = this.chain.then(() => this.openSession('follow-up', 1, this.config.followUp.listenMs).then(() => undefined));
    }
  }

  /** Opens a session: wake + audio start, then the pre-roll. */
  async openSession(wakeWord: string, score: number, noSpeechMs = this.config.vad.noSpeechMs): Promise<string | null> {
    if (this.session || !this.mqtt) return null;
    const id = randomUUID();
    const frameMs = this.preRoll.length ? (this.preRoll[0]).length / 32 : 0;
    const preFrames = Math.min(this.preRoll.length, Math.ceil(this.config.vad.preRollMs / Math.max(frameMs, 1)));
    const pre = this.preRoll.slice(this.preRoll.length - preFrames);
    this.preRoll = [];
    const preRollMs = pre.reduce((n, b) => n + b.length / 32, 0);
    const wake: WakePayload = { sessionId: id, wakeWord, score, time: now(), room: this.config.satellite.room };
    const start: AudioStartPayload = { sessionId: id, format: { ...AUDIO_FORMAT }, preRollMs, time: now() };
    this.mqtt.publish(this.topics.wake(this.id), JSON.stringify(wake), { qos: 1 });
    this.mqtt.publish(this.topics.audioStart(this.id, id), JSON.stringify(start), { qos: 1 });
    this.session = { id, sentMs: 0, preRollMs, speech: false, speechStarted: false, lastSpeechMs: 0, noSpeechMs };
    const vad = this.vad as SileroVad;
    vad.reset();
    for (const b of pre) {
      this.mqtt.publish(this.topics.audio(this.id, id), b, { qos: 0 });
      this.session.sentMs += b.length / 32;
      // Warm the VAD's state on the pre-roll; speech in it (the wake word itself) does not start the utterance.
      await vad.process(new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
    }
    this.emit('wake', wake);
    return id;
  }

  private async stream(bytes: Buffer, frame: Int16Array, ms: number): Promise<void> {
    const s = this.session as LiveSession;
    (this.mqtt as MqttClient).publish(this.topics.audio(this.id, s.id), bytes, { qos: 0 });
    const startMs = s.sentMs;
    s.sentMs += ms;
    const probs = await (this.vad as SileroVad).process(frame);
    const v = this.config.vad;
    probs.forEach((p, i) => {
      const at = startMs + ((i + 1) * ms) / probs.length;
      // Hysteresis: speech starts above the threshold and continues down to threshold - 0.15.
      if (p >= v.threshold || (s.speech && p >= v.threshold - 0.15)) {
        s.speech = true;
        s.speechStarted = true;
        s.lastSpeechMs = at;
      } else {
        s.speech = false;
      }
    });
    if (this.session !== s) return; // a stop command arrived meanwhile
    const spoken = s.sentMs - s.preRollMs;
    if (s.speechStarted && s.sentMs - s.lastSpeechMs >= v.silenceMs) this.stopSession('silence');
    else if (spoken >= v.maxUtteranceMs) this.stopSession('max-length');
    else if (!s.speechStarted && spoken >= s.noSpeechMs) this.stopSession('no-speech');
  }

  stopSession(reason: StopReason): void {
    const s = this.session;
    if (!s) return;
    this.session = null;
    const stop: AudioStopPayload = { sessionId: s.id, reason, audioMs: Math.round(s.sentMs), time: now() };
    if (s.speechStarted) stop.speechEndMs = Math.round(s.lastSpeechMs);
    this.mqtt?.publish(this.topics.audioStop(this.id, s.id), JSON.stringify(stop), { qos: 1 });
    this.refractoryUntil = Date.now() + this.config.wake.refractoryMs;
    this.wake?.reset();
    this.log.info({ sessionId: s.id, reason, audioMs: stop.audioMs, speechEndMs: stop.speechEndMs }, 'session stopped');
    this.emit('session-end', stop);
  }

  private onTts(topic: string, payload: Buffer): void {
    const t = parseTopic(this.config.mqtt.topicRoot, topic);
    const player = this.player;
    if (!t || t.satellite !== this.id || !player) return;
    try {
      if (t.kind === 'ttsStart') player.onStart(validateTtsStart(topic, parseJson(topic, payload)));
      else if (t.kind === 'ttsStop') player.onStop(validateTtsStop(topic, parseJson(topic, payload)));
      else if (t.kind === 'tts') {
        if (!player.knows(t.sessionId)) {
          this.publishError('VOICE_UNKNOWN_SESSION', `TTS audio for unknown stream ${t.sessionId} dropped`, t.sessionId);
          return;
        }
        if (payload.length % 2 !== 0) {
          this.publishError('VOICE_AUDIO_FORMAT', `TTS chunk of ${payload.length} bytes is not whole 16-bit samples; dropped`, t.sessionId);
          return;
        }
        player.onChunk(t.sessionId, payload);
      }
    } catch (err) {
      const e = toVoiceError(err, 'VOICE_BAD_PAYLOAD');
      this.publishError(e.code, e.message, 'sessionId' in t ? t.sessionId : undefined);
    }
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic !== this.topics.command(this.id)) {
      this.onTts(topic, payload);
      return;
    }
    try {
      const cmd = validateCommand(topic, parseJson(topic, payload));
      this.log.info({ command: cmd.command, sessionId: cmd.sessionId }, 'command');
      switch (cmd.command) {
        case 'end':
          if (this.session && cmd.sessionId === this.session.id) this.stopSession('command');
          break;
        case 'stop':
          if (this.session && (!cmd.sessionId || cmd.sessionId === this.session.id)) this.stopSession('command');
          if (this.player?.playing && (!cmd.sessionId || cmd.sessionId === this.player.sessionId)) this.player.stop('stopped');
          break;
        case 'mute':
          this.muted = true;
          this.stopSession('command');
          this.player?.stop('stopped');
          this.publishStatus();
          break;
        case 'unmute':
          this.muted = false;
          this.publishStatus();
          break;
        case 'listen':
          if (!this.muted) this.chain = this.chain.then(() => this.openSession('listen', 1).then(() => undefined));
          break;
      }
    } catch (err) {
      const e = err instanceof VoiceError ? err : toVoiceError(err, 'VOICE_BAD_PAYLOAD');
      this.publishError(e.code, e.message);
    }
  }

  get sessionId(): string | null {
    return this.session?.id ?? null;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    await this.source?.stop();
    await this.chain.catch(() => undefined);
    this.stopSession('shutdown');
    this.player?.close();
    if (this.mqtt?.connected) {
      await new Promise<void>((resolve) => this.mqtt?.publish(this.topics.satStatus(this.id), this.status('offline'), { qos: 1, retain: true }, () => resolve()));
    }
    await endMqtt(this.mqtt);
    await this.wake?.stop();
    await this.vad?.stop();
  }
}
