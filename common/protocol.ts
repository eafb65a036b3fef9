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
    hubArbitration: () => `${root}/hub/arbitration`,
    satStatus: (id: string) => `${sat(id)}/status`,
    wake: (id: string) => `${sat(id)}/wake`,
    audio: (id: string, sessionId: string) => `${sat(id)}/audio/${sessionId}`,
    audioStart: (id: string, sessionId: string) => `${sat(id)}/audio/${sessionId}/start`,
    audioStop: (id: string, sessionId: string) => `${sat(id)}/audio/${sessionId}/stop`,
    transcriptPartial: (id: string) => `${sat(id)}/transcript/partial`,
    transcript: (id: string) => `${sat(id)}/transcript`,
    intent: (id: string) => `${sat(id)}/intent`,
    intentNone: (id: string) => `${sat(id)}/intent/none`,
    timer: (id: string) => `${sat(id)}/timer`,
    timers: (id: string) => `${sat(id)}/timers`,
    /** The satellite's state as the hub sees it (hub/homeassistant). */
    state: (id: string) => `${sat(id)}/state`,
    /** Wakes, final transcripts and intents, each with its event_type (hub/homeassistant). */
    event: (id: string) => `${sat(id)}/event`,
    error: (id: string) => `${sat(id)}/error`,
    command: (id: string) => `${sat(id)}/command`,
    handled: (id: string) => `${sat(id)}/handled`,
    replyPartial: (id: string) => `${sat(id)}/reply/partial`,
    reply: (id: string) => `${sat(id)}/reply`,
    ttsStart: (id: string, sessionId: string) => `${sat(id)}/tts/${sessionId}/start`,
    tts: (id: string, sessionId: string) => `${sat(id)}/tts/${sessionId}`,
    ttsStop: (id: string, sessionId: string) => `${sat(id)}/tts/${sessionId}/stop`,
    played: (id: string) => `${sat(id)}/played`,
    announce: (id: string) => `${sat(id)}/announce`,
    announceAll: () => `${root}/announce`,
    announceRoom: (room: string) => `${root}/room/${room}/announce`,
    /** Subscription filters. */
    sub: {
      allWakes: `${root}/satellite/+/wake`,
      allAudio: `${root}/satellite/+/audio/#`,
      allSatStatus: `${root}/satellite/+/status`,
      allHandled: `${root}/satellite/+/handled`,
      allCommands: `${root}/satellite/+/command`,
      allPlayed: `${root}/satellite/+/played`,
      allAnnounce: `${root}/satellite/+/announce`,
      announceAll: `${root}/announce`,
      announceRooms: `${root}/room/+/announce`,
    },
  };
}
export type Topics = ReturnType<typeof topics>;

/** Topics of one satellite without a session id: `<root>/satellite/<id>/<rest>`. */
const SATELLITE_TOPICS = {
  wake: 'wake',
  status: 'satStatus',
  command: 'command',
  handled: 'handled',
  played: 'played',
  announce: 'announce',
  error: 'error',
  transcript: 'transcript',
  'transcript/partial': 'transcriptPartial',
  intent: 'intent',
  'intent/none': 'intentNone',
  timer: 'timer',
  timers: 'timers',
  state: 'state',
  event: 'event',
  reply: 'reply',
  'reply/partial': 'replyPartial',
} as const;

/** Topics of one session: `<root>/satellite/<id>/<stream>/<sessionId>[/<suffix>]`. */
const SESSION_TOPICS = {
  audio: { '': 'audio', start: 'audioStart', stop: 'audioStop' },
  tts: { '': 'tts', start: 'ttsStart', stop: 'ttsStop' },
} as const;

type SatelliteKind = (typeof SATELLITE_TOPICS)[keyof typeof SATELLITE_TOPICS];
type SessionKind = (typeof SESSION_TOPICS)[keyof typeof SESSION_TOPICS][keyof (typeof SESSION_TOPICS)['audio']];

type SatelliteTopic<K> = K extends SatelliteKind ? { kind: K; satellite: string } : never;
type SessionTopic<K> = K extends SessionKind ? { kind: K; satellite: string; sessionId: string } : never;
type RootKind = 'hubStatus' | 'hubError' | 'hubArbitration' | 'announceAll';
type RootTopic<K> = K extends RootKind ? { kind: K; satellite?: undefined } : never;

