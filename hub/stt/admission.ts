/**
 * Admission control (issue 15): the hub opens no more sessions than it can
 * decode in real time. It wraps the STT backend (the `Stt` the session
 * manager uses) and:
 * - knows its limit: the warm capacity (`stt.capacity`), and, once sessions
 *   have been decoded, how many the STT workers keep up with at the measured
 *   decode time per audio second (`workers x REALTIME_LOAD / rtf`). Past
 *   that limit it still admits, up to the warm capacity, while no live
 *   decoder is more than LAG_BUDGET_MS behind its audio: a burst after a
 *   quiet spell is decoded a little late rather than queued;
 * - opens a session at once under the limit; over it, queues the session:
 *   its messages (audio, wake, finish) are held and replayed, oldest session
 *   first, when a slot frees; the decoder then catches up faster than real
 *   time. The person goes on speaking meanwhile (what they say is kept), so
 *   the wait that counts is the one after they stop: at most `stt.queueMs`
 *   from the session's finish (its length is bounded by the session
 *   manager's session.maxLengthMs and session.timeoutMs);
 * - refuses with VOICE_BUSY a wake that cannot even be queued (`stt.queueMs`
 *   0), and a queued session still waiting `stt.queueMs` after its finish;
 * - stops admitting while the backend cannot open sessions (the STT process
 *   is restarting): queued sessions wait for it, within their bound.
 * It counts sessions opened, queued and refused, for the hub's status.
 */
import { VoiceError } from '../../common/errors';
import type { Logger } from '../../common/log';
import type { Word } from './engine';
import type { SessionEvents, Stt, SttHandle } from './pool';

/** Share of the workers' time live sessions may take by the measured decode speed. */
const REALTIME_LOAD = 0.8;
/**
 * Past the real-time limit, a wake is still admitted (up to the warm capacity) while every live decoder is
 * less than this far behind its audio: a burst of rooms after a quiet spell is decoded a little late, not queued
 * or refused. Once decoders really lag, new wakes queue.
 */
const LAG_BUDGET_MS = 2000;
/** How much a new measurement moves the running decode speed. */
const RTF_WEIGHT = 0.2;
/** The decode speed assumed before one is measured (pocketsphinx's default decoder on a Raspberry Pi 4 class core, with margin). */
const RTF_GUESS = 0.5;
/** A final's wait: this much for the last decode and the message, plus twice what the backlog should take. */
const FINAL_BASE_MS = 2000;

type Held = { kind: 'audio'; pcm: Buffer } | { kind: 'wake'; wakeMs: number; marginMs: number } | { kind: 'finish' };

interface Queued {
  sid: string;
  events: SessionEvents;
  held: Held[];
  queuedAt: number;
  /** When the session's finish came (its wait for a decoder is counted from there). */
  finishedAt?: number;
  timer?: NodeJS.Timeout;
  /** The handle the session manager holds: replays into `real` once the session is admitted. */
  real?: SttHandle;
  aborted: boolean;
}

export interface AdmissionStats {
  /** Sessions it decodes at once in real time: the warm capacity, or fewer if the measured decode speed says so (more are admitted while no decoder lags). */
  limit: number;
  /** How far the most lagging live decoder is behind its audio, ms. */
  lagMs: number;
  capacity: number;
  live: number;
  queued: number;
  opened: number;
  refused: number;
  /** Sessions that waited in the queue and were then admitted. */
  dequeued: number;
  /** Running decode time per second of audio, across sessions (null until a session was decoded). */
  rtf: number | null;
}

export class Admission implements Stt {
  private live = 0;
  /** Per live session: audio handed to its decoder and audio it has decoded (from its partials), ms. */
  private readonly progress = new Set<{ sentMs: number; decodedMs: number }>();
  private readonly queue: Queued[] = [];
  private rtfAvg: number | null = null;
  /** Decode time of every session that got its final, summed, ms (the hub's metrics). */
  busyMs = 0;
  private readonly counts = { opened: 0, refused: 0, dequeued: 0 };

