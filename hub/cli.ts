/**
 * `voice-hub <satellite|automation|identities> ...`: adding and removing the
 * identities that may use the hub's broker, one command each:
 *
 *   voice-hub satellite add kitchen --room kitchen   (prints the satellite's settings, secret included, once)
 *   voice-hub satellite remove kitchen               (its client is disconnected within a second)
 *   voice-hub automation add home-assistant [--read-audio]
 *   voice-hub automation remove home-assistant
 *   voice-hub identities list                        (also: satellite list, automation list)
 *   voice-hub mosquitto export --dir <dir> [--allow <filter>]... [--skip-missing]
 *                                                    (password_file and acl_file for an external Mosquitto)
 *
 * `--json` prints what was made as JSON (scripts). The store is the hub's
 * (hub.stateDir, from --hub-state-dir, $VOICE_HUB_HUB_STATE_DIR or
 * --config); the running hub reads it again on its own.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { loadConfig } from '../common/config';
import { shownUrl } from '../common/mqtt';
import { ERROR_CODES, toVoiceError } from '../common/errors';
import { type HubConfig, hubSchema } from '../config/hub';
import { IdentityStore, type Role } from './security/identities';
import { describeExport, exportMosquitto } from './security/mosquitto';
import { brokerTlsPaths, tlsOffered } from './security/tls';

/** Where a satellite keeps the hub's CA certificate (README, systemd/). */
const SATELLITE_CA = '/etc/voice-satellite/ca.crt';

const KINDS = ['satellite', 'automation', 'identities', 'mosquitto'] as const;

export function isAdminCommand(argv: string[]): boolean {
  return (KINDS as readonly string[]).includes(argv[0] ?? '');
}

function usage(): string {
  return 'usage: voice-hub satellite add <id> [--room <room>] | satellite remove <id> | automation add <name> [--read-audio] | automation remove <name> | identities list | mosquitto export --dir <dir> [--allow <filter>]... [--skip-missing]   [--json] [--hub-state-dir <dir> | --config <file>]';
}

