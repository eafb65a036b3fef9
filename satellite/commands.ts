/**
 * Commands on <root>/satellite/<id>/command act synchronously, on the state,
 * the moment they arrive: never behind queued audio frames.
 *   stop    ends the live session and cuts off playback (only that session/stream when sessionId is given)
 *   mute    ends both and enters muted;  unmute leaves it
 *   listen  opens a session at once (wake and audio start published before it returns; the pre-roll too,
 *           or, with privacy.listenEarcon, the earcon first: session/remote-listen.ts)
 *   volume  sets the playback volume (0-100) from now on; the status reports it
 *   threshold  sets the wake engine's threshold from the next frame on; the status reports it (wakeThreshold).
 *           An engine that cannot change it (Porcupine) throws VOICE_WAKE_THRESHOLD_FIXED: nothing changes
 *   end     (from the hub) ends streaming of session sessionId; playback is not touched, except that
 *           reason busy (VOICE_BUSY: the hub refused the session) plays the busy tone; reason
 *           arbitration-lost (another satellite heard the wake word better) goes back to idle quietly
 */
import type { CommandPayload } from '../common/protocol';
import type { Listener, PlayerView } from './session/listener';
import type { SatelliteState } from './state';

export interface CommandContext {
  state: SatelliteState;
  listener: Pick<Listener, 'openSession' | 'endSession'>;
  player: PlayerView;
  publishStatus: () => void;
  /** Opens a session for a remote listen (session/remote-listen.ts). */
  listen: () => void;
  /** Plays the busy tone (playback/earcon.ts) for a session the hub refused. */
  busy: (sessionId: string) => void;
  /** Sets the playback volume, 0-100 (playback/player.ts). */
  setVolume: (volume: number) => void;
  /** Sets the wake engine's threshold (wake/engine.ts setWakeThreshold); throws a VoiceError when it cannot. */
  setWakeThreshold: (threshold: number) => void;
}

export function applyCommand(cmd: CommandPayload, ctx: CommandContext): void {
  const { state, listener, player } = ctx;
  const live = state.session;
  switch (cmd.command) {
    case 'end':
      if (live && cmd.sessionId === live.id) listener.endSession('command');
      // Even when the satellite had already stopped streaming (the speaker was done before the hub refused).
      if (cmd.reason === 'busy' && cmd.sessionId) ctx.busy(cmd.sessionId);
      break;
    case 'stop':
      if (live && (!cmd.sessionId || cmd.sessionId === live.id)) listener.endSession('command');
      if (player.playing && (!cmd.sessionId || cmd.sessionId === player.sessionId)) player.stop('stopped');
      break;
    case 'mute':
      listener.endSession('command');
      player.stop('stopped');
      state.mute();
      ctx.publishStatus();
      break;
    case 'unmute':
      state.unmute(player.playing ? player.sessionId : null);
      ctx.publishStatus();
      break;
    case 'listen':
      ctx.listen();
      break;
    case 'volume':
      // From the next sample written on: a reply that is playing gets quieter or louder at once.
      ctx.setVolume(cmd.volume ?? 100);
      ctx.publishStatus();
      break;
    case 'threshold':
      // validateCommand gave a threshold; a throw leaves everything as it was (the status is not republished).
      if (cmd.threshold === undefined) break;
      ctx.setWakeThreshold(cmd.threshold);
      ctx.publishStatus();
      break;
  }
}
