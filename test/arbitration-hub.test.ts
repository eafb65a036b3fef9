/**
 * Arbitration's edge cases in the hub, at the protocol level (the behaviour
 * is the hub's; the satellites' part is in arbitration*.test.ts with real
 * satellite processes): a real hub and its aedes broker, and clients that
 * publish what satellites publish, with chosen levels and timing.
 *   - a winner the hub refuses (stt.maxSessions) is no winner: the group's
 *     next wake is not taken for its late duplicate;
 *   - a candidate that goes offline leaves the window, and nobody waits for it;
 *   - an older satellite's listen (wakeWord "listen", no openedBy) is not arbitrated;
 *   - a satellite whose status drops its group leaves that group.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { now } from '../common/protocol';
import { sleep } from './cover-helpers';
import { Collector, jsonOf } from './helpers';
import { startHub } from './hub-helpers';

const FORMAT = { encoding: 's16le', rate: 16000, channels: 1 };

async function status(col: Collector, id: string, state: 'online' | 'offline', group?: string): Promise<void> {
  await col.client.publishAsync(`voice/satellite/${id}/status`, JSON.stringify({ state, protocol: 1, room: id, ...(group ? { group } : {}), time: now() }), { qos: 1, retain: true });
}

async function wake(col: Collector, id: string, o: { snrDb?: number; openedBy?: string; wakeWord?: string } = {}): Promise<string> {
  const sid = randomUUID();
  const levels = o.snrDb === undefined ? {} : { energyDb: -20, noiseDb: -20 - o.snrDb, snrDb: o.snrDb, calibrationDb: 0 };
  await col.client.publishAsync(`voice/satellite/${id}/wake`, JSON.stringify({ sessionId: sid, wakeWord: o.wakeWord ?? 'hey_jarvis', score: 0.8, time: now(), ...(o.openedBy ? { openedBy: o.openedBy } : {}), ...levels }), { qos: 1 });
  await col.client.publishAsync(`voice/satellite/${id}/audio/${sid}/start`, JSON.stringify({ sessionId: sid, format: FORMAT, time: now() }), { qos: 1 });
  return sid;
}

const stop = (col: Collector, id: string, sid: string) => col.client.publishAsync(`voice/satellite/${id}/audio/${sid}/stop`, JSON.stringify({ sessionId: sid, reason: 'silence', time: now() }), { qos: 1 });
const ends = (col: Collector, from: number) => col.messages.slice(from).filter((m) => m.topic.endsWith('/command')).map((m) => ({ sat: m.topic.split('/')[2], ...jsonOf(m) }));

test('arbitration edge cases in the hub: a refused winner, a candidate gone offline, an older satellite\'s listen, a group dropped', async (t) => {
  const hub = await startHub(['--reply-enabled', 'false', '--arbitration-enabled', 'true', '--arbitration-window-ms', '1500', '--stt-max-sessions', '1', '--session-max-wakes-per-minute', '0']);
  t.after(() => hub.stop());
  const col = await Collector.create(hub.brokerUrl, ['voice/satellite/+/#', 'voice/hub/arbitration']);
  t.after(() => col.end());
  for (const id of ['occ', 'x', 'y', 'z']) await status(col, id, 'online');
  await status(col, 'up', 'online', 'upstairs');
  await sleep(200);

  await t.test('a winner the hub refuses is no winner: the group\'s next wake within arbitration.lateMs opens its session', async () => {
    // occ holds the hub's one session (a remote listen: not arbitrated).
    const occ = await wake(col, 'occ', { openedBy: 'remote', wakeWord: 'listen' });
    await sleep(200);
    assert.equal(hub.sessions?.liveCount, 1);
    const from = col.messages.length;
    const refused = await wake(col, 'x', { snrDb: 40 });
    const err = jsonOf(await col.next((tp, p) => tp === 'voice/satellite/x/error' && jsonOf({ payload: p }).sessionId === refused, 5000, from));
    assert.equal(err.code, 'VOICE_SESSION_LIMIT');
    await sleep(100);
    assert.equal(col.messages.slice(from).some((m) => m.topic === 'voice/hub/arbitration'), false, 'no decision without a winner');
    await stop(col, 'occ', occ);
    await sleep(300);
    assert.equal(hub.sessions?.liveCount, 0);
    // Well within lateMs (2000) of x's refused wake.
    const again = await wake(col, 'x', { snrDb: 40 });
    const d = jsonOf(await col.next((tp) => tp === 'voice/hub/arbitration', 5000, from));
    assert.equal(d.closedBy, 'bound', 'y and z are online and have told nothing');
    assert.equal(d.winnerSessionId, again);
    await sleep(100);
    assert.equal(hub.sessions?.liveCount, 1);
    await stop(col, 'x', again);
    await sleep(300);
    await status(col, 'occ', 'offline');
  });

  await t.test('a candidate that goes offline leaves the window, and nobody waits for one that is offline: the other answers at once', async () => {
    await sleep(2100); // past lateMs since the last decision
    await sleep(1000); // x's last session has its final
    const from = col.messages.length;
    const sx = await wake(col, 'x', { snrDb: 30 });
    const sy = await wake(col, 'y', { snrDb: 45 });
    await sleep(50);
    // The window waits for z; y, which heard it better, goes offline meanwhile, then z does.
    await status(col, 'y', 'offline');
    await status(col, 'z', 'offline');
    const d = jsonOf(await col.next((tp) => tp === 'voice/hub/arbitration', 3000, from));
    assert.equal(d.winner, 'x', 'y heard it better but went offline');
    assert.equal(d.winnerSessionId, sx);
    assert.equal(d.closedBy, 'all-reported', 'with y and z gone, nobody was left to wait for');
    assert.ok((d.windowMs as number) < 1200, `window ${String(d.windowMs)} ms (bound 1500)`);
    assert.deepEqual(ends(col, from).filter((e) => e.sat === 'y'), [{ sat: 'y', command: 'end', sessionId: sy, reason: 'arbitration-lost' }]);
    await sleep(100);
    assert.equal(hub.sessions?.liveCount, 1);
    await stop(col, 'x', sx);
    await sleep(300);
    await status(col, 'y', 'online');
  });

  await t.test('an older satellite\'s listen (wakeWord "listen", no openedBy) is not arbitrated', async () => {
    await sleep(1000); // x's session has its final
    const from = col.messages.length;
    const sl = await wake(col, 'y', { wakeWord: 'listen' });
    await sleep(200);
    assert.equal(col.messages.slice(from).some((m) => m.topic === 'voice/hub/arbitration'), false);
    assert.equal(hub.sessions?.liveCount, 1);
    await stop(col, 'y', sl);
    await sleep(300);
  });

  await t.test('a satellite whose status no longer names a group is back in the house group', async () => {
    assert.equal(hub.registry.get('up')?.group, 'upstairs');
    await status(col, 'up', 'online');
    await sleep(200);
    assert.equal(hub.registry.get('up')?.group, undefined);
    assert.equal(hub.arbitration?.groupOf('up'), 'house');
  });
  // Nothing is left held: every loser's audio was dropped, every winner's replayed.
  assert.equal(hub.sessions?.heldCount, 0);
});
