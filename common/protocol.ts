/**
 * The MQTT topic contract shared by the hub and the satellites.
 * docs/protocol.md documents every topic built here; test/protocol.test.ts
 * checks that the two agree.
 */
import { VoiceError } from './errors';

export const PROTOCOL_VERSION = 1;

/** The one audio format on the wire: raw PCM, signed 16-bit little-endian, 16 kHz, mono. */
export const AUDIO_FORMAT = { encoding: 's16le', rate: 16000, channels: 1 } as const;
export type AudioFormat = { encoding: string; rate: number; channels: number };
export const BYTES_PER_MS = (AUDIO_FORMAT.rate * 2) / 1000;

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID_RE.test(id);
}

/** Topic builders. `root` defaults to "voice" (config key mqtt.topicRoot). */
export function topics(root: string) {
  const sat = (id: string) => `${root}/satellite/${id}`;
  return {
    hubStatus: () => `${root}/hub/status`,
    hubError: () => `${root}/hub/error`,
    satStatus: (id: string) => `${sat(id)}/status`,
    wake: (id: string) => `${sat(id)}/wake`,
    audio: (id: string, sessionId: string) => `${sat(id)}/audio/${sessionId}`,
    audioStart: (id: string, sessionId: string) => `${sat(id)}/audio/${sessionId}/start`,
    audioStop: (id: string, sessionId: string) => `${sat(id)}/audio/${sessionId}/stop`,
    transcriptPartial: (id: string) => `${sat(id)}/transcript/partial`,
    transcript: (id: string) => `${sat(id)}/transcript`,
    error: (id: string) => `${sat(id)}/error`,
    command: (id: string) => `${sat(id)}/command`,
    /** Subscription filters. */
    sub: {
      allWakes: `${root}/satellite/+/wake`,
      allAudio: `${root}/satellite/+/audio/#`,
      allSatStatus: `${root}/satellite/+/status`,
      allTranscripts: `${root}/satellite/+/transcript/#`,
    },
  };
}
export type Topics = ReturnType<typeof topics>;

export type IncomingTopic =
  | { kind: 'wake'; satellite: string }
  | { kind: 'audio'; satellite: string; sessionId: string }
  | { kind: 'audioStart'; satellite: string; sessionId: string }
  | { kind: 'audioStop'; satellite: string; sessionId: string }
  | { kind: 'satStatus'; satellite: string }
  | { kind: 'command'; satellite: string };

/** Parses a topic under `root` into what it addresses, or null if it is none of ours. */
export function parseTopic(root: string, topic: string): IncomingTopic | null {
  const prefix = `${root}/satellite/`;
  if (!topic.startsWith(prefix)) return null;
  const parts = topic.slice(prefix.length).split('/');
  const [satellite, kind, sessionId, sub] = parts;
  if (!isValidId(satellite)) return null;
  if (parts.length === 2 && kind === 'wake') return { kind: 'wake', satellite };
  if (parts.length === 2 && kind === 'status') return { kind: 'satStatus', satellite };
  if (parts.length === 2 && kind === 'command') return { kind: 'command', satellite };
  if (kind === 'audio' && sessionId !== undefined) {
    if (!isValidId(sessionId)) return null;
    if (parts.length === 3) return { kind: 'audio', satellite, sessionId };
    if (parts.length === 4 && sub === 'start') return { kind: 'audioStart', satellite, sessionId };
    if (parts.length === 4 && sub === 'stop') return { kind: 'audioStop', satellite, sessionId };
  }
  return null;
}

// ---------------------------------------------------------------- payloads

export interface StatusPayload {
  state: 'online' | 'offline';
  protocol: number;
  version?: string;
  room?: string;
  capabilities?: string[];
  time?: string;
  [extra: string]: unknown;
}

export interface WakePayload {
  sessionId: string;
  wakeWord: string;
  score: number;
  time: string;
  room?: string;
}

export interface AudioStartPayload {
  sessionId: string;
  format: AudioFormat;
  preRollMs?: number;
  time: string;
}

