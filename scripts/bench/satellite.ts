/** Section 3: a satellite's CPU and memory, idle and streaming, in windows checked against what the satellite did. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { wavFromPcm } from '../../common/wav';
import { runNode, silence, speak, TMP } from '../../test/helpers';
import { connect, cpuSeconds, f0, f3, hubProcess, median, MIN_P95, p95, pctCell, QUICK, rssMb, RUNS, sleep } from './common';

const WINDOW_S = 3; // /proc counts CPU in 10 ms ticks: 3 s windows keep that error under 0.004
const GRACE_MS = 300; // after a window, for its last messages to arrive before it is judged
const FRAME_MS = 100; // the WAV source's chunk
const MAX_GAP_MS = 500;
const HOUR = String(3_600_000);

interface Event { kind: 'wake' | 'frame' | 'stop' | 'final'; sid: string; at: number; info?: string }
interface Measured { cpu: number[]; rss: number[]; discarded: string[] }

export async function benchSatellite(): Promise<string> {
  console.log('satellite: idle listening and streaming cost...');
  // Nothing on the hub ends a streaming session inside the measurement: no length limit, no timeout, no engine endpoint.
  const hub = await hubProcess(['--reply-enabled', 'false', '--session-max-length-ms', HOUR, '--session-timeout-ms', HOUR, '--session-endpoint', 'false']);
  const windows = QUICK ? 4 : Math.max(20, RUNS);
  const attempts = windows + Math.ceil(windows / 2); // room to discard a third of the windows
  const talk = 'The quick brown fox jumps over the lazy dog while the radio plays softly in the kitchen and the rain falls on the garden outside the window';
  // Continuous speech with no wake word, long enough for every try of both states. The WAV source holds it all in
  // memory (RSS a microphone would not have), so it is no longer than that.
  const one = Buffer.concat([speak(talk), silence(200)]);
  const needS = 30 + 2 * attempts * (WINDOW_S + GRACE_MS / 1000);
  const pcm = Buffer.concat(Array.from({ length: Math.ceil((needS * 32000) / one.length) }, () => one));
  const wavMb = pcm.length / 2 ** 20;
  const wav = path.join(TMP, 'bench-sat.wav');
  fs.writeFileSync(wav, wavFromPcm(pcm));
  const mon = await connect(hub.url);
  const events: Event[] = [];
  let online = false;
  mon.on('message', (topic, payload) => {
    const t = topic.split('/'); // voice/satellite/cost/...
    const at = Date.now();
    if (t[3] === 'status') online = payload.toString().includes('"online"');
    else if (t[3] === 'wake') events.push({ kind: 'wake', sid: String((JSON.parse(payload.toString()) as { sessionId: string }).sessionId), at });
    else if (t[3] === 'audio' && t.length === 5) events.push({ kind: 'frame', sid: t[4], at });
    else if (t[3] === 'audio' && t[5] === 'stop') events.push({ kind: 'stop', sid: t[4], at, info: (JSON.parse(payload.toString()) as { reason: string }).reason });
    else if (t[3] === 'transcript' && t.length === 4) {
      const o = JSON.parse(payload.toString()) as { sessionId: string; reason?: string };
      events.push({ kind: 'final', sid: o.sessionId, at, info: o.reason });
    }
  });
  await mon.subscribeAsync('voice/satellite/cost/#', { qos: 1 });
  // Silence timeout, utterance limit and no-speech limit of an hour: only the bench ends the streaming session.
  const sat = runNode('satellite/main.js', ['--mqtt-url', hub.url, '--satellite-id', 'cost', '--audio-source', 'wav', '--audio-wav', wav, '--vad-silence-ms', HOUR, '--vad-max-utterance-ms', HOUR, '--vad-no-speech-ms', HOUR, '--log-level', 'warn']);
  const pid = sat.child.pid as number;
  const command = (cmd: string) => mon.publishAsync('voice/satellite/cost/command', JSON.stringify({ command: cmd }), { qos: 1 });
  const until = async (pred: () => boolean, ms: number) => {
    const end = Date.now() + ms;
    while (!pred() && Date.now() < end) await sleep(20);
    return pred();
  };
  const ended = (sid: string) => events.some((e) => e.sid === sid && (e.kind === 'stop' || e.kind === 'final'));
  const openSession = () => [...events].reverse().find((e) => e.kind === 'wake' && !ended(e.sid))?.sid;

  const measure = async (ensure: () => Promise<void>, check: (t0: number, t1: number) => string | undefined): Promise<Measured> => {
    const m: Measured = { cpu: [], rss: [], discarded: [] };
    for (let i = 0; m.cpu.length < windows && i < attempts; i++) {
      await ensure();
      const c0 = cpuSeconds(pid);
      const t0 = Date.now();
      await sleep(WINDOW_S * 1000);
      const cpu = (cpuSeconds(pid) - c0) / ((Date.now() - t0) / 1000);
      const t1 = Date.now();
      const rss = rssMb(pid);
      await sleep(GRACE_MS);
      const why = check(t0, t1);
      if (why) m.discarded.push(why);
      else {
        m.cpu.push(cpu);
        m.rss.push(rss);
      }
    }
    return m;
  };

  // Warm-up, outside every window: the satellite online (models loaded), then its first seconds of audio.
  await until(() => online, 60000);
  await sleep(3000);
  const idle = await measure(
    async () => {
      if (openSession() === undefined) return;
      await command('stop'); // the wake word fired on the speech: end that session before measuring idle
      await sleep(1500);
    },
    (t0, t1) => (openSession() !== undefined || events.some((e) => e.at >= t0 && e.at <= t1 + GRACE_MS) ? 'a session was open' : undefined),
  );
  let sid: string | undefined;
  const streaming = await measure(
    async () => {
      if (sid !== undefined && !ended(sid)) return;
      const before = events.length;
      await command('listen');
      await until(() => events.slice(before).some((e) => e.kind === 'wake'), 10000);
      sid = events.slice(before).find((e) => e.kind === 'wake')?.sid;
      await sleep(1000); // the session's first second (pre-roll, VAD state) stays out of the window
    },
    (t0, t1) => checkStreaming(events, sid, t0, t1),
  );
  await mon.endAsync();
  await sat.stop();
  await hub.proc.stop();
  return report(idle, streaming, windows, attempts, wavMb);
}

/** Why a streaming window does not count, or undefined when the session streamed throughout it. */
function checkStreaming(events: Event[], sid: string | undefined, t0: number, t1: number): string | undefined {
  if (sid === undefined) return 'no session opened';
  const own = events.filter((e) => e.sid === sid);
  const end = own.find((e) => (e.kind === 'stop' || e.kind === 'final') && e.at <= t1 + GRACE_MS);
  if (end) return `session ended inside the window (${end.kind === 'stop' ? 'audio/stop' : 'final transcript'}, reason ${end.info ?? '?'})`;
  if (!own.some((e) => e.kind === 'wake' && e.at <= t0)) return 'session opened late';
  const at = own.filter((e) => e.kind === 'frame' && e.at >= t0 && e.at <= t1).map((e) => e.at);
  const expected = (t1 - t0) / FRAME_MS;
  if (at.length < 0.9 * expected) return `frames stalled (${at.length} of ~${Math.round(expected)})`;
  const marks = [t0, ...at, t1];
  const gap = Math.max(...marks.slice(1).map((x, i) => x - (marks[i] ?? x)));
  return gap > MAX_GAP_MS ? `frames stalled (a gap of ${gap} ms)` : undefined;
}

