/**
 * A Piper voice's config (.onnx.json), read and checked at start so that a
 * voice the hub cannot speak, or a speaker it does not have, is refused with
 * a coded error instead of failing (or garbling) every sentence later.
 */
import * as fs from 'node:fs';
import { VoiceError } from '../../common/errors';

/**
 * How text becomes phonemes. espeak: piper_phonemize (espeak-ng). text: the
 * text's codepoints (piper1-gpl and rhasspy/piper). piper1-gpl's pinyin,
 * hebrew and japanese types need phonemizers of their own: refused.
 */
export type PhonemeType = 'espeak' | 'text';
const SUPPORTED: PhonemeType[] = ['espeak', 'text'];

export interface PiperVoice {
  sampleRate: number;
  phonemeType: PhonemeType;
  /** espeak-ng voice (espeak phoneme type). */
  espeakVoice: string;
  phonemeIdMap: Record<string, number[]>;
  numSpeakers: number;
  inference: { noiseScale: number; lengthScale: number; noiseW: number };
}

interface RawConfig {
  audio?: { sample_rate?: number };
  espeak?: { voice?: string };
  inference?: { noise_scale?: number; length_scale?: number; noise_w?: number };
  phoneme_type?: string;
  phoneme_id_map?: Record<string, number[]>;
  num_speakers?: number;
  speaker_id_map?: Record<string, number>;
}

/** Reads and checks the voice config at `cfgPath`; `speaker` must be one of its speakers. */
export function loadVoiceConfig(cfgPath: string, speaker: number): PiperVoice {
  let raw: RawConfig;
  try {
    raw = JSON.parse(fs.readFileSync(cfgPath, 'utf8')) as RawConfig;
  } catch (err) {
    throw new VoiceError('VOICE_TTS_VOICE_INVALID', `Piper voice config ${cfgPath} is not valid JSON: ${(err as Error).message}`);
  }
  const rate = raw.audio?.sample_rate;
  if (!rate || !raw.phoneme_id_map || typeof raw.phoneme_id_map !== 'object') {
    throw new VoiceError('VOICE_TTS_VOICE_INVALID', `Piper voice config ${cfgPath} lacks audio.sample_rate or phoneme_id_map`);
  }
  const type = raw.phoneme_type ?? 'espeak';
  if (!(SUPPORTED as string[]).includes(type)) {
    throw new VoiceError('VOICE_TTS_VOICE_UNSUPPORTED', `Piper voice ${cfgPath} has phoneme_type "${type}"; this hub speaks ${SUPPORTED.join(' and ')} voices. Use another voice, or tts.engine flite.`, { phonemeType: type });
  }
  const n = raw.num_speakers ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new VoiceError('VOICE_TTS_VOICE_INVALID', `Piper voice config ${cfgPath} has num_speakers ${String(n)}`);
  if (speaker >= n) {
    const names = Object.entries(raw.speaker_id_map ?? {}).slice(0, 5).map(([name, id]) => `${id} ${name}`);
    const list = names.length ? ` (${names.join(', ')}${n > names.length ? ', ...' : ''})` : '';
    throw new VoiceError('VOICE_TTS_SPEAKER_INVALID', `tts.piper.speaker is ${speaker}, but the Piper voice ${cfgPath} has ${n} speaker${n === 1 ? '' : 's'}: use 0${n > 1 ? `-${n - 1}` : ''}${list}`, { speaker, numSpeakers: n });
  }
  const inf = raw.inference ?? {};
  return {
    sampleRate: rate,
    phonemeType: type as PhonemeType,
    espeakVoice: raw.espeak?.voice ?? 'en-us',
    phonemeIdMap: raw.phoneme_id_map,
    numSpeakers: n,
    inference: { noiseScale: inf.noise_scale ?? 0.667, lengthScale: inf.length_scale ?? 1, noiseW: inf.noise_w ?? 0.8 },
  };
}

/** The voice model must have Piper's inputs, and `sid` when it has several speakers. */
export function checkInputs(voicePath: string, inputs: readonly string[], voice: PiperVoice): void {
  for (const name of ['input', 'input_lengths', 'scales']) {
    if (!inputs.includes(name)) throw new VoiceError('VOICE_TTS_VOICE_INVALID', `${voicePath} is not a Piper voice: no "${name}" input (has ${inputs.join(', ')})`);
  }
  if (voice.numSpeakers > 1 && !inputs.includes('sid')) {
    throw new VoiceError('VOICE_TTS_VOICE_INVALID', `${voicePath} has no "sid" input, but its config says ${voice.numSpeakers} speakers`);
  }
}
