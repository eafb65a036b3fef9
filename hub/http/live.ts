/**
 * The dashboard's live feed: GET /api/live is a WebSocket that first sends
 * a snapshot (satellites, recent events, recent errors, latency samples),
 * then every event as it happens, one JSON object per message:
 *   {type: 'satellite', satellite}           online, offline, state, removed
 *   {type: 'partial' | 'final', transcript}  transcripts
 *   {type: 'intent', intent}                 an intent matched
 *   {type: 'reply', reply}                   the reply text
 *   {type: 'error', error}                   an error reported
 *   {type: 'latency', kind, ms, at}          wakeToAudio, speechToFinal, finalToSpeech
 */
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { SatelliteInfo } from '../bus';
import type { HubContext } from '../feature';
import { type LatencyKind, watchLatencies } from './latency';

const RECENT = 50;
const SAMPLES = 60;

export class LiveFeed {
  private readonly clients = new Set<WebSocket>();
  private readonly events: unknown[] = [];
  private readonly errors: unknown[] = [];
  private readonly latency: Record<LatencyKind, { ms: number; at: number }[]> = { wakeToAudio: [], speechToFinal: [], finalToSpeech: [] };
  private unwatch?: () => void;

  constructor(private readonly ctx: HubContext) {}

  private send(m: { type: string } & Record<string, unknown>, keep?: unknown[], max = RECENT): void {
    if (keep) {
      keep.push(m);
      if (keep.length > max) keep.shift();
    }
    const text = JSON.stringify(m);
    for (const ws of this.clients) if (ws.readyState === ws.OPEN) ws.send(text);
  }

  private sample(kind: LatencyKind, ms: number): void {
    const s = { ms: Math.round(ms), at: Date.now() };
    const list = this.latency[kind];
    list.push(s);
    if (list.length > SAMPLES) list.shift();
    this.send({ type: 'latency', kind, ...s });
  }

  start(): void {
    const bus = this.ctx.bus;
    const sat = (satellite: SatelliteInfo) => this.send({ type: 'satellite', satellite });
    bus.on(this, 'satelliteOnline', sat);
    bus.on(this, 'satelliteOffline', sat);
    bus.on(this, 'satelliteRemoved', (s) => this.send({ type: 'satellite', satellite: { ...s, removed: true } }));
    bus.on(this, 'satelliteState', ({ satellite }) => sat(satellite));
    bus.on(this, 'partial', (t) => this.send({ type: 'partial', transcript: t }));
    bus.on(this, 'transcript', (t) => {
      if (!t.final) return;
      this.send({ type: 'final', transcript: t }, this.events);
    });
    bus.on(this, 'intent', (i) => this.send({ type: 'intent', intent: i }, this.events));
    bus.on(this, 'reply', (r) => this.send({ type: 'reply', reply: r }, this.events));
    watchLatencies(bus, this, (kind, ms) => this.sample(kind, ms));
    this.unwatch = this.ctx.errors.onReport((e) => this.send({ type: 'error', error: e }, this.errors, 20));
  }

  routes(app: FastifyInstance): void {
    app.get('/api/live', { websocket: true }, (ws) => {
      this.clients.add(ws);
      ws.on('close', () => this.clients.delete(ws));
      ws.on('error', () => this.clients.delete(ws));
      ws.send(JSON.stringify({ type: 'snapshot', name: this.ctx.config.hub.name, satellites: this.ctx.registry.all(), events: this.events, errors: this.errors, latency: this.latency }));
    });
  }

  stop(): void {
    this.ctx.bus.removeOwner(this);
    this.unwatch?.();
    for (const ws of this.clients) ws.close(1001, 'the hub is stopping');
    this.clients.clear();
  }
}