function report(idle: Measured, streaming: Measured, windows: number, attempts: number, wavMb: number): string {
  const row = (name: string, m: Measured) =>
    `| ${name} | ${m.cpu.length} × ${WINDOW_S} s | ${m.discarded.length} | ${f3(median(m.cpu))} | ${pctCell(m.cpu, 95, f3)} | ${f0(median(m.rss))} | ${f0(m.rss.length ? Math.max(...m.rss) : Number.NaN)} |`;
  const reasons = (name: string, m: Measured) => {
    const counts = new Map<string, number>();
    for (const r of m.discarded) counts.set(r, (counts.get(r) ?? 0) + 1);
    return [...counts].map(([r, c]) => `${name}: ${c} × ${r}`);
  };
  const discarded = [...reasons('idle', idle), ...reasons('streaming', streaming)];
  const all = [...idle.cpu, ...streaming.cpu];
  const enough = idle.cpu.length >= MIN_P95 && streaming.cpu.length >= MIN_P95;
  const worstCpu = enough ? Math.max(p95(idle.cpu), p95(streaming.cpu)) : Math.max(...all);
  const worstRss = Math.max(...idle.rss, ...streaming.rss);
  const short = idle.cpu.length < windows || streaming.cpu.length < windows ? ` Fewer valid windows than the ${windows} wanted: the figures rest on fewer samples.` : '';
  return [
    `One satellite process (openWakeWord on onnxruntime-node with 1 thread, Silero VAD, WAV source at real-time pace over continuous flite speech): CPU-seconds per audio-second (= cores used, since audio flows in real time) and RSS from /proc, in ${WINDOW_S} s windows, after a warm-up (the satellite online, then 3 s) that no window includes. Idle: listening for the wake word over other speech; a window counts only if no session was open and nothing was sent. Streaming: in one session opened with the \`listen\` command (its first second not measured), sending every frame to the hub with the VAD running; the hub's session.maxLengthMs and session.timeoutMs and the satellite's vad.silenceMs, vad.maxUtteranceMs and vad.noSpeechMs are raised to an hour and session.endpoint is off, so nothing ends the session. Each streaming window is checked at a subscriber: it counts only if the session was open before it began and still open ${GRACE_MS} ms after it ended (no audio/stop, no final transcript) and frames kept arriving (at least 90 % of one per ${FRAME_MS} ms, no gap over ${MAX_GAP_MS} ms); windows that fail a check are discarded and counted (up to ${attempts} tries for ${windows} windows). The WAV source holds its whole file in memory: ${f0(wavMb)} MB of the RSS is that file, which a microphone would not need. \`n\`: valid windows; p95 only where n ≥ ${MIN_P95}.${short}`,
    '',
    '| state | n | discarded | CPU-s per audio-s median | p95 | RSS median MB | RSS max MB |',
    '|---|---|---|---|---|---|---|',
    row('idle listening', idle),
    row('streaming', streaming),
    '',
    discarded.length ? `Discarded windows: ${discarded.join('; ')}.` : 'No window was discarded.',
    '',
    `Targets: ≤ 0.05 CPU-s per audio-s: ${worstCpu <= 0.05 ? 'met' : 'missed'} (${enough ? `worst p95 ${f3(worstCpu)}` : `worst window ${f3(worstCpu)}; p95 not judged with n < ${MIN_P95}`}); ≤ 150 MB RSS: ${worstRss <= 150 ? 'met' : 'missed'} (max ${f0(worstRss)} MB).`,
  ].join('\n');
}
