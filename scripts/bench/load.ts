/** The load of sections 2 and 4: N MQTT clients, each a satellite streaming real speech to a hub at real-time pace. */
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { COMMANDS, silence, speak, wer } from '../../test/helpers';
import { connect, cpuSeconds, frames, rssPeak, sleep, treeSum } from './common';

export const FAST_ARGS = '-fwdflat no -bestpath no -maxhmmpf 3000 -topn 2';

export interface LoadResult {
  latencies: number[]; // stop sent -> final transcript received, measured rounds only
  missing: number; // sessions with no final transcript within 30 s (counted as 30000 ms in latencies)
  frameLatencies: number[]; // publish -> delivery at a subscriber on the same broker, matched by sequence number
  framesSent: number; // frames whose delivery was watched
  framesLost: number; // of those, never delivered
  framesReordered: number; // delivered after a frame of the same session with a higher sequence number
  hubCpuCores: number; // over the measured rounds only
  brokerCpuCores: number; // same, for a broker in its own process (NaN when none)
  hubRssPeakMb: number; // over the measured rounds only
  wer: number;
  /** Date.now() at the start and the end of the measured rounds. */
  measuredFrom: number;
  measuredTo: number;
}

export interface LoadOptions {
  url: string;
  hubPid: number;
  /** A broker running in its own process, whose CPU is measured too. */
  brokerPid?: number;
  satellites: number;
  rounds: number;
  pcms: Buffer[];
  /** Watch every frame's delivery (an extra subscriber to all audio: load of its own). */
  measureFrames: boolean;
}

// Each frame carries its sequence number in the least significant bit of its first SEQ_BITS samples
// (a change of at most 1 in 32768: inaudible to the decoder), so a delivery is matched to its publish by number, not by order.
const SEQ_BITS = 16;
const FRAME_BYTES = 3200;

function stamp(frame: Buffer, seq: number): Buffer {
  const b = Buffer.from(frame); // a copy: the PCM is shared by every round
  for (let i = 0; i < SEQ_BITS; i++) b.writeInt16LE((b.readInt16LE(i * 2) & ~1) | ((seq >> i) & 1), i * 2);
  return b;
}

function seqOf(frame: Buffer): number {
  let seq = 0;
  for (let i = 0; i < SEQ_BITS; i++) seq |= (frame.readInt16LE(i * 2) & 1) << i;
  return seq;
}

/** One flite command per entry, with silence after it, padded to whole 100 ms frames (every frame carries a sequence number). */
export function commandPcms(): Buffer[] {
  return COMMANDS.map((c) => {
    const pcm = Buffer.concat([speak(c), silence(300)]);
    return Buffer.concat([pcm, Buffer.alloc((FRAME_BYTES - (pcm.length % FRAME_BYTES)) % FRAME_BYTES)]);
  });
}

