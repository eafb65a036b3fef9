/**
 * No secret reaches a log line (issue 9): the hub process and real
 * satellite processes run at trace level, every line they print (stdout and
 * stderr) is searched for every secret. The secrets arrive every way a user
 * gives them: the satellite's password by flag, by environment, inside the
 * broker URL (mqtt://name:secret@host), and a wrong one that is refused; the
 * hub's own from its state directory. Sessions run through, so the lines of
 * a working day are in the log too.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adminAuth, satelliteAuth } from './credentials';
import { Collector, connect, type Proc, runNode, startHubProcess, wakeCommandWav } from './helpers';

let hub: { proc: Proc; url: string; port: number };
let col: Collector;
const sats: Proc[] = [];

before(async () => {
  hub = await startHubProcess(['--log-level', 'trace', '--reply-enabled', 'false']);
  col = new Collector(await connect(hub.url));
  await col.client.subscribeAsync('voice/#', { qos: 1 });
});
after(async () => {
  await Promise.all(sats.map((s) => s.stop()));
  await col?.end();
  await hub?.proc.stop();
});

function satellite(id: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const p = runNode('satellite/main.js', ['--satellite-id', id, '--log-level', 'trace', '--audio-source', 'wav', '--audio-wav', wakeCommandWav('turn on the light', { name: `secret-${id}` }), ...args], env);
  sats.push(p);
  return p;
}

test('no secret, given by flag, environment or URL, right or wrong, appears in any log line of the hub or a satellite', async () => {
  const port = hub.port;
  const flag = satelliteAuth(hub.url, 'byflag');
  const env = satelliteAuth(hub.url, 'byenv');
  const inUrl = satelliteAuth(hub.url, 'inurl');
  assert.ok(flag && env && inUrl);
  const wrong = `${flag.password.slice(0, 20)}-wrong`;
  const from = col.messages.length;
  satellite('byflag', ['--mqtt-url', hub.url, '--mqtt-username', 'byflag', '--mqtt-password', flag.password]);
  satellite('byenv', [], { VOICE_SAT_MQTT_URL: hub.url, VOICE_SAT_MQTT_USERNAME: 'byenv', VOICE_SAT_MQTT_PASSWORD: env.password });
  const urlSat = satellite('inurl', ['--mqtt-url', `mqtt://inurl:${encodeURIComponent(inUrl.password)}@127.0.0.1:${port}`], { VOICE_SAT_MQTT_USERNAME: '' });
  const refused = satellite('refused', ['--mqtt-url', hub.url, '--mqtt-username', 'byflag', '--mqtt-password', wrong]);
  for (const id of ['byflag', 'byenv', 'inurl']) await col.next((tp) => tp === `voice/satellite/${id}/transcript`, 40000, from);
  await refused.waitLog((o) => /not authorized/i.test(String(o.err)), 20000);
  const connected = await urlSat.waitLog((o) => o.msg === 'MQTT connected');
  assert.equal(connected.url, `mqtt://[redacted]@127.0.0.1:${port}`, 'the URL is logged without its credentials');

  const hubSecret = adminAuth(hub.url).password ?? '';
  assert.ok(hubSecret.length > 20);
  const secrets = { hub: hubSecret, byflag: flag.password, byenv: env.password, inurl: inUrl.password, wrong };
  const procs: Record<string, Proc> = { hub: hub.proc, byflag: sats[0], byenv: sats[1], inurl: sats[2], refused };
  for (const [name, p] of Object.entries(procs)) {
    assert.ok(p.lines.length >= 1, `${name} logged (${p.lines.length} lines)`);
    const text = p.lines.join('\n');
    for (const [whose, secret] of Object.entries(secrets)) {
      for (const form of [secret, encodeURIComponent(secret)]) assert.equal(text.includes(form), false, `the ${whose} secret is in the log of ${name}`);
    }
  }
});
