/**
 * Speech-accuracy corpus for issue 8 (the wake word must not reach the
 * recognizer's transcript): "hey jarvis", a pause, then a home-assistant
 * command, over the pink noise floor, with the sample offsets of each part
 * so a session's audio can be placed against what was said.
 */
import { BED_SECONDS, noisy, SAMPLES_PER_MS, speakTrimmed, speechLevel, zeros } from './speech-fixtures';

/**
 * Commands, none of them the demo's nor test/helpers COMMANDS; every word is
 * in pocketsphinx's cmudict-en-us.dict. First words vary, several are short.
 */
export const ACCURACY_COMMANDS: readonly string[] = [
  'dim the hallway lights to fifty percent',
  'lock the front door',
  'what time is it',
  'add milk to the shopping list',
  'open the garage door',
  'close the blinds in the office',
  'is the back door locked',
  'stop the music',
  'play the news on the radio',
  'remind me to call mom at six',
  'set the thermostat to seventy degrees',
  'turn up the volume',
  'start the dishwasher',
  'how warm is it outside',
  'cancel my alarm for tomorrow',
  'switch off the fan in the bedroom',
  'arm the security system',
  'when does the store close',
  'pause the movie',
  'make the lights in the den brighter',
  'wake me up at seven thirty',
  'good night',
  'who is at the door',
  'read my messages',
];

export const ACCURACY_VOICES: readonly string[] = ['slt', 'rms'];
export const ACCURACY_PAUSES: readonly number[] = [0, 350, 700, 1200];
export const WAKE_PHRASE = 'hey jarvis';

export interface Utterance {
  /** `<voice>-p<pauseMs>-c<command index>`, unique in a corpus. */
  id: string;
  voice: string;
  command: string;
  pauseMs: number;
  /** 16 kHz mono s16le: lead, "hey jarvis", pause, command, tail, all over the noise bed. */
  pcm: Buffer;
  /** Sample offsets in `pcm`: the wake phrase's speech (flite output trimmed by energy) and the command's. */
  wakeStart: number;
  wakeEnd: number;
  commandStart: number;
  commandEnd: number;
  /** Where the noise bed starts for this utterance, ms, and the speech level its SNR is measured against. */
  noiseOffsetMs: number;
  speechRms: number;
  /** Engine-alone input: the command over the same bed samples as in `pcm`, with ENGINE_LEAD_MS before and ENGINE_TAIL_MS after. */
  engineInput: Buffer;
}

export const ENGINE_LEAD_MS = 300;
export const ENGINE_TAIL_MS = 500;

export interface CorpusOptions {
  voices?: readonly string[];
  pauses?: readonly number[];
  commands?: readonly string[];
  /** Noise before "hey jarvis", ms (default 1500). */
  leadMs?: number;
  /** Noise after the command, ms (default 3000: the wake word's 2000 ms refractory after a session ends, plus margin). */
  tailMs?: number;
  /** Noise below speech, dB (default 40). */
  snrDb?: number;
}

/** Stride between utterances' bed offsets (ms): a prime, so neighbours do not share noise. */
const BED_STRIDE_MS = 7919;

/** Builds every voice x pause x command utterance; deterministic. */
export function buildCorpus(opts: CorpusOptions = {}): Utterance[] {
  const voices = opts.voices ?? ACCURACY_VOICES;
  const pauses = opts.pauses ?? ACCURACY_PAUSES;
  const commands = opts.commands ?? ACCURACY_COMMANDS;
  const leadMs = opts.leadMs ?? 1500;
  const tailMs = opts.tailMs ?? 3000;
  const snrDb = opts.snrDb ?? 40;
  const out: Utterance[] = [];
  for (const voice of voices) {
    const wake = speakTrimmed(WAKE_PHRASE, voice);
    for (const pauseMs of pauses) {
      commands.forEach((command, ci) => {
        const cmd = speakTrimmed(command, voice);
        const lead = zeros(leadMs);
        const clean = Buffer.concat([lead, wake, zeros(pauseMs), cmd, zeros(tailMs)]);
        const wakeStart = lead.length / 2;
        const wakeEnd = wakeStart + wake.length / 2;
        const commandStart = wakeEnd + Math.round(pauseMs * SAMPLES_PER_MS);
        const commandEnd = commandStart + cmd.length / 2;
        const noiseOffsetMs = (out.length * BED_STRIDE_MS) % (BED_SECONDS * 1000);
        const speechRms = speechLevel(clean);
        const pcm = noisy(clean, { snrDb, offsetMs: noiseOffsetMs, speechRms });
        const engineLead = ENGINE_LEAD_MS * SAMPLES_PER_MS;
        const engineInput = noisy(Buffer.concat([zeros(ENGINE_LEAD_MS), cmd, zeros(ENGINE_TAIL_MS)]), {
          snrDb,
          offsetMs: noiseOffsetMs + (commandStart - engineLead) / SAMPLES_PER_MS,
          speechRms,
        });
        out.push({ id: `${voice}-p${pauseMs}-c${ci}`, voice, command, pauseMs, pcm, wakeStart, wakeEnd, commandStart, commandEnd, noiseOffsetMs, speechRms, engineInput });
      });
    }
  }
  return out;
}
