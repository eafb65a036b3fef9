/**
 * Tests provision their own credentials, as a user would with `voice-hub
 * satellite add`: every hub a test starts gets a fresh state directory
 * (hub.stateDir) unless it names one, and is known here by its broker port.
 * Then:
 * - a satellite process started against it gets an identity of its own id
 *   (added to the hub's store, as the CLI does) and its secret;
 * - the test's own clients (observers, and raw clients standing in for a
 *   satellite where the behaviour lives in the hub) use the hub's identity,
 *   which may do anything, as an admin's tools would.
 * Security tests make the other identities themselves.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HUB_IDENTITY, HUB_SECRET_FILE, IdentityStore } from '../hub/security/identities';

const dirsByPort = new Map<number, string>();
const secrets = new Map<string, string>();
let seq = 0;

/** The broker port of an mqtt:// URL. */
export function portOf(url: string): number | undefined {
  try {
    const u = new URL(url);
    return u.port ? Number(u.port) : 1883;
  } catch {
    return undefined;
  }
}

function argOf(args: string[], name: string): string | undefined {
  let v: string | undefined;
  args.forEach((a, i) => {
    if (a === name) v = args[i + 1];
    else if (a.startsWith(`${name}=`)) v = a.slice(name.length + 1);
  });
  return v;
}

/**
 * Four features are off in a test's hub unless the test names one of their
 * settings:
 * - cross-room arbitration: most tests' satellites stand for different rooms
 *   speaking at the same moment (five commands at once in e2e, a burst of
 *   eight), which one house-wide group would arbitrate down to one session.
 *   test/arbitration*.test.ts turn it on.
 * - intents: the reply tests speak home commands ("turn off the kitchen
 *   light") and expect the LLM double to answer them, which the intent
 *   routing would (rightly) not do. test/intents*.test.ts turn it on.
 * - Home Assistant discovery: its retained devices and state topics are
 *   more messages and work in every test that has nothing to do with it.
 *   test/homeassistant.test.ts turns it on (and the demo keeps the default).
 * - the LLM check at start (llm.checkAtStart): most tests have no Ollama
 *   double, and its VOICE_LLM_UNREACHABLE on the hub's error topic would be
 *   a message they did not cause. test/http*.test.ts turn it on.
 * And each hub's HTTP server listens on a free port unless a test names one.
 */
export function withTestDefaults(args: string[], env: NodeJS.ProcessEnv = {}): string[] {
  const out = [...args];
  if (!args.some((a) => a.startsWith('--arbitration-')) && env.VOICE_HUB_ARBITRATION_ENABLED === undefined) out.push('--arbitration-enabled', 'false');
  if (!args.some((a) => a.startsWith('--intents-')) && env.VOICE_HUB_INTENTS_ENABLED === undefined) out.push('--intents-enabled', 'false');
  if (!args.some((a) => a.startsWith('--homeassistant-')) && env.VOICE_HUB_HOMEASSISTANT_ENABLED === undefined) out.push('--homeassistant-enabled', 'false');
  // Many hubs run at once: each HTTP server on a free port (its URL is in the 'HTTP server listening' log line).
  if (!args.some((a) => a.startsWith('--http-port')) && env.VOICE_HUB_HTTP_PORT === undefined) out.push('--http-port', '0');
  if (!args.some((a) => a.startsWith('--llm-check-at-start') || a.startsWith('--llm-preload')) && env.VOICE_HUB_LLM_CHECK_AT_START === undefined) out.push('--llm-check-at-start', 'false');
  return out;
}

/**
 * The state directory for a hub about to start with these args: the one it
 * names, the one an earlier hub on the same fixed port had (a hub restarted
 * in a test keeps its identities), or a fresh one under `tmp`. Returns the
 * args to start it with (and arbitration, intents and Home Assistant discovery off unless named: withTestDefaults).
 */
export function withStateDir(args: string[], tmp: string, env: NodeJS.ProcessEnv = {}): { args: string[]; dir: string } {
  args = withTestDefaults(args, env);
  const named = argOf(args, '--hub-state-dir') ?? env.VOICE_HUB_HUB_STATE_DIR;
  if (named) return { args, dir: named };
  const port = Number(argOf(args, '--broker-port') ?? env.VOICE_HUB_BROKER_PORT ?? 1883);
  let dir = port > 0 ? dirsByPort.get(port) : undefined;
  if (!dir) {
    dir = path.join(tmp, `hub-state-${process.pid}-${++seq}`);
    if (port > 0) dirsByPort.set(port, dir);
  }
  return { args: [...args, '--hub-state-dir', dir], dir };
}

/** A hub's broker listens on this port with this state directory. */
export function registerBroker(port: number, dir: string): void {
  dirsByPort.set(port, dir);
}

/** The hub's own credentials for a broker a test started (every right), or none for another broker. */
export function adminAuth(url: string): { username?: string; password?: string } {
  const dir = dirsByPort.get(portOf(url) ?? -1);
  if (!dir) return {};
  const file = path.join(dir, HUB_SECRET_FILE);
  if (!fs.existsSync(file)) return {};
  return { username: HUB_IDENTITY, password: fs.readFileSync(file, 'utf8').trim() };
}

/** An identity for satellite `id` on that broker (added once, reused), or undefined for a broker no test hub runs. */
export function satelliteAuth(url: string, id: string, room?: string): { username: string; password: string } | undefined {
  const dir = dirsByPort.get(portOf(url) ?? -1);
  if (!dir) return undefined;
  const key = `${dir}\0${id}`;
  let secret = secrets.get(key);
  if (!secret) {
    const store = new IdentityStore(dir).open();
    if (store.get(id)) store.remove(id);
    secret = store.add(id, 'satellite', { room });
    secrets.set(key, secret);
  }
  return { username: id, password: secret };
}

/** Args for a satellite process: its own identity's credentials added, unless it names some. */
export function satelliteArgs(args: string[], env: NodeJS.ProcessEnv, defaultId: string): string[] {
  if (argOf(args, '--mqtt-username') !== undefined || env.VOICE_SAT_MQTT_USERNAME !== undefined) return args;
  const url = argOf(args, '--mqtt-url') ?? env.VOICE_SAT_MQTT_URL ?? 'mqtt://localhost:1883';
  const id = argOf(args, '--satellite-id') ?? env.VOICE_SAT_SATELLITE_ID ?? defaultId;
  const auth = satelliteAuth(url, id);
  return auth ? [...args, '--mqtt-username', auth.username, '--mqtt-password', auth.password] : args;
}

/** The state directory of the test hub whose broker is at url (its identities live there). */
export function stateDirOf(url: string): string | undefined {
  return dirsByPort.get(portOf(url) ?? -1);
}
