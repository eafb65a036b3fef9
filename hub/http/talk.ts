/**
 * A browser tab as a satellite: GET /api/talk is a WebSocket from the
 * dashboard's "talk" button. The hub speaks MQTT for the tab, as the tab's
 * satellite `browser-<id>` (kind browser in its retained status), so its
 * sessions take the same path as any satellite's: wake (wakeWord listen)
 * and audio/start with the tab's first frame, audio frames, audio/stop on
 * the broker; the transcripts and
 * the reply come back to the tab; the reply's TTS stream is collected and
 * sent as one WAV, and the tab's "played" is published for it.
 *
 * Tab -> hub: {type: 'start'} opens a session; binary messages are 16 kHz
 * mono s16le frames; {type: 'stop'} ends it; {type: 'played', sessionId,
 * playedMs, reason}. Hub -> tab: {type: 'ready', satellite, room},
 * {type: 'session', sessionId}, {type: 'partial' | 'final', text},
 * {type: 'end', sessionId} (stop capturing), {type: 'reply', text},
 * {type: 'audio', sessionId, rate} followed by a binary WAV, and
 * {type: 'error', code, message}.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { BYTES_PER_MS, PROTOCOL_VERSION, now } from '../../common/protocol';
import { wavFromPcm } from '../../common/wav';
import type { HubContext, TopicHandlers } from '../feature';

const MAX_SESSION_MS = 15000;

interface Tab {
  id: string;
  room: string;
  ws: WebSocket;
  /** opened: its wake and audio/start went out (with its first frame: the tab's microphone start-up is not the hub's latency). */
  session?: { id: string; bytes: number; timer: NodeJS.Timeout; opened: boolean };
  /** Reply audio being received, by session id. */
  tts: Map<string, { rate: number; chunks: Buffer[] }>;
}

export class TalkBridge {
  private readonly tabs = new Map<string, Tab>();

  constructor(private readonly ctx: HubContext) {}

  private publish(topic: string, payload: string | Buffer, retain = false): void {
    this.ctx.mqtt.publish(topic, payload, { qos: payload instanceof Buffer ? 0 : 1, retain });
  }

  private status(tab: Tab, state: 'online' | 'offline'): string {
    return JSON.stringify({ state, protocol: PROTOCOL_VERSION, kind: 'browser', room: tab.room, capabilities: ['audio', 'playback'], time: now() });
  }

  private tell(tab: Tab, m: Record<string, unknown>): void {
    if (tab.ws.readyState === tab.ws.OPEN) tab.ws.send(JSON.stringify(m));
  }

  /** Handlers the Http feature declares: the tabs' reply audio and the hub's commands to them. */
  readonly handlers: TopicHandlers = {
    ttsStart: (t, payload) => {
      const tab = this.tabs.get(t.satellite);
      if (!tab) return;
      const o = JSON.parse(payload.toString()) as { format?: { rate?: number } };
      tab.tts.set(t.sessionId, { rate: o.format?.rate ?? 16000, chunks: [] });
    },
    tts: (t, payload) => this.tabs.get(t.satellite)?.tts.get(t.sessionId)?.chunks.push(Buffer.from(payload)),
    ttsStop: (t, payload) => {
      const tab = this.tabs.get(t.satellite);
      const s = tab?.tts.get(t.sessionId);
      if (!tab || !s) return;
      tab.tts.delete(t.sessionId);
      const pcm = Buffer.concat(s.chunks);
      const aborted = (JSON.parse(payload.toString()) as { reason?: string }).reason === 'aborted';
      if (aborted) return; // stopped (barge-in, a new reply): nothing to play
      if (pcm.length === 0) return void this.played(tab, t.sessionId, 0, 'done');
      this.tell(tab, { type: 'audio', sessionId: t.sessionId, rate: s.rate });
      if (tab.ws.readyState === tab.ws.OPEN) tab.ws.send(wavFromPcm(pcm, s.rate));
    },
    command: (t, payload) => {
      const tab = this.tabs.get(t.satellite);
      if (!tab) return;
      const o = JSON.parse(payload.toString()) as { command?: string; sessionId?: string };
      if (o.command === 'end' && tab.session && (o.sessionId === undefined || o.sessionId === tab.session.id)) this.endSession(tab, 'command');
      if (o.command === 'stop') this.tell(tab, { type: 'stop' });
    },
  };

  private played(tab: Tab, sessionId: string, playedMs: number, reason: string): void {
    this.publish(this.ctx.topics.played(tab.id), JSON.stringify({ sessionId, reason, playedMs, time: now() }));
  }

  private startSession(tab: Tab): void {
    if (tab.session) this.endSession(tab, 'command');
    const sid = randomUUID();
    tab.session = { id: sid, bytes: 0, timer: setTimeout(() => this.endSession(tab, 'max-length'), MAX_SESSION_MS), opened: false };
    this.tell(tab, { type: 'session', sessionId: sid });
  }

  /** The session's first frame: its wake and audio/start, then the frame. */
  private open(tab: Tab, s: NonNullable<Tab['session']>): void {
    const time = now();
    s.opened = true;
    this.publish(this.ctx.topics.wake(tab.id), JSON.stringify({ sessionId: s.id, wakeWord: 'listen', score: 1, time, room: tab.room, openedBy: 'remote' }));
    this.publish(this.ctx.topics.audioStart(tab.id, s.id), JSON.stringify({ sessionId: s.id, format: { encoding: 's16le', rate: 16000, channels: 1 }, time }));
  }

