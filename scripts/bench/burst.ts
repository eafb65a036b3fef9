/**
 * Section 9: a cold burst (issue 15), with the hub's default settings and
 * real satellite processes on the same machine (test/burst-harness.ts): for
 * N = 1 ... 32, after the hub has idled, N satellites say "hey jarvis" and a
 * different command at the same moment. A new hub for each N.
 */
import { burst } from '../../test/burst-harness';
import { startHubProcess } from '../../test/helpers';
import { f0, median, QUICK, rssPeak } from './common';

const pct95 = (sorted: number[]) => (sorted.length ? sorted[Math.max(0, Math.ceil(0.95 * sorted.length) - 1)] : Number.NaN);

export async function benchBurst(): Promise<string> {
  const rows: string[] = [];
  let capacity = 0;
  for (const n of QUICK ? [1, 4] : [1, 2, 4, 8, 16, 32]) {
    console.log(`burst: ${n} satellites...`);
    const hub = await startHubProcess(['--reply-enabled', 'false', '--intents-enabled', 'true']);
    try {
      const ready = await hub.proc.waitLog((o) => o.msg === 'speech-to-text warm capacity');
      capacity = Number(ready.warmSessions);
      const pid = hub.proc.child.pid as number;
      const rss = rssPeak(pid);
      const out = await burst(hub.url, n, { tag: `b${n}-`, idleMs: 4000, settleMs: 40000 });
      const peak = rss.stop();
      const done = out.filter((o) => o.text !== undefined);
      const refused = out.filter((o) => o.errors.includes('VOICE_BUSY'));
      const lost = out.length - done.length - refused.length;
      const lat = done.map((o) => o.stopToFinalMs ?? Number.NaN).filter(Number.isFinite).sort((a, b) => a - b);
      const p95 = pct95(lat);
      const spoken = done.map((o) => o.speechEndToFinalMs ?? Number.NaN).filter(Number.isFinite).sort((a, b) => a - b);
      const reasons = [...new Set(done.map((o) => o.reason ?? '?'))].sort().map((r) => `${r} ${done.filter((o) => o.reason === r).length}`).join(', ');
      const queued = hub.proc.lines.filter((l) => l.includes('session queued')).length;
      const incomplete = done.filter((o) => o.incomplete).length;
      const wer = done.length ? done.reduce((a, o) => a + (o.wer ?? 0), 0) / done.length : Number.NaN;
      rows.push(`| ${n} | ${done.length}${incomplete ? ` (${incomplete} incomplete)` : ''} | ${queued} | ${refused.length} | ${lost} | ${f0(median(lat))} | ${f0(p95)} | ${f0(lat.at(-1) ?? Number.NaN)} | ${f0(median(spoken))} | ${f0(pct95(spoken))} | ${reasons || '-'} | ${(wer * 100).toFixed(0)} % | ${f0(peak)} |`);
    } finally {
      await hub.proc.stop();
    }
  }
  return `The hub with its default settings (intents and their command model on, \`stt.warmSessions\` 0 resolved to ${capacity} warm sessions here, \`stt.queueMs\` 3000, replies off), its STT process and N real satellite processes, all on this machine's cores: each satellite reads a microphone the bench feeds (a FIFO), hears 4 s of the room's noise floor (the hub idles), then all say "hey jarvis" and a different command at the same moment, over the noise floor (BURST_COMMANDS in test/burst-harness.ts: ten commands the recognizer alone transcribes word for word, cycled; accuracy is measured in section 6). Each satellite connects with an identity of its own. Stop → final: the satellite's audio stop to the final transcript, as a subscriber sees them (issue 15's measure). End of speech → final: from when the bench handed the satellite's microphone the 100 ms chunk holding the command's last voiced sample, which is what the person waits; the satellite stops sooner after the speech when the hub ends a complete command (semantic end of speech, reason \`complete\`) than after its 400 ms of silence (reason \`stop\`). Completed: a final transcript; queued: waited for a decoder (then completed or refused); refused: \`VOICE_BUSY\` and the busy tone; lost: neither within 40 s. WER: mean per completed session. Hub RSS: the hub and its STT process, peak during the burst. Each satellite costs about 0.04 cores while it listens (section 3).

| satellites at once | completed | queued | refused | lost | stop → final ms median | p95 | max | end of speech → final ms median | p95 | final's reason | WER | hub RSS MB peak |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}`;
}
