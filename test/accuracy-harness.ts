/**
 * Accuracy harness for the corpus in accuracy-corpus.ts: the recognizer
 * alone (in-process, fed like the hub's STT worker feeds it) and the whole
 * pipeline (real hub and satellite processes, WAV sources at real-time
 * pace), each utterance's sessions placed against what was said.
 * Scoring is in accuracy-score.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MqttClient } from 'mqtt';
import { loadConfig } from '../common/config';
import { wavFromPcm } from '../common/wav';
import { type HubConfig, hubSchema } from '../config/hub';
import type { SttSettings } from '../hub/stt/engine';
import { PocketsphinxEngine } from '../hub/stt/pocketsphinx';
import type { Utterance } from './accuracy-corpus';
import { connect, type Proc, runNode, startHubProcess, TMP } from './helpers';
import { noisy, SAMPLES_PER_MS, zeros } from './speech-fixtures';

/** Samples per accept() call: 80 ms, as the hub's worker receives them. */
export const CHUNK_SAMPLES = 1280;

/** The hub's default pocketsphinx settings (config/hub.ts), with `overrides`. */
export function hubPocketsphinxSettings(overrides: Partial<SttSettings['pocketsphinx']> = {}): SttSettings['pocketsphinx'] {
  const { config } = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: [], env: {} });
  return { ...config.stt.pocketsphinx, ...overrides };
}

/** Decodes each utterance's engineInput with one in-process pocketsphinx engine; returns id -> final text. */
export function engineAlone(utts: readonly Utterance[], settings: SttSettings['pocketsphinx'] = hubPocketsphinxSettings()): Map<string, string> {
  const engine = new PocketsphinxEngine(settings);
  engine.load();
  const out = new Map<string, string>();
  try {
    for (const u of utts) {
      const rec = engine.createRecognizer();
      try {
        const pcm = new Int16Array(u.engineInput.buffer.slice(u.engineInput.byteOffset, u.engineInput.byteOffset + u.engineInput.length));
        for (let off = 0; off < pcm.length; off += CHUNK_SAMPLES) rec.accept(pcm.slice(off, off + CHUNK_SAMPLES));
        out.set(u.id, rec.final().text);
      } finally {
        rec.free();
      }
    }
  } finally {
    engine.unload();
  }
  return out;
}

/** One session as seen on MQTT; `at` fields are Date.now() at the subscriber. */
export interface SessionRecord {
  satellite: string;
  sessionId: string;
  wake?: Record<string, unknown>;
  wakeAt?: number;
  start?: Record<string, unknown>;
  frames: { at: number; pcm: Buffer }[];
  stop?: Record<string, unknown>;
  stopAt?: number;
  partials: { at: number; text: string }[];
  final?: Record<string, unknown>;
  finalAt?: number;
  /** The session's intent or intent/none message (intents on), and when it came. */
  intent?: Record<string, unknown>;
  intentNone?: Record<string, unknown>;
  intentAt?: number;
  /** Codes and messages on the satellite's error topic for this session. */
  errors: string[];
  /** Set by the mapping: the utterance, and where the stream started/ended in its samples (end from the stop's audioMs). */
  utteranceId?: string;
  startSample?: number;
  endSample?: number;
  /** End of the audio the hub had decoded when it finalised (final timings.audioMs), samples in the utterance. */
  decodedEndSample?: number;
}

export interface UtteranceResult {
  id: string;
  /** Sessions (wakes) placed in this utterance, in order. */
  sessions: SessionRecord[];
  wakes: number;
  /** Final texts of its sessions joined by a space ('' when none). */
  text: string;
  firstPartial: string;
  stopReason: string;
  finalReason: string;
  /** First session: stream start - commandStart, and stream end - commandEnd, ms (negative: before). */
  startVsCommandMs?: number;
  endVsCommandMs?: number;
  /** The first session's audio (as sent by the satellite, or as decoded by the hub if less) ended before commandEnd. */
  endedEarly: boolean;
  /** First session: end of speech -> final transcript at the subscriber, ms. */
  latencyMs?: number;
  /** First session: end of the command's audio (the arrival of the frame that carried it) -> intent or intent/none at the subscriber, ms. */
  intentLatencyMs?: number;
}

export interface PipelineOptions {
  satellites: number;
  satelliteArgs?: string[];
  hubArgs?: string[];
  /** Extra wait for finals after the last WAV ended, ms (default 20000). */
  settleMs?: number;
  /** Noise at the start of each satellite's WAV, ms (default 5000): satellites start up there (model loading, a busy machine), not in the first utterance. */
  leadInMs?: number;
}

