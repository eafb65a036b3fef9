/**
 * The frame path, one frame at a time (called by the FrameQueue):
 *   no session: pre-roll <- frame; wake gate; wake engine; gate verdict -> openSession
 *   session:    publish frame; Silero VAD; endpointer -> endSession(reason)
 * openSession/endSession are synchronous, so commands (listen, stop, mute,
 * end) act at once; a frame whose ONNX work finishes after the state changed
 * drops its result (epoch / session identity, see state.ts).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../common/log';
import { type AudioStopPayload, BYTES_PER_MS, type StopReason, type WakePayload } from '../../common/protocol';
import type { SatelliteConfig } from '../../config/satellite';
import { Endpointer } from '../endpointer';
import type { PreRoll } from '../preroll';
import type { LiveSession, OpenedBy, SatelliteState } from '../state';
import type { WakeEngine } from '../wake/engine';
import type { WakeGate } from '../wake/gate';
import type { LevelMeter, WakeLevels } from '../wake/level';
import type { SessionStreamer } from './streamer';

/** What the listener needs of Silero VAD (satellite/vad.ts). */
export interface Vad {
  reset(): void;
  process(samples: Int16Array): Promise<number[]>;
}

/** What the listener needs of the player (satellite/playback/player.ts). */
export interface PlayerView {
  readonly playing: boolean;
  readonly sessionId: string | null;
  stop(reason: 'stopped' | 'barge-in'): void;
}

export interface ListenerContext {
  config: Pick<SatelliteConfig, 'vad' | 'followUp'>;
  log: Logger;
  state: SatelliteState;
  gate: WakeGate;
  preRoll: PreRoll;
  /** The levels sent with a spoken wake word (hub arbitration). */
  levels: LevelMeter;
  streamer: SessionStreamer;
  wake: WakeEngine;
  vad: Vad;
  player: PlayerView;
}

const asBuffer = (f: Int16Array) => Buffer.from(f.buffer, f.byteOffset, f.byteLength);
const asSamples = (b: Buffer) => new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

/** Emits 'wake' (WakePayload) when a session opens and 'session-end' (AudioStopPayload). */
export class Listener extends EventEmitter {
  private wakeNeedsReset = false;

  constructor(private readonly ctx: ListenerContext) {
    super();
  }

  async handleFrame(frame: Int16Array): Promise<void> {
    const { state, gate, log } = this.ctx;
    const session = state.session;
    if (session) return this.streamFrame(session, frame);
    this.ctx.preRoll.push(asBuffer(frame));
    this.ctx.levels.push(frame);
    const playing = state.kind === 'playing';
    if (!gate.shouldListen(state.kind === 'muted', playing)) return;
    if (this.wakeNeedsReset) {
      this.wakeNeedsReset = false;
      this.ctx.wake.reset();
    }
    const epoch = state.epoch;
    const det = await this.ctx.wake.process(frame);
    if (!det) return;
    if (state.epoch !== epoch) {
      log.info({ score: det.score, state: state.kind }, 'wake word ignored: the state changed while it was detected');
      return;
    }
    const verdict = gate.judge(det, playing);
    if (!verdict.wake) {
      if (verdict.why === 'below-playback-threshold') log.info({ score: det.score }, 'wake word ignored during playback (below wake.playbackThreshold)');
      return;
    }
    if (verdict.bargeIn && this.ctx.player.playing) {
      log.info({ score: det.score }, 'barge-in: wake word during playback');
      this.ctx.player.stop('barge-in');
    }
    const levels = this.ctx.levels.measure();
    log.info({ keyword: det.keyword, score: det.score, ...levels }, 'wake word detected');
    this.openSession(det.keyword, det.score, 'wake', { levels });
  }

  private async streamFrame(session: LiveSession, frame: Int16Array): Promise<void> {
    const { state, vad } = this.ctx;
    if (session.held) return; // the listen earcon is playing: what the microphone hears now is never sent
    if (session.warmUp) {
      // Warm the VAD's state on the pre-roll; speech in it (the wake word itself) does not start the utterance.
      const pre = session.warmUp;
      session.warmUp = null;
      vad.reset();
      for (const b of pre) {
        await vad.process(asSamples(b));
        if (state.session !== session) return;
      }
    }
    const ms = frame.length * 2 / BYTES_PER_MS;
    this.ctx.streamer.frame(session.id, asBuffer(frame));
    const from = session.endpointer.sent(ms);
    const probs = await vad.process(frame);
    if (state.session !== session) return; // a command ended it meanwhile
    const reason = session.endpointer.decide(from, ms, probs);
    if (session.endpointer.speechStarted) state.speechStarted();
    if (reason) this.endSession(reason);
  }

  /**
   * Opens a session now: wake, audio start and the pre-roll are published
   * before this returns. `by`: the wake word (spoken, it fired at the end of
   * the pre-roll), a remote listen command, or a follow-up. `hold`: send no
   * pre-roll and stream nothing until release() (the listen earcon plays
   * first). Null when muted or a session is live.
   */
  openSession(wakeWord: string, score: number, by: OpenedBy = 'remote', opts: { hold?: boolean; levels?: WakeLevels } = {}): string | null {
    const { state, config } = this.ctx;
    if (!state.canOpen) return null;
    const held = opts.hold === true;
    const taken = this.ctx.preRoll.take();
    const pre = held ? [] : taken;
    const opened = this.ctx.streamer.open(wakeWord, score, pre, by, opts.levels);
    const noSpeechMs = by === 'follow-up' ? config.followUp.listenMs : config.vad.noSpeechMs;
    const endpointer = new Endpointer(config.vad, { preRollMs: opened.preRollMs, noSpeechMs, wakeMs: opened.wakeMs });
    state.open({ id: opened.sessionId, wakeWord, openedBy: by, endpointer, warmUp: pre, held }, by === 'follow-up');
    this.emit('wake', opened.wake satisfies WakePayload);
    return opened.sessionId;
  }

  /** Streams a held session from the next frame on; false when it is no longer live. */
  release(sessionId: string): boolean {
    const s = this.ctx.state.session;
    if (!s || s.id !== sessionId) return false;
    s.held = false;
    return true;
  }

  /** Ends the live session now (publishes audio stop), only if it is `sessionId` when given; null when there is none. */
  endSession(reason: StopReason, sessionId?: string): AudioStopPayload | null {
    const { state, player } = this.ctx;
    if (sessionId !== undefined && state.session?.id !== sessionId) return null;
    const s = state.close(player.playing ? player.sessionId : null);
    if (!s) return null;
    const stop = this.ctx.streamer.close(s.id, reason, s.endpointer);
    this.ctx.gate.sessionEnded();
    this.wakeNeedsReset = true;
    this.ctx.log.info({ sessionId: s.id, reason, audioMs: stop.audioMs, speechEndMs: stop.speechEndMs, wakeEndMs: stop.wakeEndMs }, 'session stopped');
    this.emit('session-end', stop);
    return stop;
  }

  /** A reply finished or was cut off; one that asked a question opens a follow-up session. */
  playbackEnded(followUp: boolean): void {
    this.ctx.gate.playbackEnded();
    this.ctx.state.playbackEnded();
    if (followUp && this.ctx.config.followUp.listenMs > 0) this.openSession('follow-up', 1, 'follow-up');
  }
}
