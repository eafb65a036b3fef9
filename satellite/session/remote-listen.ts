/**
 * A session opened by a remote `listen` command (privacy.listenEarcon): the
 * person in the room hears a chime before the microphone streams.
 *
 *   listen -> session opens held (wake and audio start published at once, no pre-roll:
 *             nothing from before the command is sent)
 *          -> the listen chime plays through the player, as a stream named by the session
 *          -> played done -> GUARD_MS -> released: the frames from then on stream
 *
 * The satellite has no echo canceller: its microphone hears its own speaker.
 * While held, every frame is dropped (listener.ts), so the chime never reaches
 * the hub; the guard covers what the sink and the capture path still hold
 * when the sink reports the end. A chime that fails or is cut off (sink
 * error, a reply stream replacing it) ends the session: the microphone is not
 * opened without its warning. So does a chime that has not finished
 * WATCHDOG_MS after its expected end (a hung sink).
 */
import type { ErrorCode } from '../../common/errors';
import type { Logger } from '../../common/log';
import type { PlayedPayload } from '../../common/protocol';
import { LISTEN_TONE_MS, listenTone, playEarcon } from '../playback/earcon';
import type { Player } from '../playback/player';
import type { Listener } from './listener';

/** After the chime's end, the microphone may still deliver it this long (sink and capture buffers). */
export const GUARD_MS = 200;
/** A chime not reported played this long after its expected end is given up (with the session). */
const WATCHDOG_MS = 3000;

export interface RemoteListenContext {
  earcon: boolean;
  listener: Pick<Listener, 'openSession' | 'release' | 'endSession'>;
  player: Pick<Player, 'onStart' | 'onChunk' | 'onStop'>;
  report: (code: ErrorCode, message: string, sessionId: string) => void;
  log: Logger;
}

export class RemoteListen {
  private pending: { sessionId: string; timer: NodeJS.Timeout } | null = null;

  constructor(private readonly ctx: RemoteListenContext) {}

  /** Opens a session for a listen command; null when one cannot open (muted, a session is live). */
  open(): string | null {
    const { listener, earcon } = this.ctx;
    if (!earcon) return listener.openSession('listen', 1, 'remote');
    const sessionId = listener.openSession('listen', 1, 'remote', { hold: true });
    if (sessionId === null) return null;
    this.clear();
    const timer = setTimeout(() => this.fail(sessionId, `the listen earcon was not played within ${LISTEN_TONE_MS + WATCHDOG_MS} ms`), LISTEN_TONE_MS + WATCHDOG_MS);
    this.pending = { sessionId, timer };
    this.ctx.log.info({ sessionId }, 'remote listen: earcon first, then the microphone streams');
    playEarcon(this.ctx.player, sessionId, listenTone());
    return sessionId;
  }

  /** The player finished a stream (wired by the controller); the chime's end releases its session. */
  played(ev: Pick<PlayedPayload, 'sessionId' | 'reason'>): void {
    const p = this.pending;
    if (!p || ev.sessionId !== p.sessionId) return;
    if (ev.reason !== 'done') return this.fail(p.sessionId, `the listen earcon was cut off (${ev.reason})`);
    clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      this.pending = null;
      if (this.ctx.listener.release(p.sessionId)) this.ctx.log.info({ sessionId: p.sessionId }, 'remote listen: earcon played, streaming');
    }, GUARD_MS);
  }

  private fail(sessionId: string, why: string): void {
    this.clear();
    // Nothing to report when the session already ended (a stop or mute cut the chime off with it).
    if (this.ctx.listener.endSession('error', sessionId)) this.ctx.report('VOICE_PLAYBACK_FAILED', `${why}; the listen session is ended: the microphone is not opened without its earcon (privacy.listenEarcon)`, sessionId);
  }

  private clear(): void {
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = null;
  }

  stop(): void {
    this.clear();
  }
}