export const STOP_REASONS = ['silence', 'max-length', 'command', 'no-speech', 'shutdown', 'error'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

export interface AudioStopPayload {
  sessionId: string;
  reason: StopReason;
  /** Milliseconds of audio sent in the session. */
  audioMs?: number;
  /** Where the VAD put the end of speech, in ms from the first frame sent (the hub measures latency from it). */
  speechEndMs?: number;
  time: string;
}

export type FinalReason = 'stop' | 'endpoint' | 'max-length' | 'timeout' | 'error';

export interface TranscriptPayload {
  sessionId: string;
  satellite: string;
  room: string;
  text: string;
  final: boolean;
  engine: string;
  confidence?: number;
  reason?: FinalReason;
  time: string;
  timings: {
    /** Audio received in this session so far, ms. */
    audioMs: number;
    /** Wall time from the wake to this message, ms. */
    sinceWakeMs: number;
    /** Final only: wall time from the satellite's stop (or the engine's endpoint) to this message, ms. */
    finalizeMs?: number;
  };
}

export const COMMANDS = ['stop', 'mute', 'unmute', 'listen'] as const;
export type CommandName = (typeof COMMANDS)[number];
export interface CommandPayload {
  command: CommandName;
  sessionId?: string;
}

export interface ErrorPayload {
  code: string;
  message: string;
  sessionId?: string;
  satellite?: string;
  time: string;
}

// ---------------------------------------------------------------- validation

type Obj = Record<string, unknown>;

function bad(topic: string, why: string): VoiceError {
  return new VoiceError('VOICE_BAD_PAYLOAD', `bad payload on ${topic}: ${why}`, { topic });
}

/** Parses a JSON object payload or throws VOICE_BAD_PAYLOAD. */
export function parseJson(topic: string, payload: Buffer, maxBytes = 65536): Obj {
  if (payload.length > maxBytes) throw bad(topic, `JSON payload of ${payload.length} bytes exceeds ${maxBytes}`);
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw bad(topic, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(topic, 'expected a JSON object');
  return value as Obj;
}

function str(topic: string, o: Obj, key: string, optional = false): string | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) throw bad(topic, `"${key}" must be a non-empty string`);
  return v;
}

function num(topic: string, o: Obj, key: string, optional = false): number | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(topic, `"${key}" must be a finite number`);
  return v;
}

function sessionIdOf(topic: string, o: Obj): string {
  const id = str(topic, o, 'sessionId') as string;
  if (!isValidId(id)) throw bad(topic, '"sessionId" must be 1-64 characters of A-Z a-z 0-9 _ -');
  return id;
}

export function validateWake(topic: string, o: Obj): WakePayload {
  return {
    sessionId: sessionIdOf(topic, o),
    wakeWord: str(topic, o, 'wakeWord') as string,
    score: num(topic, o, 'score') as number,
    time: str(topic, o, 'time') as string,
    room: str(topic, o, 'room', true),
  };
}

export function validateAudioStart(topic: string, o: Obj): AudioStartPayload {
  const f = o.format;
  if (typeof f !== 'object' || f === null) throw bad(topic, '"format" must be an object {encoding, rate, channels}');
  const fo = f as Obj;
  return {
    sessionId: sessionIdOf(topic, o),
    format: { encoding: str(topic, fo, 'encoding') as string, rate: num(topic, fo, 'rate') as number, channels: num(topic, fo, 'channels') as number },
    preRollMs: num(topic, o, 'preRollMs', true),
    time: str(topic, o, 'time') as string,
  };
}

export function validateAudioStop(topic: string, o: Obj): AudioStopPayload {
  const reason = str(topic, o, 'reason') as string;
  if (!(STOP_REASONS as readonly string[]).includes(reason)) throw bad(topic, `"reason" must be one of ${STOP_REASONS.join(', ')}`);
  return {
    sessionId: sessionIdOf(topic, o),
    reason: reason as StopReason,
    audioMs: num(topic, o, 'audioMs', true),
    speechEndMs: num(topic, o, 'speechEndMs', true),
    time: str(topic, o, 'time') as string,
  };
}

export function validateCommand(topic: string, o: Obj): CommandPayload {
  const command = str(topic, o, 'command') as string;
  if (!(COMMANDS as readonly string[]).includes(command)) throw bad(topic, `"command" must be one of ${COMMANDS.join(', ')}`);
  const sessionId = o.sessionId === undefined ? undefined : sessionIdOf(topic, o);
  return { command: command as CommandName, sessionId };
}

export function formatMatches(f: AudioFormat): boolean {
  return f.encoding === AUDIO_FORMAT.encoding && f.rate === AUDIO_FORMAT.rate && f.channels === AUDIO_FORMAT.channels;
}

export function now(): string {
  return new Date().toISOString();
}
