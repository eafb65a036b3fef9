import type { SatelliteConfig } from '../../config/satellite';
import { CommandSource } from './command';
import { MicrophoneSource } from './microphone';
import type { AudioSource } from './source';
import { WavSource } from './wav';

/** The audio source named by `audio.source`. */
export function createSource(c: SatelliteConfig['audio']): AudioSource {
  if (c.source === 'wav') return new WavSource(c.wav, c.wavRealtime, c.wavTrailingSilenceMs);
  if (c.source === 'command') return new CommandSource(c.command);
  return new MicrophoneSource(c.device);
}

/** Whether the source delivers audio at real-time pace (a WAV replayed as fast as possible does not). */
export function isRealtime(c: SatelliteConfig['audio']): boolean {
  return c.source !== 'wav' || c.wavRealtime;
}
