/** PortAudio (naudiodon) device selection shared by the microphone source and the speaker sink. */
import { type ErrorCode, VoiceError } from '../../common/errors';

export interface PaDevice {
  id: number;
  name: string;
  maxInputChannels: number;
  maxOutputChannels: number;
}

/**
 * "-1" or "" is the default device, digits are a device id, anything else a
 * case-insensitive substring of a device name with channels in that direction.
 */
export function resolveDevice(spec: string, devices: () => PaDevice[], kind: 'input' | 'output', code: ErrorCode): number {
  const d = spec.trim();
  if (d === '' || d === '-1') return -1;
  if (/^\d+$/.test(d)) return Number(d);
  const usable = devices().filter((x) => (kind === 'input' ? x.maxInputChannels : x.maxOutputChannels) > 0);
  const found = usable.find((x) => x.name.toLowerCase().includes(d.toLowerCase()));
  if (!found) throw new VoiceError(code, `no ${kind} device matches "${d}"; ${kind}s: ${usable.map((x) => `${x.id}: ${x.name}`).join('; ') || 'none'}`);
  return found.id;
}