/** Runs one warm-up round, then `rounds` measured ones; CPU, RSS, latencies and frames count from the end of the warm-up. */
export async function load(o: LoadOptions): Promise<LoadResult> {
  const clients = await Promise.all(Array.from({ length: o.satellites }, () => connect(o.url)));
  const sub = await connect(o.url);
  const finals = new Map<string, number>();
  const finalText = new Map<string, string>();
  const sent = new Map<string, number>(); // `${topic}#${seq}` -> performance.now() at publish, until delivered
  const lastSeq = new Map<string, number>();
  const r: LoadResult = { latencies: [], missing: 0, frameLatencies: [], framesSent: 0, framesLost: 0, framesReordered: 0, hubCpuCores: Number.NaN, brokerCpuCores: Number.NaN, hubRssPeakMb: Number.NaN, wer: Number.NaN, measuredFrom: Number.NaN, measuredTo: Number.NaN };
  sub.on('message', (topic, payload) => {
    if (topic.endsWith('/transcript')) {
      const t = JSON.parse(payload.toString()) as { sessionId: string; text: string };
      finals.set(t.sessionId, Date.now());
      finalText.set(t.sessionId, t.text);
      return;
    }
    if (payload.length < SEQ_BITS * 2) return;
    const seq = seqOf(payload);
    const key = `${topic}#${seq}`;
    const at = sent.get(key);
    if (at === undefined) return; // a warm-up frame, or a duplicate
    sent.delete(key);
    r.frameLatencies.push(performance.now() - at);
    if (seq < (lastSeq.get(topic) ?? -1)) r.framesReordered++;
    lastSeq.set(topic, Math.max(seq, lastSeq.get(topic) ?? -1));
  });
  await sub.subscribeAsync(o.measureFrames ? ['voice/satellite/+/transcript', 'voice/satellite/+/audio/+'] : ['voice/satellite/+/transcript'], { qos: 0 });
  const wers: number[] = [];
  let cpu0 = 0;
  let brokerCpu0 = 0;
  let t0 = 0;
  let rss: { stop: () => number } | undefined;
  for (let round = 0; round <= o.rounds; round++) {
    const measured = round > 0; // round 0 warms up: decoders being created
    if (round === 1) {
      cpu0 = treeSum(o.hubPid, cpuSeconds);
      if (o.brokerPid !== undefined) brokerCpu0 = cpuSeconds(o.brokerPid);
      t0 = Date.now();
      rss = rssPeak(o.hubPid);
    }
    const sessions = clients.map((c, i) => ({ c, i, sid: randomUUID(), pcm: o.pcms[(round + i) % o.pcms.length], text: COMMANDS[(round + i) % o.pcms.length], stopAt: 0 }));
    await Promise.all(sessions.map((s) => open(s.c, `voice/satellite/load${s.i}`, s.sid)));
    // Real-time pace: one 100 ms frame per session every 100 ms.
    const fr = sessions.map((s) => frames(s.pcm));
    const maxFrames = Math.max(...fr.map((f) => f.length));
    const start = Date.now();
    for (let k = 0; k < maxFrames; k++) {
      const due = start + k * 100;
      if (due > Date.now()) await sleep(due - Date.now());
      for (const [j, s] of sessions.entries()) {
        const f = fr[j]?.[k];
        if (!f) continue;
        const topic = `voice/satellite/load${s.i}/audio/${s.sid}`;
        const payload = stamp(f, k);
        if (measured && o.measureFrames) {
          sent.set(`${topic}#${k}`, performance.now());
          r.framesSent++;
        }
        s.c.publish(topic, payload, { qos: 0 });
        if (k === (fr[j]?.length ?? 0) - 1) {
          s.stopAt = Date.now();
          s.c.publish(`voice/satellite/load${s.i}/audio/${s.sid}/stop`, JSON.stringify({ sessionId: s.sid, reason: 'silence', time: new Date().toISOString() }), { qos: 1 });
        }
      }
    }
    const deadline = Date.now() + 30000;
    while (sessions.some((s) => !finals.has(s.sid)) && Date.now() < deadline) await sleep(20);
    // Every frame of the round was published before its stop, and the final came after the stop: what is still unmatched
    // after a further second is lost.
    const grace = Date.now() + 1000;
    while (sent.size > 0 && Date.now() < grace) await sleep(20);
    r.framesLost += measured ? sent.size : 0;
    sent.clear();
    if (!measured) continue;
    for (const s of sessions) {
      const at = finals.get(s.sid);
      if (at === undefined) r.missing++;
      r.latencies.push(at === undefined ? 30000 : at - s.stopAt);
      wers.push(wer(s.text, finalText.get(s.sid) ?? '').rate);
    }
  }
  r.measuredFrom = t0;
  r.measuredTo = Date.now();
  const seconds = (r.measuredTo - t0) / 1000;
  r.hubCpuCores = (treeSum(o.hubPid, cpuSeconds) - cpu0) / seconds;
  if (o.brokerPid !== undefined) r.brokerCpuCores = (cpuSeconds(o.brokerPid) - brokerCpu0) / seconds;
  r.hubRssPeakMb = rss?.stop() ?? Number.NaN;
  r.wer = wers.reduce((a, b) => a + b, 0) / Math.max(1, wers.length);
  await Promise.all([...clients, sub].map((c) => c.endAsync()));
  return r;
}

/** What a satellite sends when its wake word fires: wake, then the audio start. */
async function open(c: MqttClient, base: string, sid: string): Promise<void> {
  const time = new Date().toISOString();
  await c.publishAsync(`${base}/wake`, JSON.stringify({ sessionId: sid, wakeWord: 'hey_jarvis', score: 0.9, time }), { qos: 1 });
  await c.publishAsync(`${base}/audio/${sid}/start`, JSON.stringify({ sessionId: sid, format: { encoding: 's16le', rate: 16000, channels: 1 }, time }), { qos: 1 });
}