export interface PipelineRun {
  results: UtteranceResult[];
  /** Sessions whose audio could not be found in their satellite's WAV, or that woke in its lead-in. */
  unmapped: SessionRecord[];
  wallMs: number;
  /** Log lines at warn level or above: the hub's, and the satellites' (e.g. "audio processing fell behind real time"). */
  hubWarnings: string[];
  satelliteWarnings: string[];
}

const num = (x: unknown): number | undefined => (typeof x === 'number' ? x : undefined);
const str = (x: unknown): string => (typeof x === 'string' ? x : '');

/** Routes voice/# messages into per-session records. */
function recordSessions(client: MqttClient): Map<string, SessionRecord> {
  const sessions = new Map<string, SessionRecord>();
  const get = (satellite: string, sessionId: string) => {
    let s = sessions.get(sessionId);
    if (!s) sessions.set(sessionId, (s = { satellite, sessionId, frames: [], partials: [], errors: [] }));
    return s;
  };
  client.on('message', (topic, payload) => {
    const at = Date.now();
    const m = /^voice\/satellite\/([^/]+)\/(wake|transcript|transcript\/partial|intent|intent\/none|error|audio\/([^/]+)(?:\/(start|stop))?)$/.exec(topic);
    if (!m) return;
    const [, sat, kind, audioSid, audioKind] = m;
    if (audioSid !== undefined) {
      const s = get(sat, audioSid);
      if (audioKind === undefined) s.frames.push({ at, pcm: Buffer.from(payload) });
      else if (audioKind === 'start') s.start = JSON.parse(payload.toString()) as Record<string, unknown>;
      else {
        s.stop = JSON.parse(payload.toString()) as Record<string, unknown>;
        s.stopAt = at;
      }
      return;
    }
    const o = JSON.parse(payload.toString()) as Record<string, unknown>;
    const s = get(sat, String(o.sessionId));
    if (kind === 'wake') {
      s.wake = o;
      s.wakeAt = at;
    } else if (kind === 'transcript') {
      s.final = o;
      s.finalAt = at;
    } else if (kind === 'error') {
      s.errors.push(`${str(o.code)}: ${str(o.message)}`);
    } else if (kind === 'intent' || kind === 'intent/none') {
      if (kind === 'intent') s.intent = o;
      else s.intentNone = o;
      s.intentAt = at;
    } else s.partials.push({ at, text: str(o.text) });
  });
  return sessions;
}

/** Places sessions (in wake order) in the satellite's WAV by finding their first audio bytes; returns the unmapped ones. */
function mapSessions(sessions: SessionRecord[], utts: readonly Utterance[], wav: Buffer, leadInSamples: number): SessionRecord[] {
  const bases: number[] = [];
  let base = leadInSamples;
  for (const u of utts) {
    bases.push(base);
    base += u.pcm.length / 2;
  }
  const unmapped: SessionRecord[] = [];
  let cursor = 0;
  for (const s of sessions) {
    const audio = Buffer.concat(s.frames.map((f) => f.pcm));
    const needle = audio.subarray(0, 256);
    let pos = needle.length >= 64 ? wav.indexOf(needle, cursor) : -1;
    while (pos >= 0 && pos % 2 === 1) pos = wav.indexOf(needle, pos + 1);
    if (pos < 0) {
      unmapped.push(s);
      continue;
    }
    cursor = pos + 2;
    const start = pos / 2;
    // Place by where the wake fired (after the pre-roll), not by the pre-roll's start.
    const anchor = start + (num(s.start?.preRollMs) ?? 0) * SAMPLES_PER_MS;
    if (anchor < leadInSamples) {
      unmapped.push(s);
      continue;
    }
    let k = bases.length - 1;
    while (k > 0 && bases[k] > anchor) k--;
    s.utteranceId = utts[k].id;
    s.startSample = start - bases[k];
    s.endSample = s.startSample + (num(s.stop?.audioMs) !== undefined ? (num(s.stop?.audioMs) ?? 0) * SAMPLES_PER_MS : audio.length / 2);
    const decoded = num((s.final?.timings as Record<string, unknown> | undefined)?.audioMs);
    if (decoded !== undefined) s.decodedEndSample = s.startSample + decoded * SAMPLES_PER_MS;
  }
  return unmapped;
}