/** Runs one admin command; returns the process exit status. */
export function runAdmin(argv: string[], out: (s: string) => void = (s) => process.stdout.write(`${s}\n`), env: NodeJS.ProcessEnv = process.env): number {
  const [kind, action, name, ...rest] = argv;
  const own: Record<string, string | boolean> = {};
  const passOn: string[] = [];
  const allow: string[] = [];
  const restArgs = action === 'list' || kind === 'mosquitto' ? [name, ...rest].filter((a) => a !== undefined) : rest;
  for (let i = 0; i < restArgs.length; i++) {
    const a = restArgs[i];
    if (a === '--room' || a === '--dir') own[a.slice(2)] = restArgs[++i] ?? '';
    else if (a === '--allow') allow.push(restArgs[++i] ?? '');
    else if (a === '--read-audio' || a === '--json' || a === '--skip-missing') own[a.slice(2)] = true;
    else passOn.push(a);
  }
  const fail = (code: keyof typeof ERROR_CODES | 'usage', message: string) => {
    process.stderr.write(`voice-hub: ${code === 'usage' ? '' : `${code}: `}${message}\n`);
    return code === 'usage' ? 64 : ERROR_CODES[code].setup ? 78 : 1;
  };
  let config: HubConfig;
  try {
    config = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: passOn, env }).config;
  } catch (err) {
    const e = toVoiceError(err, 'VOICE_CONFIG_INVALID');
    return fail(e.code, e.message);
  }
  try {
    const store = new IdentityStore(config.hub.stateDir).open();
    if (kind === 'mosquitto') {
      if (action !== 'export' || typeof own.dir !== 'string' || own.dir === '') return fail('usage', usage());
      const broker = { stateDir: config.hub.stateDir, ...config.broker };
      const { cert: certfile, key: keyfile, ca: cafile } = brokerTlsPaths(broker);
      const tls = tlsOffered(broker) && fs.existsSync(certfile) && fs.existsSync(keyfile) ? { port: broker.tls.port, certfile, keyfile, ...(fs.existsSync(cafile) ? { cafile } : {}) } : undefined;
      const r = exportMosquitto(store, { dir: own.dir, root: config.mqtt.topicRoot, allow, skipMissing: own['skip-missing'] === true, tls, discoveryPrefix: config.homeassistant.enabled ? config.homeassistant.prefix : undefined });
      for (const line of own.json ? [JSON.stringify(r)] : describeExport(r, config.hub.stateDir)) out(line);
      return 0;
    }
    if (action === 'list') {
      const all = store.list().filter((i) => kind === 'identities' || i.role === kind);
      if (own.json) out(JSON.stringify(all.map(({ secret: _s, mosquitto: _m, ...i }) => i)));
      else for (const i of all) out(`${i.role.padEnd(10)} ${i.name.padEnd(24)} ${i.room ? `room ${i.room}` : ''}${i.readAudio ? 'reads audio' : ''}`.trimEnd());
      return 0;
    }
    if (kind === 'identities' || !name || (action !== 'add' && action !== 'remove')) return fail('usage', usage());
    const role = kind as Role;
    if (action === 'remove') {
      store.remove(name);
      const effect = config.mqtt.url === '' ? 'the hub disconnects it within a second and refuses it from now on' : 'with an external Mosquitto (mqtt.url), run voice-hub mosquitto export again and reload Mosquitto, which then drops and refuses it';
      out(own.json ? JSON.stringify({ removed: name }) : `${kind} ${name} removed: ${effect}.`);
      return 0;
    }
    const room = typeof own.room === 'string' ? own.room : undefined;
    const secret = store.add(name, role, { room, readAudio: own['read-audio'] === true });
    // Over TLS when the broker offers it: the satellite then trusts only the hub's CA.
    const broker = { stateDir: config.hub.stateDir, ...config.broker };
    const tls = tlsOffered(broker);
    const caFile = brokerTlsPaths(broker).ca;
    const port = tls ? config.broker.tls.port : config.broker.port;
    const url = `${tls ? 'mqtts' : 'mqtt'}://${os.hostname()}:${port}`;
    if (own.json) {
      out(JSON.stringify({ name, role, room, secret, url, ...(tls ? { ca: caFile } : {}) }));
    } else if (role === 'satellite') {
      out(`Satellite ${name} added${room ? ` (room ${room})` : ''}. Its secret is shown only now.`);
      out(`Put these lines in the satellite's environment file (/etc/voice-satellite/env, mode 0600):\n`);
      out(`VOICE_SAT_SATELLITE_ID=${name}`);
      if (room) out(`VOICE_SAT_SATELLITE_ROOM=${room}`);
      out(`VOICE_SAT_MQTT_URL=${url}`);
      out(`VOICE_SAT_MQTT_USERNAME=${name}`);
      out(`VOICE_SAT_MQTT_PASSWORD=${secret}`);
      if (tls) out(`VOICE_SAT_MQTT_CA=${SATELLITE_CA}\n\nand copy ${caFile} to the satellite as ${SATELLITE_CA} (public: it lets the satellite check that it talks to this hub).`);
    } else {
      out(`Automation ${name} added${own['read-audio'] ? ' (may read audio and TTS streams)' : ''}. Its secret is shown only now.`);
      out(`Connect with: host ${os.hostname()}, port ${port}${tls ? `, TLS trusting the CA ${caFile}` : ''}, username ${name}, password ${secret}`);
      out(`e.g.  mosquitto_sub -h ${os.hostname()} -p ${port}${tls ? ` --cafile ${caFile}` : ''} -u ${name} -P '${secret}' -t '${config.mqtt.topicRoot}/satellite/+/transcript' -v`);
    }
    if (!own.json && config.mqtt.url !== '') out(`\nThe hub uses an external broker (${shownUrl(config.mqtt.url)}): connect there instead, once you have run voice-hub mosquitto export again and reloaded Mosquitto.`);
    return 0;
  } catch (err) {
    const e = toVoiceError(err, 'VOICE_INTERNAL');
    return fail(e.code, e.message);
  }
}