export type IncomingTopic =
  | SatelliteTopic<SatelliteKind>
  | SessionTopic<SessionKind>
  | RootTopic<RootKind>
  | { kind: 'announceRoom'; room: string; satellite?: undefined }
  /** Under the root but not in the protocol: `satellite` is set when the satellite id is valid. */
  | { kind: 'invalid'; satellite?: string; why: string };
export type TopicKind = IncomingTopic['kind'];

function hasKey<T extends object>(o: T, k: string): k is Extract<keyof T, string> {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/**
 * Parses any topic of docs/protocol.md under `root` into what it addresses.
 * Returns null for topics outside the root, and kind `invalid` (with the
 * reason) for topics under it that the protocol does not define.
 */
export function parseTopic(root: string, topic: string): IncomingTopic | null {
  if (!topic.startsWith(`${root}/`)) return null;
  const rest = topic.slice(root.length + 1);
  if (rest === 'hub/status') return { kind: 'hubStatus' };
  if (rest === 'hub/error') return { kind: 'hubError' };
  if (rest === 'hub/arbitration') return { kind: 'hubArbitration' };
  if (rest === 'announce') return { kind: 'announceAll' };
  const parts = rest.split('/');
  if (parts[0] === 'room') {
    if (parts.length === 3 && parts[2] === 'announce' && parts[1] !== '') return { kind: 'announceRoom', room: parts[1] };
    return { kind: 'invalid', why: `not a room topic: ${topic}` };
  }
  if (parts[0] !== 'satellite' || parts.length < 3) return { kind: 'invalid', why: `not a protocol topic: ${topic}` };
  const satellite = parts[1];
  if (!isValidId(satellite)) return { kind: 'invalid', why: `invalid satellite id in ${topic}: use 1-64 characters of A-Z a-z 0-9 _ -` };
  const sub = parts.slice(2).join('/');
  if (hasKey(SATELLITE_TOPICS, sub)) return { kind: SATELLITE_TOPICS[sub], satellite };
  const stream = parts[2];
  if (hasKey(SESSION_TOPICS, stream) && parts.length >= 4 && parts.length <= 5) {
    const sessionId = parts[3];
    if (!isValidId(sessionId)) return { kind: 'invalid', satellite, why: `invalid session id in ${topic}: use 1-64 characters of A-Z a-z 0-9 _ -` };
    const suffix = parts[4] ?? '';
    const kinds = SESSION_TOPICS[stream];
    if (hasKey(kinds, suffix)) return { kind: kinds[suffix], satellite, sessionId };
  }
  return { kind: 'invalid', satellite, why: `unknown topic for satellite ${satellite}: ${topic}` };
}

// ---------------------------------------------------------------- payloads

export interface StatusPayload {
  state: 'online' | 'offline';
  protocol: number;
  version?: string;
  room?: string;
  capabilities?: string[];
  /** Satellites: a session is streaming the microphone to the hub (from protocol 1 satellites that know it; absent means unknown). */
  listening?: boolean;
  /** With listening: what opened the session: the wake word, a remote listen command, or a follow-up. */
  openedBy?: OpenedBy;
  /** Satellites: the playback volume, 0-100 (the `volume` command). */
  volume?: number;
  /** Satellites whose wake engine can change it while running (openWakeWord): the score a detection needs (the `threshold` command). */
  wakeThreshold?: number;
  time?: string;
  [extra: string]: unknown;
}

export const OPENED_BY = ['wake', 'remote', 'follow-up'] as const;
export type OpenedBy = (typeof OPENED_BY)[number];

export interface WakePayload {
  sessionId: string;
  wakeWord: string;
  score: number;
  /** When the satellite detected the wake word (or opened the session). */
  time: string;
  room?: string;
  /** What opened the session: the wake word (absent means this too), a remote listen command, or a follow-up. Only wake-word sessions are arbitrated. */
  openedBy?: OpenedBy;
  /** Speech energy of the wake segment, dBFS, before any gain change (satellite/wake/level.ts). */
  energyDb?: number;
  /** Noise floor of the seconds before the wake word, dBFS. */
  noiseDb?: number;
  /** energyDb - noiseDb. */
  snrDb?: number;
  /** The satellite's wake.calibrationDb: the hub arbitrates on snrDb + calibrationDb. */
  calibrationDb?: number;
}

export interface AudioStartPayload {
  sessionId: string;
  format: AudioFormat;
  /** Audio sent before the live frames (the pre-roll), ms. */
  preRollMs?: number;
  /**
   * Where the wake word fired, ms from the session's first audio byte (the end
   * of the frame the detector fired on). The hub drops transcript words the wake
   * word produced. Absent when no wake word opened the session (listen, follow-up).
   */
  wakeMs?: number;
  /**
   * The satellite ends the utterance itself (its VAD sends the stop): the hub
   * then lets its engine's endpoint end the session only once audio has
   * stopped arriving, never while speech frames still come.
   */
  vad?: boolean;
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
  /** Where the satellite found the end of the wake word (its VAD's first silence after wakeMs), ms from the first frame sent. */
  wakeEndMs?: number;
  time: string;
}

/** Why the hub finalised: the satellite's stop, the engine's endpoint, a complete command (intents.endOfCommandMs), session.maxLengthMs, no audio for session.timeoutMs, the satellite went offline (last will), or an error. */
export type FinalReason = 'stop' | 'endpoint' | 'complete' | 'max-length' | 'timeout' | 'offline' | 'error';

export interface TranscriptPayload {
  sessionId: string;
  satellite: string;
  room: string;
  text: string;
  final: boolean;
  engine: string;
  confidence?: number;
  reason?: FinalReason;
  /** Final only, when the engine decodes with the command model too (intents.commandModel): `commands` when the text is its words (a command), `open` when the general model's. */
  decoder?: 'commands' | 'open';
  /** Final only, when `decoder` is `commands`: what the general model heard (wake word dropped), for comparison. */
  openText?: string;
  /** Final only, when the recognizer did not answer in time (VOICE_STT_TIMEOUT): the text is its last partial, not a final decode. */
  incomplete?: true;
  /** Final only: the transcript's words and where they lie, ms from the session's first audio byte (absent when the engine gives no times). */
  words?: { word: string; startMs: number; endMs: number }[];
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

export const END_REASONS = ['busy', 'arbitration-lost'] as const;
export type EndReason = (typeof END_REASONS)[number];

export const COMMANDS = ['stop', 'mute', 'unmute', 'listen', 'end', 'volume', 'threshold'] as const;
export type CommandName = (typeof COMMANDS)[number];
export interface CommandPayload {
  command: CommandName;
  sessionId?: string;
  /**
   * `end` only: why the hub ended the session. `busy` (VOICE_BUSY) makes the satellite play its busy tone;
   * `arbitration-lost`: another satellite heard the same wake word better (it answers), and this one goes back to idle quietly.
   */
  reason?: EndReason;
  /** `volume` only: the satellite's playback volume from now on, 0-100 (100: as the audio came; 50: a quarter of its power). */
  volume?: number;
  /** `threshold` only: the wake-word score a detection needs from now on, between 0 and 1 (exclusive), as wake.threshold. */
  threshold?: number;
}

/** One satellite that heard a wake word, as the hub weighed it (voice/hub/arbitration). */
export interface ArbitrationCandidate {
  satellite: string;
  sessionId: string;
  room: string;
  /** What the satellite measured (absent from satellites that send no levels: they rank below those that do). */
  snrDb?: number;
  calibrationDb?: number;
  /** snrDb + calibrationDb: what the hub compares. */
  rankDb?: number;
  score: number;
  /** When its wake reached the hub, ms after the group's first. */
  afterMs: number;
  won: boolean;
}

export const CLOSED_BY = ['alone', 'all-reported', 'usual-reported', 'bound', 'late-duplicate'] as const;

/** A decision of the hub's cross-room arbitration, published on <root>/hub/arbitration. */
export interface ArbitrationPayload {
  group: string;
  winner: string;
  winnerSessionId: string;
  candidates: ArbitrationCandidate[];
  /** How long the window was open, ms (late-duplicate: how long after the group's first wake the duplicate came). */
  windowMs: number;
  /** Why the window closed: no other satellite of the group online, every one of them reported, every one that usually co-fires reported, the bound (arbitration.windowMs); or a late duplicate refused after it. */
  closedBy: (typeof CLOSED_BY)[number];
  time: string;
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

/** An optional number that must be >= 0 when present. */
function nonNegative(topic: string, o: Obj, key: string): number | undefined {
  const v = num(topic, o, key, true);
  if (v !== undefined && v < 0) throw bad(topic, `"${key}" must be >= 0`);
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
    openedBy: oneOf(topic, o, 'openedBy', OPENED_BY),
    energyDb: num(topic, o, 'energyDb', true),
    noiseDb: num(topic, o, 'noiseDb', true),
    snrDb: num(topic, o, 'snrDb', true),
    calibrationDb: num(topic, o, 'calibrationDb', true),
  };
}

function oneOf<T extends string>(topic: string, o: Obj, key: string, values: readonly T[]): T | undefined {
  if (o[key] === undefined) return undefined;
  if (!(values as readonly unknown[]).includes(o[key])) throw bad(topic, `"${key}" must be one of ${values.join(', ')}`);
  return o[key] as T;
}

export function validateAudioStart(topic: string, o: Obj): AudioStartPayload {
  const f = o.format;
  if (typeof f !== 'object' || f === null) throw bad(topic, '"format" must be an object {encoding, rate, channels}');
  const fo = f as Obj;
  return {
    sessionId: sessionIdOf(topic, o),
    format: { encoding: str(topic, fo, 'encoding') as string, rate: num(topic, fo, 'rate') as number, channels: num(topic, fo, 'channels') as number },
    preRollMs: nonNegative(topic, o, 'preRollMs'),
    wakeMs: nonNegative(topic, o, 'wakeMs'),
    vad: flag(topic, o, 'vad'),
    time: str(topic, o, 'time') as string,
  };
}

function flag(topic: string, o: Obj, key: string): boolean | undefined {
  if (o[key] === undefined) return undefined;
  if (typeof o[key] !== 'boolean') throw bad(topic, `"${key}" must be true or false`);
  return o[key];
}

export function validateAudioStop(topic: string, o: Obj): AudioStopPayload {
  const reason = str(topic, o, 'reason') as string;
  if (!(STOP_REASONS as readonly string[]).includes(reason)) throw bad(topic, `"reason" must be one of ${STOP_REASONS.join(', ')}`);
  return {
    sessionId: sessionIdOf(topic, o),
    reason: reason as StopReason,
    audioMs: num(topic, o, 'audioMs', true),
    speechEndMs: num(topic, o, 'speechEndMs', true),
    wakeEndMs: nonNegative(topic, o, 'wakeEndMs'),
    time: str(topic, o, 'time') as string,
  };
}

export function validateCommand(topic: string, o: Obj): CommandPayload {
  const command = str(topic, o, 'command') as string;
  if (!(COMMANDS as readonly string[]).includes(command)) throw bad(topic, `"command" must be one of ${COMMANDS.join(', ')}`);
  const sessionId = o.sessionId === undefined ? undefined : sessionIdOf(topic, o);
  for (const key of ['volume', 'threshold'] as const) if (o[key] !== undefined && command !== key) throw bad(topic, `"${key}" may only be given on a "${key}" command`);
  if (command === 'volume') {
    if (typeof o.volume !== 'number' || !Number.isInteger(o.volume) || o.volume < 0 || o.volume > 100) throw bad(topic, '"volume" must be a whole number from 0 to 100, on a "volume" command');
    return { command: 'volume', volume: o.volume };
  }
  if (command === 'threshold') {
    // The range of wake.threshold: 0 would fire on every frame, 1 never.
    if (typeof o.threshold !== 'number' || !(o.threshold > 0 && o.threshold < 1)) throw bad(topic, '"threshold" must be a number between 0 and 1 (exclusive), on a "threshold" command');
    return { command: 'threshold', threshold: o.threshold };
  }
  if (o.reason === undefined) return { command: command as CommandName, sessionId };
  if (command !== 'end' || !(END_REASONS as readonly unknown[]).includes(o.reason)) throw bad(topic, `"reason" may only be ${END_REASONS.join(' or ')}, on an "end" command`);
  return { command: 'end', sessionId, reason: o.reason as EndReason };
}

export interface HandledPayload {
  sessionId: string;
  /** Text the hub should speak instead of asking the LLM; absent: say nothing. */
  text?: string;
}

export interface ReplyPayload {
  sessionId: string;
  satellite: string;
  room: string;
  text: string;
  /** Who wrote the text: the LLM, an automation's claim, an announcement, the hub's intent responses (a built-in answer, or the unhandled sentence), or a finished timer's ringing. */
  source: 'llm' | 'automation' | 'announce' | 'intent' | 'timer';
  model?: string;
  /** Set when the reply ended early: aborted (stop, barge-in) or an error code. */
  aborted?: boolean;
  error?: string;
  /**
   * Set when the LLM's text claimed an action no tool call of this reply did (hub/llm/claim-check.ts): `text` is then the
   * honest sentence that was said instead, and `replaced.text` what the LLM wrote.
   */
  replaced?: { reason: 'unbacked-claim'; text: string };
  time: string;
  timings: Record<string, number>;
}

export interface ReplyPartialPayload {
  sessionId: string;
  satellite: string;
  delta: string;
  text: string;
  time: string;
}

export interface TtsStartPayload {
  sessionId: string;
  format: AudioFormat;
  engine: string;
  time: string;
}

export interface TtsStopPayload {
  sessionId: string;
  reason: 'done' | 'aborted';
  /** The reply asked a question: listen again without the wake word (satellite's followUp.listenMs). */
  followUp: boolean;
  time: string;
}

export const PLAYED_REASONS = ['done', 'stopped', 'barge-in', 'replaced', 'error'] as const;
export interface PlayedPayload {
  sessionId: string;
  reason: (typeof PLAYED_REASONS)[number];
  playedMs: number;
  /** When sound started (after the jitter buffer); absent if it never did. */
  startedAt?: string;
  time: string;
}

export interface AnnouncePayload {
  text: string;
}

/** Text of a string-valued field, capped; throws VOICE_BAD_PAYLOAD. */
function text(topic: string, o: Obj, key: string, optional: boolean, max = 2000): string | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.trim() === '' || v.length > max) throw bad(topic, `"${key}" must be a non-empty string of at most ${max} characters`);
  return v;
}

