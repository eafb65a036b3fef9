/**
 * `voice-hub tls init`: a local CA and a server certificate for the
 * embedded broker's mqtts listener (hub/security/tls.ts), in
 * `hub.stateDir`/tls. Run again to issue a new server certificate (new
 * names or addresses, or before it expires) under the same CA; `--new-ca`
 * replaces the CA too (every satellite then needs the new ca.crt).
 *
 *   voice-hub tls init [--name <host name>]... [--address <ip>]... [--days <n>] [--new-ca] [--json]
 *
 * The certificate names this machine's host name (and .local), localhost
 * and every address of its interfaces, plus each --name and --address.
 */
import * as net from 'node:net';
import * as os from 'node:os';
import { loadConfig } from '../common/config';
import { ERROR_CODES, toVoiceError } from '../common/errors';
import { type HubConfig, hubSchema } from '../config/hub';
import { defaultNames, initTls } from './security/tls';

export function isTlsCommand(argv: string[]): boolean {
  return argv[0] === 'tls';
}

const USAGE = 'usage: voice-hub tls init [--name <host name>]... [--address <ip>]... [--days <n>] [--new-ca] [--json]   [--hub-state-dir <dir> | --config <file>]';

/** Runs `voice-hub tls ...`; returns the process exit status. */
export function runTls(argv: string[], out: (s: string) => void = (s) => process.stdout.write(`${s}\n`), env: NodeJS.ProcessEnv = process.env): number {
  const fail = (code: keyof typeof ERROR_CODES | 'usage', message: string) => {
    process.stderr.write(`voice-hub: ${code === 'usage' ? '' : `${code}: `}${message}\n`);
    return code === 'usage' ? 64 : ERROR_CODES[code].setup ? 78 : 1;
  };
  const [, action, ...rest] = argv;
  if (action !== 'init') return fail('usage', USAGE);
  const names = defaultNames();
  let days: number | undefined;
  let newCa = false;
  let json = false;
  const passOn: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = () => {
      const v = rest[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === '--name') names.dns.push(value());
      else if (a === '--address') {
        const ip = value();
        if (!net.isIP(ip)) return fail('usage', `--address ${ip} is not an IP address (host names go with --name)`);
        names.ips.push(ip);
      } else if (a === '--days') {
        days = Number(value());
        if (!Number.isInteger(days) || days < 1) return fail('usage', '--days takes a whole number of days, at least 1');
      } else if (a === '--new-ca') newCa = true;
      else if (a === '--json') json = true;
      else passOn.push(a);
    } catch (err) {
      return fail('usage', `${(err as Error).message}\n${USAGE}`);
    }
  }
  let config: HubConfig;
  try {
    config = loadConfig<HubConfig>(hubSchema, { prefix: 'VOICE_HUB', argv: passOn, env }).config;
  } catch (err) {
    const e = toVoiceError(err, 'VOICE_CONFIG_INVALID');
    return fail(e.code, e.message);
  }
  try {
    const r = initTls(config.hub.stateDir, { names: { dns: [...new Set(names.dns)], ips: [...new Set(names.ips)] }, newCa, days });
    const url = `mqtts://${os.hostname()}:${config.broker.tls.port}`;
    if (json) {
      out(JSON.stringify({ ...r.files, newCa: r.newCa, names: r.names, notAfter: r.notAfter.toISOString(), url }));
      return 0;
    }
    out(r.newCa ? `A new local CA: ${r.files.caCert} (its key ${r.files.caKey}, 0600).` : `The CA is kept: ${r.files.caCert}. Satellites that trust it need nothing new.`);
    out(`Server certificate ${r.files.cert} (key ${r.files.key}, 0600), valid until ${r.notAfter.toISOString().slice(0, 10)}, for:`);
    out(`  ${[...r.names.dns, ...r.names.ips].join(', ')}`);
    out('');
    out(`Restart the hub: its broker then also listens on mqtts, port ${config.broker.tls.port} (broker.tls.enabled auto).`);
    out('To keep plain MQTT to this machine only, set broker.plain to loopback (VOICE_HUB_BROKER_PLAIN=loopback).');
    out('');
    out(`On each satellite, copy ${r.files.caCert} to /etc/voice-satellite/hub-ca.crt and set in /etc/voice-satellite/env:`);
    out(`VOICE_SAT_MQTT_URL=${url}`);
    out('VOICE_SAT_MQTT_CA=/etc/voice-satellite/hub-ca.crt');
    return 0;
  } catch (err) {
    const e = toVoiceError(err, 'VOICE_TLS_INVALID');
    return fail(e.code, e.message);
  }
}