  private endSession(tab: Tab, reason: 'silence' | 'max-length' | 'command'): void {
    const s = tab.session;
    if (!s) return;
    clearTimeout(s.timer);
    tab.session = undefined;
    if (s.opened) this.publish(this.ctx.topics.audioStop(tab.id, s.id), JSON.stringify({ sessionId: s.id, reason, time: now() }));
    this.tell(tab, { type: 'end', sessionId: s.id });
  }

  start(): void {
    const bus = this.ctx.bus;
    const mine = (satellite: string) => this.tabs.get(satellite);
    bus.on(this, 'partial', (t) => {
      const tab = mine(t.satellite);
      if (tab) this.tell(tab, { type: 'partial', sessionId: t.sessionId, text: t.text });
    });
    bus.on(this, 'transcript', (t) => {
      const tab = mine(t.satellite);
      if (!tab || !t.final) return;
      this.tell(tab, { type: 'final', sessionId: t.sessionId, text: t.text });
      // The hub ended it (the engine's endpoint, a complete command): the tab stops capturing.
      if (tab.session?.id === t.sessionId) {
        clearTimeout(tab.session.timer);
        tab.session = undefined;
        this.tell(tab, { type: 'end', sessionId: t.sessionId });
      }
    });
    // A browser satellite no tab holds (the hub stopped without clearing it, or another hub made it) is cleared.
    bus.on(this, 'satelliteOnline', (s) => {
      if (s.kind === 'browser' && !this.tabs.has(s.id)) this.publish(this.ctx.topics.satStatus(s.id), '', true);
    });
    bus.on(this, 'reply', (r) => {
      const tab = mine(r.satellite);
      if (tab) this.tell(tab, { type: 'reply', sessionId: r.sessionId, text: r.text });
    });
    // After a broker reconnect, the tabs' reply topics again.
    this.ctx.mqtt.on('connect', this.resubscribe);
  }

  private readonly resubscribe = () => {
    for (const tab of this.tabs.values()) this.ctx.mqtt.subscribe(this.ttsFilter(tab.id), { qos: 0 });
  };

  /** A tab's reply audio: tts/<session>, with its start and stop. */
  private ttsFilter(id: string): string {
    return `${this.ctx.topics.tts(id, '+')}/#`;
  }

  routes(app: FastifyInstance): void {
    app.get<{ Querystring: { room?: string } }>('/api/talk', { websocket: true }, (ws, req) => {
      const id = `browser-${randomBytes(3).toString('hex')}`;
      const room = /^[A-Za-z0-9_-]{1,64}$/.test(req.query.room ?? '') ? (req.query.room as string) : 'browser';
      const tab: Tab = { id, room, ws, tts: new Map() };
      this.tabs.set(id, tab);
      const ttsFilter = this.ttsFilter(id);
      this.ctx.mqtt.subscribe(ttsFilter, { qos: 0 });
      this.publish(this.ctx.topics.satStatus(id), this.status(tab, 'online'), true);
      this.tell(tab, { type: 'ready', satellite: id, room });
      this.ctx.log.info({ satellite: id, room, from: req.ip }, 'browser satellite connected');
      ws.on('message', (data: Buffer, binary: boolean) => {
        if (binary) {
          const s = tab.session;
          if (!s) return; // after the session ended: frames still in flight
          if (data.length === 0 || data.length % 2 !== 0 || data.length > 64000) return this.tell(tab, { type: 'error', code: 'VOICE_AUDIO_FORMAT', message: `a frame of ${data.length} bytes: send whole 16-bit samples, at most 64000 bytes` });
          if (!s.opened) this.open(tab, s);
          s.bytes += data.length;
          this.publish(this.ctx.topics.audio(id, s.id), Buffer.from(data));
          if (s.bytes / BYTES_PER_MS >= MAX_SESSION_MS) this.endSession(tab, 'max-length');
          return;
        }
        let m: { type?: string; sessionId?: string; playedMs?: number; reason?: string };
        try {
          m = JSON.parse(data.toString()) as typeof m;
        } catch {
          return this.tell(tab, { type: 'error', code: 'VOICE_BAD_PAYLOAD', message: 'not JSON' });
        }
        if (typeof m !== 'object' || m === null || Array.isArray(m)) return this.tell(tab, { type: 'error', code: 'VOICE_BAD_PAYLOAD', message: 'send a JSON object with a type' });
        if (m.type === 'start') this.startSession(tab);
        else if (m.type === 'stop') this.endSession(tab, 'silence');
        else if (m.type === 'played' && typeof m.sessionId === 'string') this.played(tab, m.sessionId, Math.max(0, Math.round(Number(m.playedMs) || 0)), m.reason === 'stopped' ? 'stopped' : 'done');
        else this.tell(tab, { type: 'error', code: 'VOICE_BAD_PAYLOAD', message: `unknown message type ${String(m.type)}` });
      });
      ws.on('close', () => {
        this.endSession(tab, 'command');
        this.tabs.delete(id);
        this.ctx.mqtt.unsubscribe(ttsFilter);
        // The tab is gone, not just offline: its retained status is cleared (the registry removes it).
        this.publish(this.ctx.topics.satStatus(id), '', true);
        this.ctx.log.info({ satellite: id }, 'browser satellite disconnected');
      });
    });
  }

  stop(): void {
    this.ctx.bus.removeOwner(this);
    this.ctx.mqtt.off('connect', this.resubscribe);
    // Cleared now, while the hub is still connected (the close handlers may run after it has gone).
    for (const tab of this.tabs.values()) {
      this.publish(this.ctx.topics.satStatus(tab.id), '', true);
      tab.ws.close(1001, 'the hub is stopping');
    }
  }
}
