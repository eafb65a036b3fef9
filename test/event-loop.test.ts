/**
 * Event-loop health (issue 16, item 4): the hub measures how late its main
 * thread runs and reports p50/p99/max over a rolling window in its status.
 * The stalls here are real: the test busy-waits on the thread the monitor
 * (and, in the second test, the in-process hub) runs on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../common/config';
import { type HubConfig, hubSchema } from '../config/hub';
import { type EventLoopStats, EventLoopMonitor } from '../hub/event-loop';
import { Collector, jsonOf } from './helpers';
import { startHub } from './hub-helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Blocks this thread's event loop `times` times for `ms`, letting it run briefly in between (as sentence-by-sentence synthesis would). */
async function stall(times: number, ms: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // busy: nothing else runs on this thread
    }
    await sleep(30);
  }
}

function monitor(windowS: number): EventLoopMonitor {
  const { config } = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: ['--hub-event-loop-window-s', String(windowS)], env: {} });
  return new EventLoopMonitor({ config, log: pino({ level: 'silent' }) });
}

test('the monitor sees stalls of the main thread in p99 and max, and forgets them once they leave the window', async (t) => {
  const m = monitor(1);
  m.start();
  t.after(() => m.stop());
  await sleep(400);
  const idle = m.stats();
  assert.ok(idle.p99Ms < 100, `idle p99 ${idle.p99Ms} ms`);
  await stall(5, 200);
  const busy = m.stats();
  assert.ok(busy.maxMs >= 150, `max after 200 ms stalls: ${busy.maxMs} ms`);
  assert.ok(busy.p99Ms >= 150 && busy.p99Ms > idle.p99Ms, `p99 after the stalls ${busy.p99Ms} ms, idle ${idle.p99Ms} ms`);
  assert.ok(busy.p50Ms < 100, `the median stays low: ${busy.p50Ms} ms`);
  assert.ok(busy.windowS <= 1, `window ${busy.windowS} s`);
  // A 1 s window moves every 0.5 s: 1.5 s later the stalls are out of it.
  await sleep(1500);
  const after = m.stats();
  assert.ok(after.maxMs < 150, `max 1.5 s after the stalls: ${after.maxMs} ms`);
});

test("the hub's retained status carries eventLoop figures, refreshed every hub.statusIntervalS, and they show a stall of its main thread", async (t) => {
  const hub = await startHub(['--reply-enabled', 'false', '--hub-status-interval-s', '1', '--hub-event-loop-window-s', '10']);
  t.after(() => hub.stop());
  const col = await Collector.create(hub.brokerUrl, 'voice/hub/status');
  t.after(() => col.end());
  const first = jsonOf(await col.next(() => true, 5000)).eventLoop as EventLoopStats;
  for (const k of ['p50Ms', 'p99Ms', 'maxMs', 'windowS'] as const) assert.equal(typeof first[k], 'number', `eventLoop.${k} in ${JSON.stringify(first)}`);
  assert.ok(first.windowS <= 10);
  const from = col.messages.length;
  await stall(5, 200);
  const stalled = await col.next((_t, p) => (jsonOf({ payload: p }).eventLoop as EventLoopStats).maxMs >= 150, 3000, from);
  const loop = jsonOf(stalled).eventLoop as EventLoopStats;
  assert.ok(loop.p99Ms >= 150, `p99 after the stalls: ${JSON.stringify(loop)}`);
});
