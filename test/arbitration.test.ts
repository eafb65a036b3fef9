/**
 * What cross-room arbitration leaves alone, and the late duplicate, with
 * real satellite processes hearing real speech over their noise floors:
 *   - two groups woken at the same moment both answer;
 *   - a wake from the group after the window closed is a late duplicate and
 *     is dropped, even though it heard the speech louder;
 *   - a remote listen and a follow-up are addressed to one satellite and are
 *     never arbitrated, not even against a wake word at the same moment;
 *   - with arbitration.enabled false, every satellite that heard the wake
 *     word gets a session and a transcript, as before.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { now } from '../common/protocol';
import { type RoomMics, startRooms } from './arbitration-helpers';
import { sleep } from './cover-helpers';
import { Collector, jsonOf, type Proc } from './helpers';
import { startHub } from './hub-helpers';
import { speak, zeros } from './speech-fixtures';

const UTTERANCE = () => Buffer.concat([speak('hey jarvis'), zeros(300), speak('turn on the kitchen light')]);
const isAudio = (t: string) => /\/(audio|tts)\/[^/]+(\/(start|stop))?$/.test(t);

async function stopRooms(r: { mics: RoomMics; sats: Proc[] } | undefined): Promise<void> {
  r?.mics.close();
  await Promise.all((r?.sats ?? []).map((s) => s.stop()));
}

test('arbitration on: two groups at once both answer; a late duplicate is dropped; listen and follow-up are never arbitrated', async (t) => {
  const hub = await startHub(['--reply-enabled', 'false', '--arbitration-enabled', 'true', '--arbitration-window-ms', '400', '--session-max-wakes-per-minute', '0']);
  t.after(() => hub.stop());
  const col = await Collector.create(hub.brokerUrl, ['voice/satellite/+/#', 'voice/hub/arbitration']);
  t.after(() => col.end());
  const ids = ['up1', 'dn1', 'la', 'lb'];
  const groups: Record<string, string[]> = { up1: ['--satellite-group', 'upstairs'], dn1: ['--satellite-group', 'downstairs'], la: [], lb: [] };
  const rooms = await startRooms(hub.brokerUrl, ids, [40, 40, 40, 40], (id) => [...groups[id], '--privacy-listen-earcon', 'false']);
  t.after(() => stopRooms(rooms));
  const finals = (from: number) => col.messages.slice(from).filter((m) => /\/transcript$/.test(m.topic)).map((m) => String(jsonOf(m).satellite));
  const decisions = (from: number) => col.messages.slice(from).filter((m) => m.topic === 'voice/hub/arbitration').map((m) => jsonOf(m));

  await t.test('two groups woken at the same moment: both answer', async () => {
    const from = col.messages.length;
    await rooms.mics.say(UTTERANCE(), [0, 0, null, null], [0, 0, 0, 0]);
    await col.next((tp) => tp === 'voice/satellite/up1/transcript', 20000, from);
    await col.next((tp) => tp === 'voice/satellite/dn1/transcript', 20000, from);
    await sleep(500);
    assert.deepEqual(finals(from).sort(), ['dn1', 'up1']);
    const d = decisions(from);
    assert.deepEqual(d.map((x) => x.group).sort(), ['downstairs', 'upstairs']);
    for (const x of d) {
      assert.equal(x.closedBy, 'alone', 'each is the only online satellite of its group: no wait');
      assert.equal((x.candidates as unknown[]).length, 1);
    }
    assert.equal(col.messages.slice(from).some((m) => m.topic.endsWith('/command')), false, 'nobody was told to end');
    await sleep(2000);
  });

  await t.test('a wake from the group after the window closed, while the winner is live, is a late duplicate and is dropped even though it heard louder', async () => {
    const from = col.messages.length;
    // lb hears the same words 6 dB louder, but 900 ms after la: la's window (400 ms) has closed.
    const said = rooms.mics.say(UTTERANCE(), [null, null, -6, 0], [0, 0, 0, 900]);
    const first = jsonOf(await col.next((tp) => tp === 'voice/hub/arbitration', 10000, from));
    assert.equal(first.winner, 'la');
    assert.equal(first.closedBy, 'bound', 'lb is online and nothing is learned yet: the window runs to its bound');
    assert.ok((first.windowMs as number) >= 400 && (first.windowMs as number) < 700, `window ${String(first.windowMs)} ms`);
    const late = jsonOf(await col.next((tp, p) => tp === 'voice/hub/arbitration' && jsonOf({ payload: p }).closedBy === 'late-duplicate', 10000, from));
    assert.equal(late.winner, 'la');
    const c = (late.candidates as { satellite: string; sessionId: string; won: boolean; afterMs: number; rankDb: number }[])[0];
    assert.equal(c.satellite, 'lb');
    assert.equal(c.won, false);
    assert.ok(c.rankDb > (first.candidates as { rankDb: number }[])[0].rankDb, 'lb heard it better, yet came too late');
    // The late one holds no recognizer: only la's session is live while la still streams.
    assert.equal(hub.sessions?.liveCount, 1);
    const end = jsonOf(await col.next((tp) => tp === 'voice/satellite/lb/command', 5000, from));
    assert.deepEqual(end, { command: 'end', sessionId: c.sessionId, reason: 'arbitration-lost' });
    await said;
    await col.next((tp) => tp === 'voice/satellite/la/transcript', 20000, from);
    await sleep(1000);
    assert.deepEqual(finals(from), ['la']);
    const lbMsgs = col.messages.slice(from).filter((m) => !isAudio(m.topic) && m.payload.toString().includes(c.sessionId));
    assert.equal(lbMsgs.some((m) => /\/(transcript|transcript\/partial|error)$/.test(m.topic)), false, 'nothing published for the late one');
    await sleep(1500);
  });

  await t.test('a remote listen and a follow-up at the same moment as a wake word in the group are not arbitrated', async () => {
    const from = col.messages.length;
    const said = rooms.mics.say(UTTERANCE(), [null, null, null, 0], [0, 0, 0, 0]);
    const wake = jsonOf(await col.next((tp) => tp === 'voice/satellite/lb/wake', 10000, from));
    assert.equal(wake.openedBy, 'wake');
    assert.equal(typeof wake.snrDb, 'number', 'a spoken wake word carries its levels');
    // Within lb's window: la is asked to listen, and a satellite opens a follow-up (as one does after a question).
    await col.client.publishAsync('voice/satellite/la/command', JSON.stringify({ command: 'listen' }), { qos: 1 });
    const fsid = randomUUID();
    await col.client.publishAsync('voice/satellite/fu/wake', JSON.stringify({ sessionId: fsid, wakeWord: 'follow-up', score: 1, openedBy: 'follow-up', time: now() }), { qos: 1 });
    const listen = jsonOf(await col.next((tp) => tp === 'voice/satellite/la/wake', 5000, from));
    assert.equal(listen.openedBy, 'remote');
    assert.equal(listen.snrDb, undefined, 'only a spoken wake word carries levels');
    const d = jsonOf(await col.next((tp) => tp === 'voice/hub/arbitration', 5000, from));
    assert.equal(d.winner, 'lb');
    assert.deepEqual((d.candidates as { satellite: string }[]).map((x) => x.satellite), ['lb'], 'neither the listen nor the follow-up was a candidate');
    await sleep(300);
    assert.equal(hub.sessions?.liveCount, 3, 'lb, la (listen) and fu (follow-up) all have sessions');
    const ends = col.messages.slice(from).filter((m) => m.topic.endsWith('/command') && jsonOf(m).command === 'end');
    assert.deepEqual(ends, [], 'nobody was told to end');
    await said;
    await col.next((tp) => tp === 'voice/satellite/lb/transcript', 20000, from);
    await col.client.publishAsync(`voice/satellite/fu/audio/${fsid}/stop`, JSON.stringify({ sessionId: fsid, reason: 'no-speech', time: now() }), { qos: 1 });
  });
  const st = hub.registry.get('la')?.arbitration;
  assert.deepEqual(st, { wins: 1, losses: 0 });
  assert.deepEqual(hub.registry.get('lb')?.arbitration, { wins: 1, losses: 1 });
});

test('arbitration off: two satellites that hear one wake word each open a session and each publish a transcript', async (t) => {
  const hub = await startHub(['--reply-enabled', 'false', '--arbitration-enabled', 'false', '--session-max-wakes-per-minute', '0']);
  t.after(() => hub.stop());
  const col = await Collector.create(hub.brokerUrl, ['voice/satellite/+/#', 'voice/hub/arbitration']);
  t.after(() => col.end());
  const rooms = await startRooms(hub.brokerUrl, ['oa', 'ob'], [40, 40]);
  t.after(() => stopRooms(rooms));
  await rooms.mics.say(UTTERANCE(), [0, -6], [0, 60]);
  await col.next((tp) => tp === 'voice/satellite/oa/transcript', 20000);
  await col.next((tp) => tp === 'voice/satellite/ob/transcript', 20000);
  assert.equal(col.messages.some((m) => m.topic === 'voice/hub/arbitration'), false);
  assert.equal(col.messages.some((m) => m.topic.endsWith('/command')), false);
});
