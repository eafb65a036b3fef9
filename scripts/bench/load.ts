/** Sections 2 and 4's load: N MQTT clients streaming real speech to a hub; section 2: concurrency. */
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import { COMMANDS, silence, speak, wer } from '../../test/helpers';
import { connect, cpuSeconds, f0, f2, frames, hubProcess, median, pct, rssPeak, RUNS, sleep } from './common';

export interface LoadResult {
  latencies: number[]; // stop sent -> final transcript received
  frameLatencies: number[]; // publish -> delivery at a subscriber on the same broker
  hubCpuCores: number;
  hubRssPeakMb: number;
  wer: number;
}

/** N MQTT clients, each a satellite streaming a flite command at real-time pace, `rounds` times. */
export async function load(url: string, hubPid: number, n: number, rounds: number, pcms: Buffer[], measureFrames: boolean): Promise<LoadResult> {
  const clients = await Promise.all(Array.from({ length: n }, () => connect(url)));
  const sub = await connect(url);
  const finals = new Map<string, number>();
  const finalText = new Map<string, string>();
  const sendTimes = new Map<string, number[]>();
  const frameLatencies: number[] = [];
  sub.on('message', (topic, payload) => {
    if (topic.endsWith('/transcript')) {
      const o = JSON.parse(payload.toString()) as { sessionId: string; text: string };
      finals.set(o.sessionId, Date.now());
      finalText.set(o.sessionId, o.text);
    } else {
      const sent = sendTimes.get(topic)?.shift();
      if (sent !== undefined) frameLatencies.push(performance.now() - sent);
    }
  });
  // Frame delivery is only observed for the broker comparison: the extra subscriber is load of its own.
  await sub.subscribeAsync(measureFrames ? ['voice/satellite/+/transcript', 'voice/satellite/+/audio/+'] : ['voice/satellite/+/transcript'], { qos: 0 });
  const latencies: number[] = [];
  const wers: number[] = [];
  const cpu0 = cpuSeconds(hubPid);
  const t0 = Date.now();
  const rss = rssPeak(hubPid);
  for (let r = 0; r < rounds + 1; r++) {
    const sessions = clients.map((c, i) => ({ c, i, sid: randomUUID(), pcm: pcms[(r + i) % pcms.length], text: COMMANDS[(r + i) % pcms.length], stopAt: 0 }));
    await Promise.all(
      sessions.map(async (s) => {
        const T = `voice/satellite/load${s.i}`;
        const time = new Date().toISOString();
        await s.c.publishAsync(`${T}/wake`, JSON.stringify({ sessionId: s.sid, wakeWord: 'hey_jarvis', score: 0.9, time }), { qos: 1 });
        await s.c.publishAsync(`${T}/audio/${s.sid}/start`, JSON.stringify({ sessionId: s.sid, format: { encoding: 's16le', rate: 16000, channels: 1 }, time }), { qos: 1 });
      }),
    );
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
        if (measureFrames) {
          const q = sendTimes.get(topic) ?? [];
          q.push(performance.now());
          sendTimes.set(topic, q);
        }
        s.c.publish(topic, f, { qos: 0 });
        if (k === (fr[j]?.length ?? 0) - 1) {
          s.stopAt = Date.now();
          s.c.publish(`voice/satellite/load${s.i}/audio/${s.sid}/stop`, JSON.stringify({ sessionId: s.sid, reason: 'silence', time: new Date().toISOString() }), { qos: 1 });
        }
      }
    }
    const deadline = Date.now() + 30000;
    while (sessions.some((s) => !finals.has(s.sid)) && Date.now() < deadline) await sleep(20);
    if (r === 0) continue; // warm-up round: decoders being created
    for (const s of sessions) {
      const at = finals.get(s.sid);
      latencies.push(at === undefined ? 30000 : at - s.stopAt);
      wers.push(wer(s.text, finalText.get(s.sid) ?? '').rate);
    }
    for (const s of sessions) sendTimes.delete(`voice/satellite/load${s.i}/audio/${s.sid}`);
  }
  const cores = (cpuSeconds(hubPid) - cpu0) / ((Date.now() - t0) / 1000);
  const hubRssPeakMb = rss.stop();
  await Promise.all([...clients, sub].map((c) => c.endAsync()));
  return { latencies, frameLatencies, hubCpuCores: cores, hubRssPeakMb, wer: wers.reduce((a, b) => a + b, 0) / Math.max(1, wers.length) };
}

export function commandPcms(): Buffer[] {
  return COMMANDS.map((c) => Buffer.concat([speak(c), silence(300)]));
}

export const FAST_ARGS = '-fwdflat no -bestpath no -maxhmmpf 3000 -topn 2';

export async function benchConcurrency(): Promise<string> {
  const pcms = commandPcms();
  const rows: string[] = [];
  const largest = { default: 0, fast: 0 };
  const broken = { default: false, fast: false };
  const profiles = [
    { name: 'default' as const, env: {}, ns: [1, 2, 4, 8, 16, 32] },
    // By environment: a flag value starting with "-" would be read as a flag.
    { name: 'fast' as const, env: { VOICE_HUB_STT_POCKETSPHINX_ARGS: FAST_ARGS }, ns: [8, 16, 32] },
  ];
  for (const prof of profiles) {
    for (const n of prof.ns) {
      console.log(`concurrency (${prof.name} decoder): ${n} satellites x ${RUNS} rounds...`);
      const hub = await hubProcess(['--reply-enabled', 'false'], prof.env);
      const r = await load(hub.url, hub.proc.child.pid as number, n, RUNS, pcms, false);
      await hub.proc.stop();
      const worst = Math.max(...r.latencies);
      const realtime = worst <= 500;
      // Largest N of an unbroken run of real-time rows (the fast profile starts at 8: smaller N only get easier).
      if (!realtime) broken[prof.name] = true;
      else if (!broken[prof.name]) largest[prof.name] = n;
      rows.push(`| ${prof.name} | ${n} | ${r.latencies.length} | ${f0(median(r.latencies))} | ${f0(pct(r.latencies, 95))} | ${f0(worst)} | ${f2(r.hubCpuCores)} | ${f0(r.hubRssPeakMb)} | ${(r.wer * 100).toFixed(0)} % | ${realtime ? 'yes' : 'no'} |`);
    }
  }
  return [
    `Each satellite is a real MQTT client (mqtt.js) streaming a flite-spoken command at real-time pace (100 ms frames) to the hub process (embedded aedes, pocketsphinx, ${os.availableParallelism()} STT worker threads), all at once, ${RUNS} rounds after one warm-up round. Latency: from the satellite's stop to the final transcript at a subscriber. "Real time" means no session over 500 ms. Decoder "default" is stt.pocketsphinx.args = "-maxhmmpf 3000"; "fast" is "${FAST_ARGS}" (lower accuracy, see the engine table). The load generator runs on the same 2 cores.`,
    '',
    '| decoder | satellites | sessions | latency median ms | p95 ms | max ms | hub CPU (cores) | hub RSS peak MB | WER | real time |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Largest N decoding in real time: **${largest.default}** with the default decoder, **${largest.fast}** with the fast one (target ≥ 16 with pocketsphinx on this machine: ${largest.default >= 16 ? 'met' : largest.fast >= 16 ? 'met with the fast decoder only' : 'missed'}).`,
  ].join('\n');
}