  constructor(
    private readonly inner: Stt,
    private readonly opts: { queueMs: number; log: Logger },
  ) {}

  get engineName(): string {
    return this.inner.engineName;
  }

  get workers(): number {
    return this.inner.workers;
  }

  get capacity(): number {
    return this.inner.capacity;
  }

  get liveSessions(): number {
    return this.inner.liveSessions;
  }

  workerRecognizers(timeoutMs?: number): Promise<number[]> {
    return this.inner.workerRecognizers(timeoutMs);
  }

  stop(): Promise<void> {
    for (const q of this.queue) clearTimeout(q.timer);
    this.queue.length = 0;
    return this.inner.stop();
  }

  /** The backend can open sessions again (a replaced STT process is ready): queued sessions go first. */
  resume(): void {
    this.next();
  }

  /** How far the most lagging live decoder is behind the audio it was given, ms. */
  get lagMs(): number {
    let lag = 0;
    for (const p of this.progress) lag = Math.max(lag, p.sentMs - p.decodedMs);
    return lag;
  }

  /** A session may be opened now: under the real-time limit, or under the warm capacity while no decoder lags. */
  private canAdmit(): boolean {
    if (this.live < this.limit) return true;
    return this.live < Math.max(1, this.inner.capacity) && this.lagMs < LAG_BUDGET_MS;
  }

  /** Sessions decoded at once in real time, by the measured decode speed (the warm capacity until measured). */
  get limit(): number {
    const cap = Math.max(1, this.inner.capacity);
    if (this.rtfAvg === null || this.rtfAvg <= 0) return cap;
    return Math.max(1, Math.min(cap, Math.floor((this.inner.workers * REALTIME_LOAD) / this.rtfAvg)));
  }

  get stats(): AdmissionStats {
    return { limit: this.limit, lagMs: Math.round(this.lagMs), capacity: this.inner.capacity, live: this.live, queued: this.queue.length, ...this.counts, rtf: this.rtfAvg };
  }

  /**
   * How long a session's final may take: FINAL_BASE_MS, plus twice the time
   * its undecoded audio needs at the measured speed when the live sessions
   * share the workers, plus what is left of its queue wait if it still waits.
   */
  finalWaitMs(sid: string, backlogMs: number): number {
    const share = Math.max(1, this.live / Math.max(1, this.inner.workers));
    const q = this.queue.find((x) => x.sid === sid);
    const queued = q ? Math.max(0, this.opts.queueMs - (Date.now() - (q.finishedAt ?? Date.now()))) : 0;
    return Math.round(FINAL_BASE_MS + 2 * backlogMs * (this.rtfAvg ?? RTF_GUESS) * share + queued);
  }

  open(sid: string, events: SessionEvents): SttHandle {
    // A limit that rose since the last slot freed lets the queue move first: the oldest wake goes first.
    this.next();
    if (this.canAdmit() && this.queue.length === 0) return this.admit(sid, events);
    if (this.opts.queueMs <= 0) {
      this.counts.refused++;
      throw new VoiceError('VOICE_BUSY', `the hub is decoding ${this.live} sessions, all it can at once (stt.capacity ${this.inner.capacity}); wake refused`, { live: this.live, limit: this.limit });
    }
    const q: Queued = { sid, events, held: [], queuedAt: Date.now(), aborted: false };
    this.queue.push(q);
    this.opts.log.info({ sessionId: sid, live: this.live, queued: this.queue.length }, 'session queued: the hub is at its decoding limit');
    const held = (h: Held) => (q.real ? this.replay(q.real, h) : q.held.push(h));
    return {
      audio: (pcm) => held({ kind: 'audio', pcm: Buffer.from(pcm) }),
      wake: (wakeMs, marginMs) => held({ kind: 'wake', wakeMs, marginMs }),
      finish: () => {
        if (!q.real && !q.aborted && q.finishedAt === undefined) {
          q.finishedAt = Date.now();
          q.timer = setTimeout(() => this.expire(q), this.opts.queueMs);
          q.timer.unref();
        }
        held({ kind: 'finish' });
      },
      abort: () => {
        if (q.real) return q.real.abort();
        q.aborted = true;
        this.unqueue(q);
      },
      queued: () => !q.real && !q.aborted,
    };
  }

