/**
 * TTS topics (tts/<sessionId>/start, chunks, /stop) -> the player, with
 * every payload validated; a bad one is reported, never thrown.
 */
import type { ErrorReporter } from '../../common/report';
import { parseJson, parseTopic, validateTtsStart, validateTtsStop } from '../../common/protocol';
import type { SatelliteState } from '../state';
import type { Player } from './player';

export interface TtsRouterContext {
  topicRoot: string;
  satellite: string;
  player: Player;
  state: SatelliteState;
  errors: ErrorReporter;
}

export class TtsRouter {
  constructor(private readonly ctx: TtsRouterContext) {}

  /** Handles a message on a TTS topic; false when the topic is not one. */
  handle(topic: string, payload: Buffer): boolean {
    const { player, errors } = this.ctx;
    const t = parseTopic(this.ctx.topicRoot, topic);
    if (t?.kind === 'invalid') {
      // Only this satellite's tts/# topics are subscribed: a malformed one (bad session id, unknown suffix) is reported.
      errors.report('VOICE_BAD_TOPIC', `${t.why}; message dropped`);
      return true;
    }
    if (!t || t.satellite !== this.ctx.satellite) return false;
    try {
      if (t.kind === 'ttsStart') {
        player.onStart(validateTtsStart(topic, parseJson(topic, payload)));
        if (player.sessionId !== null) this.ctx.state.playbackStarted(player.sessionId);
      } else if (t.kind === 'ttsStop') {
        player.onStop(validateTtsStop(topic, parseJson(topic, payload)));
      } else if (t.kind === 'tts') {
        if (!player.knows(t.sessionId)) {
          errors.report('VOICE_UNKNOWN_SESSION', `TTS audio for unknown stream ${t.sessionId} dropped`, { sessionId: t.sessionId });
        } else if (payload.length % 2 !== 0) {
          errors.report('VOICE_AUDIO_FORMAT', `TTS chunk of ${payload.length} bytes is not whole 16-bit samples; dropped`, { sessionId: t.sessionId });
        } else {
          player.onChunk(t.sessionId, payload);
        }
      } else {
        return false;
      }
    } catch (err) {
      errors.reportError(err, 'VOICE_BAD_PAYLOAD', { sessionId: 'sessionId' in t ? t.sessionId : undefined });
    }
    return true;
  }
}
