/**
 * What the intent templates change in a session (docs/intents.md):
 * - the command model: when the engine decodes with it too, its words are
 *   the session's when, without the wake word's, they are a command (an
 *   exact template match); else the general model's;
 * - semantic end of speech: a partial that is a whole command no template
 *   can go on from ("what time is it", not "turn off the lights") ends the
 *   session once intents.endOfCommandMs of audio has followed its last word,
 *   sooner than the satellite's silence or the engine's endpoint (reason
 *   `complete`). Any new text cancels it.
 */
import type { HubContext } from '../feature';
import type { Word } from '../stt/engine';
import type { CommandJudge, Session } from './book';

export class SessionCommands {
  constructor(
    private readonly ctx: HubContext,
    private readonly judge: CommandJudge | undefined,
    /** Whether the session is still live in the manager. */
    private readonly live: (s: Session) => boolean,
    private readonly finish: (s: Session) => void,
  ) {}

  /** The words to use of a result: the command model's when they are a command. The session remembers which (its transcript's `decoder`). */
  pick(s: Session, words: Word[], commands: Word[] | undefined): Word[] {
    if (!commands) return words;
    const use = this.judge?.isCommand(s.out.afterWake(commands)) === true;
    s.decoder = use ? 'commands' : 'open';
    s.openText = use ? s.out.afterWake(words) : undefined;
    return use ? commands : words;
  }

  /** A partial's text (wake word dropped), its words and the audio decoded: starts or cancels semantic end of speech. */
  heard(s: Session, text: string, words: Word[], audioMs: number): void {
    if (text === s.completeText) return;
    clearTimeout(s.completeTimer);
    s.completeTimer = undefined;
    s.completeText = undefined;
    const ms = this.ctx.config.intents.endOfCommandMs;
    if (!this.judge || ms <= 0 || s.state !== 'live' || text === '' || !this.judge.isComplete(text)) return;
    const lastEnd = words.at(-1)?.endMs;
    const heardSince = lastEnd === undefined ? 0 : Math.max(0, audioMs - lastEnd);
    s.completeText = text;
    s.completeTimer = setTimeout(() => {
      if (!this.live(s) || s.state !== 'live') return;
      this.ctx.log.info({ satellite: s.satellite, sessionId: s.id, text }, 'a complete command: ending the session');
      this.finish(s);
    }, Math.max(0, ms - heardSince));
    s.completeTimer.unref();
  }
}
