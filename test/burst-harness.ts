/**
 * A cold burst (issue 15), shared by test/burst.test.ts and the bench: N real
 * satellite processes, each reading a microphone the harness feeds (a FIFO),
 * hear only the room's noise floor for a while (they warm up; the hub idles),
 * then all say "hey jarvis" and a different command (BURST_COMMANDS) at the same moment. For
 * each satellite: the session's outcome (a final transcript, or refused with
 * VOICE_BUSY and the busy tone played), and stop -> final time.
 */
import * as path from 'node:path';
import { Collector, FifoMic, jsonOf, type Proc, runNode, silence, speak, TMP, wer } from './helpers';
import { noisy, speechBounds } from './speech-fixtures';

/**
 * The commands the satellites say (cycled past ten): ones pocketsphinx alone
 * transcribes word for word from flite over the noise bed (checked at three
 * stretches of the bed each), so a final that misses words is the
 * pipeline's fault, not the recognizer's. test/accuracy-corpus.ts has the
 * hard ones; accuracy is measured there.
 */
export const BURST_COMMANDS: readonly string[] = [
  'what time is it',
  'close the blinds in the office',
  'stop the music',
  'set the thermostat to seventy degrees',
  'start the dishwasher',
  'cancel my alarm for tomorrow',
  'switch off the fan in the bedroom',
  'wake me up at seven thirty',
  'read my messages',
  'play the news on the radio',
];

export interface BurstOutcome {
  satellite: string;
  command: string;
  sessionId?: string;
  text?: string;
  reason?: string;
  incomplete?: boolean;
  wer?: number;
  /** The satellite's audio stop -> the final transcript, as a subscriber saw them, ms. */
  stopToFinalMs?: number;
  /**
   * The end of the command's speech -> the final transcript, ms: from when the 100 ms chunk holding the
   * command's last voiced sample (speechBounds) was handed to the satellite's microphone. What the person
   * waits; the satellite's stop comes sooner when the hub ends a complete command (semantic end of speech).
   */
  speechEndToFinalMs?: number;
  /** Error codes published for the session. */
  errors: string[];
  /** The busy tone was played (played event for the session). */
  busyTone: boolean;
}

export interface BurstOptions {
  /** How long the satellites hear only noise before the burst, ms (the hub idles meanwhile). */
  idleMs?: number;
  /** How long to wait for every outcome after the speech, ms. */
  settleMs?: number;
  /** Distinguishes satellite ids (and FIFO names) between bursts on one hub. */
  tag: string;
}

export async function burst(hubUrl: string, n: number, opts: BurstOptions): Promise<BurstOutcome[]> {
  // Not the audio frames: the harness must not be what loads the machine.
  const col = await Collector.create(hubUrl, ['voice/satellite/+/wake', 'voice/satellite/+/error', 'voice/satellite/+/transcript', 'voice/satellite/+/played', 'voice/satellite/+/audio/+/stop']);
  const ids = Array.from({ length: n }, (_, i) => `${opts.tag}${i}`);
  const mics = ids.map((id) => new FifoMic(id));
  const sats: Proc[] = ids.map((id, i) =>
    runNode('satellite/main.js', ['--mqtt-url', hubUrl, '--satellite-id', id, '--audio-source', 'command', '--audio-command', mics[i].command, '--playback-sink', 'file', '--playback-dir', path.join(TMP, `burst-${id}`)]),
  );
  try {
    await Promise.all(
      mics.map((m, i) =>
        m.open(60000).catch((err: Error) => {
          throw new Error(`${err.message}; ${ids[i]} said:\n${sats[i].lines.slice(-15).join('\n')}`);
        }),
      ),
    );
    // The same noise floor everywhere at first; each satellite its own stretch of the bed.
    await Promise.all(mics.map((m, i) => m.play(noisy(silence(opts.idleMs ?? 3000), { offsetMs: i * 7919 }))));
    const commands = ids.map((_, i) => BURST_COMMANDS[i % BURST_COMMANDS.length]);
    const from = col.messages.length;
    const spoken = commands.map((c) => {
      const head = Buffer.concat([silence(300), speak('hey jarvis'), silence(300)]);
      const said = speak(c);
      return { pcm: Buffer.concat([head, said, silence(1500)]), speechEnd: head.length + speechBounds(said).end * 2 - 1 };
    });
    const speechEndAt = (await Promise.all(mics.map((m, i) => m.play(noisy(spoken[i].pcm, { offsetMs: i * 3001 }), [spoken[i].speechEnd])))).map((at) => at[0]);
    // Room noise goes on while the hub answers (a microphone never stops).
    let done = false;
    const tail = Promise.all(
      mics.map(async (m, i) => {
        for (let k = 0; !done; k++) await m.play(noisy(silence(500), { offsetMs: i * 5003 + k * 500 }));
      }),
    ).catch(() => undefined);
    const outcome = async (id: string, command: string, speechEnd: number): Promise<BurstOutcome> => {
      const out: BurstOutcome = { satellite: id, command, errors: [], busyTone: false };
      const seen = () => col.messages.slice(from).filter((m) => m.topic.startsWith(`voice/satellite/${id}/`));
      const until = Date.now() + (opts.settleMs ?? 15000);
      for (;;) {
        const wake = seen().find((m) => m.topic.endsWith('/wake'));
        const sid = wake ? String(jsonOf(wake).sessionId) : undefined;
        out.sessionId = sid;
        const mine = sid === undefined ? [] : seen().filter((m) => m.topic.includes(sid) || String(jsonOf(m).sessionId) === sid);
        out.errors = mine.filter((m) => m.topic.endsWith('/error')).map((m) => String(jsonOf(m).code));
        out.busyTone = mine.some((m) => m.topic.endsWith('/played'));
        const fin = mine.find((m) => m.topic === `voice/satellite/${id}/transcript`);
        if (fin) {
          const f = jsonOf(fin);
          out.text = String(f.text);
          out.reason = String(f.reason);
          out.incomplete = f.incomplete === true;
          out.wer = wer(command, out.text).rate;
          // A complete command's final comes before the satellite's stop (the hub ends the session): wait for the stop.
          const stopOf = () => seen().find((m) => m.topic.endsWith(`/audio/${sid}/stop`));
          for (let k = 0; !stopOf() && k < 30; k++) await new Promise((r) => setTimeout(r, 100));
          const stop = stopOf();
          if (stop) out.stopToFinalMs = fin.at - stop.at;
          out.speechEndToFinalMs = fin.at - speechEnd;
          return out;
        }
        if (out.errors.includes('VOICE_BUSY') && out.busyTone) return out;
        if (Date.now() > until) return out;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const results = await Promise.all(ids.map((id, i) => outcome(id, commands[i], speechEndAt[i])));
    // Past the hub's grace for stray messages (1 s): an error that came after an outcome counts too.
    await new Promise((r) => setTimeout(r, 1500));
    for (const o of results) {
      const sid = o.sessionId;
      if (sid === undefined) continue;
      o.errors = col.messages
        .slice(from)
        .filter((m) => m.topic === `voice/satellite/${o.satellite}/error` && String(jsonOf(m).sessionId) === sid)
        .map((m) => String(jsonOf(m).code));
    }
    done = true;
    await tail;
    return results;
  } finally {
    for (const m of mics) m.close();
    await Promise.all(sats.map((s) => s.stop()));
    await col.end();
  }
}
