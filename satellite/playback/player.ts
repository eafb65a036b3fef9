/**
 * Plays the hub's TTS streams (tts/<sessionId>/start, binary chunks, /stop)
 * through a sink, one stream at a time, after a small jitter buffer. Emits
 * 'playing' when sound starts and 'played' ({sessionId, reason, playedMs,
 * followUp}) when it ends, finished or cut off.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../common/log';
import type { PlayedPayload, TtsStartPayload, TtsStopPayload } from '../../common/protocol';
import type { AudioSink } from './sinks';

interface Stream {
  id: string;
  rate: number;
  pending: Buffer[];
  pendingBytes: number;
  bytes: number;
  sinkStarted: boolean;
  /** The sink's start() resolved and the buffered audio went to it; until then chunks queue in order. */
  sinkReady: boolean;
  ended: boolean;
  followUp: boolean;
  startedAt: number;
  draining: boolean;
  sinkStartedAt?: number;
  startTimer?: NodeJS.Timeout;
  idleTimer?: NodeJS.Timeout;
}

/** A stream that gets no data and no stop for this long is given up (a lost stop must not block the satellite). */
export const STREAM_IDLE_MS = 10000;

export interface PlayedEvent extends PlayedPayload {
  followUp: boolean;
}

export class Player extends EventEmitter {
  private stream: Stream | null = null;
  private readonly recent = new Set<string>();
  private level = 100;
  private gain = 1;

  constructor(
    private readonly sink: AudioSink,
    private readonly bufferMs: number,
    private readonly log: Logger,
  ) {
    super();
  }

  get playing(): boolean {
    return this.stream !== null;
  }

  get sessionId(): string | null {
    return this.stream?.id ?? null;
  }

  /** Whether a chunk or stop for this id belongs to a stream we know (live or just ended). */
  knows(id: string): boolean {
    return this.stream?.id === id || this.recent.has(id);
  }

  /** Drops any stream (shutdown). */
  close(): void {
    if (this.stream) this.finish(this.stream, 'stopped');
  }

  onStart(p: TtsStartPayload): void {
    if (this.stream) this.finish(this.stream, 'replaced');
    const s: Stream = { id: p.sessionId, rate: p.format.rate, pending: [], pendingBytes: 0, bytes: 0, sinkStarted: false, sinkReady: false, ended: false, followUp: false, startedAt: Date.now(), draining: false };
    this.stream = s;
    this.touch(s);
    // Start after bufferMs of audio, or after bufferMs of time if audio trickles in slowly.
    s.startTimer = setTimeout(() => this.startSink(s), this.bufferMs + 50);
  }

  private touch(s: Stream): void {
    clearTimeout(s.idleTimer);
    s.idleTimer = setTimeout(() => {
      this.log.warn({ code: 'VOICE_PLAYBACK_FAILED', sessionId: s.id }, `no TTS data or stop for ${STREAM_IDLE_MS} ms; playback given up`);
      this.finish(s, 'error');
    }, STREAM_IDLE_MS);
  }

  onChunk(id: string, pcm: Buffer): void {
    const s = this.stream;
    if (!s || s.id !== id || s.ended) return;
    this.touch(s);
    if (!s.sinkReady) {
      // Also while the sink is starting: a chunk written before the buffered ones would play out of order.
      s.pending.push(Buffer.from(pcm));
      s.pendingBytes += pcm.length;
      if (!s.sinkStarted && (s.pendingBytes / 2 / s.rate) * 1000 >= this.bufferMs) this.startSink(s);
      return;
    }
    s.bytes += pcm.length;
    this.write(pcm);
  }

  /**
   * The playback volume, 0-100, applied to every sample written to the sink from now on: a gain of
   * (volume/100)^2, so equal steps sound roughly equal (50 is a quarter of the power, about -12 dB).
   */
  get volume(): number {
    return this.level;
  }

  set volume(v: number) {
    this.level = Math.max(0, Math.min(100, Math.round(v)));
    this.gain = (this.level / 100) ** 2;
  }

  private write(pcm: Buffer): void {
    if (this.gain === 1) return this.sink.write(pcm);
    const out = Buffer.alloc(pcm.length - (pcm.length % 2));
    for (let i = 0; i < out.length; i += 2) out.writeInt16LE(Math.round(pcm.readInt16LE(i) * this.gain), i);
    this.sink.write(out);
  }

  onStop(p: TtsStopPayload): void {
    const s = this.stream;
    if (!s || s.id !== p.sessionId) return;
    clearTimeout(s.idleTimer);
    s.ended = true;
    s.followUp = p.followUp && p.reason === 'done';
    if (p.reason === 'aborted') {
      this.finish(s, 'stopped');
      return;
    }
    if (!s.sinkStarted) this.startSink(s);
    else void this.drain(s);
  }

  private startSink(s: Stream): void {
    clearTimeout(s.startTimer);
    if (s.sinkStarted || this.stream !== s) return;
    s.sinkStarted = true;
    this.sink.start(s.rate, s.id).then(
      () => {
        if (this.stream !== s) return;
        for (const b of s.pending) {
          s.bytes += b.length;
          this.write(b);
        }
        s.pending = [];
        s.sinkReady = true;
        s.sinkStartedAt = Date.now() + this.sink.leadInMs; // the first sample is heard after the sink's lead-in
        this.emit('playing', s.id);
        if (s.ended) void this.drain(s);
      },
      (err: unknown) => {
        this.emit('error', err);
        this.finish(s, 'error');
      },
    );
  }

  private drain(s: Stream): Promise<void> {
    if (!s.sinkReady || s.draining) return Promise.resolve(); // startSink's callback drains
    s.draining = true;
    return this.sink.end().then(
      () => {
        if (this.stream === s) this.finish(s, 'done');
      },
      () => {
        if (this.stream === s) this.finish(s, 'error');
      },
    );
  }

  /** Cuts playback off now (stop command, barge-in). */
  stop(reason: 'stopped' | 'barge-in'): void {
    if (this.stream) this.finish(this.stream, reason);
  }

  private finish(s: Stream, reason: PlayedPayload['reason']): void {
    if (this.stream !== s) return;
    this.stream = null;
    clearTimeout(s.startTimer);
    clearTimeout(s.idleTimer);
    if (reason !== 'done') this.sink.stop();
    this.recent.add(s.id);
    if (this.recent.size > 64) this.recent.delete(this.recent.values().next().value as string);
    // Heard so far: what was written, but no more than the time the sink has been playing.
    const writtenMs = (s.bytes / 2 / s.rate) * 1000;
    const playedMs = Math.round(s.sinkStartedAt === undefined ? 0 : Math.max(0, Math.min(writtenMs, Date.now() - s.sinkStartedAt)));
    const ev: PlayedEvent = { sessionId: s.id, reason, playedMs, time: new Date().toISOString(), followUp: reason === 'done' && s.followUp };
    if (s.sinkStartedAt !== undefined) ev.startedAt = new Date(s.sinkStartedAt).toISOString();
    this.log.info({ sessionId: s.id, reason, playedMs: ev.playedMs }, 'playback ended');
    this.emit('played', ev);
  }
}
