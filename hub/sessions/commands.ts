/**
 * What the intent templates change in a session (docs/intents.md):
 * - the command model: when the engine decodes with it too, its words are
 *   the session's when, without the wake word's, they are a command (an
 *   exact template match) and the general model heard the same stretch of
 *   speech (it heard something, and no word after the command's last one);
 *   else the general model's words are;
 * - semantic end of speech: once the session's words are a whole command of
 *   two words or more that no template can go on from ("what time is it",
 *   not "turn off the lights"), and intents.endOfCommandMs of audio has been
 *   decoded past its last word (the STT worker posts a partial then), the
 *   session ends (reason `complete`), sooner than the satellite's silence or
 *   the engine's endpoint. A word heard after it, by either model, changes
 *   the words and the decision. The words decoded are the final transcript
 *   at once, without the recognizer's final pass, unless more than
 *   NOW_BACKLOG_MS of audio still waits to be decoded.
 */
import { BYTES_PER_MS } from '../../common/protocol';
import type { HubContext } from '../feature';
import type { Word } from '../stt/engine';
import type { CommandJudge, Session } from './book';

/** At most this much audio not yet decoded when a command is complete: the partial's words are the final. */
const NOW_BACKLOG_MS = 160;

/** A general-model word that starts this long after the command model's last word ends is speech the command missed. */
const END_SLACK_MS = 100;

/**
 * Whose words a session's text is, when the engine decodes with the command model too: the command
 * model's when they are a command of the templates (commandText), the general model heard something
 * (openText), and none of the general model's words starts after the command's last one.
 */
export function commandsWin(words: Word[], commands: Word[], openText: string, commandText: string, isCommand: (text: string) => boolean): boolean {
  const end = commands.at(-1)?.endMs;
  const after = end !== undefined && words.some((w) => w.startMs !== undefined && w.startMs > end + END_SLACK_MS);
  return openText !== '' && !after && isCommand(commandText);
}

export class SessionCommands {
  constructor(
    private readonly ctx: HubContext,
    private readonly judge: CommandJudge | undefined,
    /** Ends the session; given `heard`, those words are its final at once. */
    private readonly finish: (s: Session, heard?: Word[]) => void,
  ) {}

  /** The words to use of a result. The session remembers whose (its transcript's `decoder`). */
  pick(s: Session, words: Word[], commands: Word[] | undefined): Word[] {
    if (!commands) return words;
    let use = false;
    try {
      const open = s.out.afterWake(words);
      const judge = this.judge;
      use = judge !== undefined && commandsWin(words, commands, open, s.out.afterWake(commands), (t) => judge.isCommand(t));
      s.openText = use ? open : undefined;
    } catch (err) {
      // The general model's words never depend on the templates: a failure here costs only the command model.
      this.ctx.log.error({ code: 'VOICE_INTERNAL', err, satellite: s.satellite, sessionId: s.id }, 'command model words not judged; the general model\'s are used');
    }
    s.decoder = use ? 'commands' : 'open';
    return use ? commands : words;
  }

  /** A partial's text (wake word dropped), its words and the audio decoded: ends the session when the text is a complete command followed by enough decoded audio. */
  heard(s: Session, text: string, words: Word[], audioMs: number): void {
    const ms = this.ctx.config.intents.endOfCommandMs;
    if (!this.judge || ms <= 0 || s.state !== 'live' || text === '') return;
    if (s.complete?.text !== text) s.complete = { text, yes: text.split(' ').length >= 2 && this.judge.isComplete(text) };
    const lastEnd = words.at(-1)?.endMs;
    if (!s.complete.yes || lastEnd === undefined || audioMs - lastEnd < ms) return;
    // Audio received but not decoded yet: with little of it, the words decoded are the final (no final pass,
    // which on two decoders costs tens of ms, more under load); with more, the recognizer decodes it first.
    const backlogMs = s.bytes / BYTES_PER_MS - audioMs;
    const now = backlogMs <= NOW_BACKLOG_MS;
    this.ctx.log.info({ satellite: s.satellite, sessionId: s.id, text, quietMs: audioMs - lastEnd, backlogMs, finalNow: now }, 'a complete command: ending the session');
    this.finish(s, now ? words : undefined);
  }
}

