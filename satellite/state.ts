/**
 * The satellite's one state field and its transitions.
 *
 *   idle      --wake word / listen-->               streaming
 *   idle      --TTS stream starts-->                playing
 *   playing   --wake word (barge-in) / listen-->    streaming   (playback is cut off first)
 *   playing   --played, reply asked a question-->   follow-up   (a session opens without the wake word)
 *   playing   --played, otherwise-->                idle
 *   follow-up --speech starts-->                    streaming   (same session)
 *   streaming / follow-up --session ends-->         playing if a reply is playing, else idle
 *   any       --mute-->                             muted       (session and playback are ended first)
 *   muted     --unmute-->                           playing if a reply is playing, else idle
 *
 * A TTS stream that starts or ends during a session or while muted does not
 * change the state (the session, or the mute, wins). A session can only open
 * from idle or playing.
 *
 * Every transition bumps `epoch`. Frame processing awaits ONNX; it notes the
 * epoch (or the session) before and drops its result when it changed
 * meanwhile, so a command always acts first.
 */
import type { OpenedBy } from '../common/protocol';
import type { Endpointer } from './endpointer';

/** What opened a session: the wake word, a remote listen command, or a reply that asked a question. */
export type { OpenedBy } from '../common/protocol';

export interface LiveSession {
  readonly id: string;
  readonly wakeWord: string;
  readonly openedBy: OpenedBy;
  readonly endpointer: Endpointer;
  /** Pre-roll frames the VAD still has to see (warms its state) before the first live frame. */
  warmUp: Buffer[] | null;
  /** Frames are dropped, not streamed, until released (the listen earcon is playing: session/remote-listen.ts). */
  held: boolean;
}

export type SatState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'playing'; readonly streamId: string }
  | { readonly kind: 'streaming'; readonly session: LiveSession }
  | { readonly kind: 'follow-up'; readonly session: LiveSession }
  | { readonly kind: 'muted' };

export type StateKind = SatState['kind'];

function afterSession(playingId: string | null): SatState {
  return playingId === null ? { kind: 'idle' } : { kind: 'playing', streamId: playingId };
}

export class SatelliteState {
  private state: SatState = { kind: 'idle' };
  private n = 0;

  constructor(private readonly onChange: (next: SatState, prev: SatState) => void = () => undefined) {}

  get current(): SatState {
    return this.state;
  }

  get kind(): StateKind {
    return this.state.kind;
  }

  get epoch(): number {
    return this.n;
  }

  /** The live session (streaming or follow-up), if any. */
  get session(): LiveSession | null {
    const s = this.state;
    return s.kind === 'streaming' || s.kind === 'follow-up' ? s.session : null;
  }

  private set(next: SatState): void {
    const prev = this.state;
    this.state = next;
    this.n++;
    this.onChange(next, prev);
  }

  /** Whether a session may open now. */
  get canOpen(): boolean {
    return this.state.kind === 'idle' || this.state.kind === 'playing';
  }

  /** idle/playing -> streaming (or follow-up). False when muted or a session is live. */
  open(session: LiveSession, followUp = false): boolean {
    if (!this.canOpen) return false;
    this.set(followUp ? { kind: 'follow-up', session } : { kind: 'streaming', session });
    return true;
  }

  /** follow-up -> streaming: the answer has started. */
  speechStarted(): void {
    if (this.state.kind === 'follow-up') this.set({ kind: 'streaming', session: this.state.session });
  }

  /** streaming/follow-up -> playing or idle. Returns the session that ended, or null. */
  close(playingId: string | null): LiveSession | null {
    const s = this.session;
    if (s) this.set(afterSession(playingId));
    return s;
  }

  /** idle/playing -> playing (a new stream); no change in any other state. */
  playbackStarted(streamId: string): void {
    if (this.state.kind === 'idle' || this.state.kind === 'playing') this.set({ kind: 'playing', streamId });
  }

  /** playing -> idle; no change in any other state. */
  playbackEnded(): void {
    if (this.state.kind === 'playing') this.set({ kind: 'idle' });
  }

  /** Any state -> muted. The caller ends the session and playback first. */
  mute(): void {
    if (this.state.kind !== 'muted') this.set({ kind: 'muted' });
  }

  /** muted -> playing or idle. */
  unmute(playingId: string | null): void {
    if (this.state.kind === 'muted') this.set(afterSession(playingId));
  }
}
