/** PortAudio device selection for microphone and speaker: default, id, name substring, clear error. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VoiceError } from '../common/errors';
import { resolveDevice } from '../satellite/audio/devices';

const devices = () => [
  { id: 0, name: 'pulse', maxInputChannels: 32, maxOutputChannels: 32 },
  { id: 3, name: 'USB PnP Sound Device: Audio (hw:1,0)', maxInputChannels: 1, maxOutputChannels: 0 },
  { id: 4, name: 'bcm2835 Headphones', maxInputChannels: 0, maxOutputChannels: 2 },
];

test('default, numeric id, and name substring in the right direction', () => {
  assert.equal(resolveDevice('-1', devices, 'input', 'VOICE_AUDIO_SOURCE_FAILED'), -1);
  assert.equal(resolveDevice(' ', devices, 'output', 'VOICE_PLAYBACK_FAILED'), -1);
  assert.equal(resolveDevice('7', devices, 'input', 'VOICE_AUDIO_SOURCE_FAILED'), 7);
  assert.equal(resolveDevice('usb pnp', devices, 'input', 'VOICE_AUDIO_SOURCE_FAILED'), 3);
  assert.equal(resolveDevice('headphones', devices, 'output', 'VOICE_PLAYBACK_FAILED'), 4);
});

test('a name with no device in that direction is a coded error listing the choices', () => {
  assert.throws(
    () => resolveDevice('headphones', devices, 'input', 'VOICE_AUDIO_SOURCE_FAILED'),
    (e: unknown) => e instanceof VoiceError && e.code === 'VOICE_AUDIO_SOURCE_FAILED' && /0: pulse; 3: USB PnP/.test(e.message),
  );
  assert.throws(() => resolveDevice('usb', devices, 'output', 'VOICE_PLAYBACK_FAILED'), (e: unknown) => e instanceof VoiceError && e.code === 'VOICE_PLAYBACK_FAILED');
});