export function validateHandled(topic: string, o: Obj): HandledPayload {
  return { sessionId: sessionIdOf(topic, o), text: text(topic, o, 'text', true) };
}

/** Announcements are a JSON object {text} or plain text. */
export function parseAnnounce(topic: string, payload: Buffer): AnnouncePayload {
  const raw = payload.toString('utf8').trim();
  if (raw.startsWith('{')) return { text: text(topic, parseJson(topic, payload), 'text', false) as string };
  if (raw === '' || raw.length > 2000) throw bad(topic, 'announcement text must be 1-2000 characters');
  return { text: raw };
}

export function validateTtsStart(topic: string, o: Obj): TtsStartPayload {
  const f = o.format;
  if (typeof f !== 'object' || f === null) throw bad(topic, '"format" must be an object {encoding, rate, channels}');
  const fo = f as Obj;
  const format = { encoding: str(topic, fo, 'encoding') as string, rate: num(topic, fo, 'rate') as number, channels: num(topic, fo, 'channels') as number };
  if (format.encoding !== 's16le' || format.channels !== 1 || format.rate < 8000 || format.rate > 48000) throw bad(topic, `unsupported TTS format ${JSON.stringify(format)}`);
  return { sessionId: sessionIdOf(topic, o), format, engine: (str(topic, o, 'engine', true) ?? 'unknown'), time: str(topic, o, 'time') as string };
}

export function validateTtsStop(topic: string, o: Obj): TtsStopPayload {
  const reason = str(topic, o, 'reason') as string;
  if (reason !== 'done' && reason !== 'aborted') throw bad(topic, '"reason" must be done or aborted');
  return { sessionId: sessionIdOf(topic, o), reason, followUp: o.followUp === true, time: str(topic, o, 'time') as string };
}

export function validatePlayed(topic: string, o: Obj): PlayedPayload {
  const reason = str(topic, o, 'reason') as string;
  if (!(PLAYED_REASONS as readonly string[]).includes(reason)) throw bad(topic, `"reason" must be one of ${PLAYED_REASONS.join(', ')}`);
  return { sessionId: sessionIdOf(topic, o), reason: reason as PlayedPayload['reason'], playedMs: (num(topic, o, 'playedMs', true) ?? 0), time: str(topic, o, 'time') as string };
}

export function formatMatches(f: AudioFormat): boolean {
  return f.encoding === AUDIO_FORMAT.encoding && f.rate === AUDIO_FORMAT.rate && f.channels === AUDIO_FORMAT.channels;
}

export function now(): string {
  return new Date().toISOString();
}