  private replay(h: SttHandle, m: Held): void {
    if (m.kind === 'audio') h.audio(m.pcm);
    else if (m.kind === 'wake') h.wake(m.wakeMs, m.marginMs);
    else h.finish();
  }

  /** Opens the session on the backend; the slot frees when it ends, however it ends. */
  private admit(sid: string, events: SessionEvents): SttHandle {
    const progress = { sentMs: 0, decodedMs: 0 };
    const real = this.inner.open(sid, {
      partial: (words, endpoint, audioMs, commands) => {
        progress.decodedMs = Math.max(progress.decodedMs, audioMs);
        events.partial(words, endpoint, audioMs, commands);
      },
      final: (words: Word[], confidence, decodeMs, commands) => {
        // Measured first: the slot it frees goes by the limit the new figure gives.
        this.measure(decodeMs, audioBytes / 32);
        this.busyMs += decodeMs;
        done();
        events.final(words, confidence, decodeMs, commands);
      },
      error: (err) => {
        done();
        events.error(err);
      },
    });
    this.live++;
    this.progress.add(progress);
    this.counts.opened++;
    let open = true;
    let audioBytes = 0;
    const done = () => {
      if (!open) return;
      open = false;
      this.live--;
      this.progress.delete(progress);
      this.next();
    };
    return {
      audio: (pcm) => {
        audioBytes += pcm.length;
        progress.sentMs = audioBytes / 32;
        real.audio(pcm);
      },
      wake: (wakeMs, marginMs) => real.wake(wakeMs, marginMs),
      finish: () => real.finish(),
      abort: () => {
        real.abort();
        done();
      },
    };
  }

  private measure(decodeMs: number, audioMs: number): void {
    if (audioMs < 500) return; // too short to say anything about speed
    const rtf = decodeMs / audioMs;
    this.rtfAvg = this.rtfAvg === null ? rtf : this.rtfAvg + RTF_WEIGHT * (rtf - this.rtfAvg);
  }

  /** A slot freed: the oldest queued session takes it, and what it said so far is replayed. */
  private next(): void {
    while (this.queue.length > 0 && this.canAdmit() && this.inner.accepting !== false) {
      const q = this.queue[0];
      let real: SttHandle;
      try {
        real = this.admit(q.sid, q.events);
      } catch (err) {
        // The backend cannot take sessions now (the STT process is restarting): the queue waits for resume().
        if (err instanceof VoiceError && err.code === 'VOICE_ENGINE_CRASHED') return;
        this.unqueue(q);
        q.events.error(err instanceof VoiceError ? err : new VoiceError('VOICE_STT_FAILED', String(err)));
        continue;
      }
      this.unqueue(q);
      q.real = real;
      this.counts.dequeued++;
      this.opts.log.info({ sessionId: q.sid, waitedMs: Date.now() - q.queuedAt, heldMs: Math.round(q.held.reduce((n, h) => n + (h.kind === 'audio' ? h.pcm.length : 0), 0) / 32) }, 'queued session admitted');
      for (const h of q.held) this.replay(q.real, h);
      q.held = [];
    }
  }

  private unqueue(q: Queued): void {
    clearTimeout(q.timer);
    const i = this.queue.indexOf(q);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private expire(q: Queued): void {
    if (q.real || q.aborted) return;
    this.unqueue(q);
    this.counts.refused++;
    q.events.error(new VoiceError('VOICE_BUSY', `no decoder came free within stt.queueMs (${this.opts.queueMs} ms); session refused`, { live: this.live, limit: this.limit }));
  }
}