function resultFor(u: Utterance, sessions: SessionRecord[]): UtteranceResult {
  const first = sessions[0];
  const r: UtteranceResult = {
    id: u.id,
    sessions,
    wakes: sessions.length,
    text: sessions.map((s) => str(s.final?.text)).filter(Boolean).join(' '),
    firstPartial: first?.partials.find((p) => p.text !== '')?.text ?? '',
    stopReason: str(first?.stop?.reason),
    finalReason: str(first?.final?.reason),
    endedEarly: false,
  };
  if (!first || first.startSample === undefined || first.endSample === undefined) return r;
  r.startVsCommandMs = (first.startSample - u.commandStart) / SAMPLES_PER_MS;
  r.endVsCommandMs = (first.endSample - u.commandEnd) / SAMPLES_PER_MS;
  r.endedEarly = Math.min(first.endSample, first.decodedEndSample ?? Infinity) < u.commandEnd;
  const audioMs = num(first.stop?.audioMs);
  const speechEndMs = num(first.stop?.speechEndMs);
  if (first.finalAt !== undefined && first.stopAt !== undefined && audioMs !== undefined && speechEndMs !== undefined) {
    r.latencyMs = first.finalAt - (first.stopAt - (audioMs - speechEndMs));
  }
  // The frame that carried the command's last sample reached the subscriber when that sample had been spoken
  // (satellites stream at real-time pace), whoever ended the session.
  if (first.intentAt !== undefined && u.commandEnd > first.startSample) {
    const endByte = (u.commandEnd - first.startSample) * 2;
    let bytes = 0;
    const frame = first.frames.find((f) => (bytes += f.pcm.length) >= endByte);
    if (frame) r.intentLatencyMs = first.intentAt - frame.at;
  }
  return r;
}

/**
 * Plays the utterances through a real hub (replies off) and `satellites`
 * satellite processes: utterance i goes to satellite i % N, each satellite
 * gets one WAV of its utterances in sequence (each ends in its own noise
 * tail) at real-time pace. Returns when every WAV has played and every
 * session has its final (or settleMs later).
 */
export async function runPipeline(utts: readonly Utterance[], opts: PipelineOptions): Promise<PipelineRun> {
  const t0 = Date.now();
  const n = Math.max(1, Math.min(opts.satellites, utts.length));
  const groups = Array.from({ length: n }, (_, i) => utts.filter((_u, k) => k % n === i));
  // Utterances follow each other closer than anyone speaks (a 1.5 s command, 20 a minute): the wake-rate limit is not under test here.
  const hub = await startHubProcess(['--reply-enabled', 'false', '--session-max-wakes-per-minute', '0', ...(opts.hubArgs ?? [])]);
  const client = await connect(hub.url);
  const sats: Proc[] = [];
  try {
    const sessions = recordSessions(client);
    await client.subscribeAsync('voice/#', { qos: 1 });
    const leadIn = noisy(zeros(opts.leadInMs ?? 5000), { offsetMs: 60000 });
    const wavs = groups.map((g) => Buffer.concat([leadIn, ...g.map((u) => u.pcm)]));
    groups.forEach((_g, i) => {
      const file = path.join(TMP, `accuracy-sat${i}.wav`);
      fs.writeFileSync(file, wavFromPcm(wavs[i]));
      sats.push(runNode('satellite/main.js', ['--mqtt-url', hub.url, '--satellite-id', `acc${i}`, '--audio-source', 'wav', '--audio-wav', file, ...(opts.satelliteArgs ?? [])]));
    });
    const longestMs = Math.max(...wavs.map((w) => w.length / 2 / SAMPLES_PER_MS));
    await Promise.all(sats.map((s) => s.waitLog((o) => o.msg === 'audio source ended', longestMs + 60000)));
    const settleEnd = Date.now() + (opts.settleMs ?? 20000);
    while (Date.now() < settleEnd && [...sessions.values()].some((s) => s.wake && !s.final)) await new Promise((r) => setTimeout(r, 250));
    const unmapped: SessionRecord[] = [];
    const results: UtteranceResult[] = [];
    groups.forEach((g, i) => {
      const mine = [...sessions.values()].filter((s) => s.satellite === `acc${i}` && s.wake).sort((a, b) => (a.wakeAt ?? 0) - (b.wakeAt ?? 0));
      unmapped.push(...mapSessions(mine, g, wavs[i], leadIn.length / 2));
      for (const u of g) results.push(resultFor(u, mine.filter((s) => s.utteranceId === u.id)));
    });
    const order = new Map(utts.map((u, k) => [u.id, k]));
    results.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
    const warnings = (p: Proc) => p.lines.filter((l) => /"level":(4|5|6)0/.test(l));
    return { results, unmapped, wallMs: Date.now() - t0, hubWarnings: warnings(hub.proc), satelliteWarnings: sats.flatMap(warnings) };
  } finally {
    await Promise.all(sats.map((s) => s.stop()));
    await client.endAsync();
    await hub.proc.stop();
  }
}
