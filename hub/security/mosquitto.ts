/**
 * The hub's identities as an external Mosquitto's `password_file` and
 * `acl_file` (`voice-hub mosquitto export --dir <dir>`; docs/security.md,
 * External Mosquitto), giving the rules of hub/security/acl.ts as far as
 * Mosquitto 2.0 can say them:
 *
 * - password_file: `name:$7$101$<salt>$<hash>`, Mosquitto 2.0's PBKDF2-HMAC-
 *   SHA512 format as mosquitto_passwd writes it. The store keeps only hashes,
 *   so this hash is made when the secret is known (IdentityStore.add, and the
 *   hub's own at its start) and kept beside the scrypt one. Identities added
 *   before that have none: the export names them and refuses (or, with
 *   --skip-missing, leaves them out).
 * - acl_file: one `user` block per identity (never `pattern`, which applies to
 *   every user, automations included), each listing exactly the topics of its
 *   role under the topic root. Mosquitto 2.0 grants every SUBSCRIBE and checks
 *   each delivery (retained ones too) against the read rules, and drops a
 *   publish its write rules do not allow.
 *
 * Outside the topic root the embedded broker lets automations do anything.
 * Mosquitto cannot say "everything but <root>/#": a `topic deny` line beats
 * every allow (read and write together), so it would take the transcripts
 * away too. Automations get nothing outside the root here, unless given
 * filters with --allow (which must not reach under the root).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VoiceError } from '../../common/errors';
import { HUB_IDENTITY, type Identity, type IdentityStore, writePrivate } from './identities';

/** Whether the filter is a valid MQTT filter that matches no topic under the root (the root itself included). */
export function allowProblem(filter: string, root: string): string | undefined {
  // Spaces, control characters and newlines would end the ACL line (or start another one).
  if (filter === '' || [...filter].some((ch) => ch.trim() === '' || ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) return 'an MQTT filter without spaces or control characters';
  const f = filter.split('/');
  if (f.some((l, i) => (l.includes('#') && (l !== '#' || i !== f.length - 1)) || (l.includes('+') && l !== '+'))) return 'a valid MQTT filter ("+" and "#" a whole level, "#" last)';
  const r = root.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#' || i >= r.length) return `a filter outside the topic root: it matches topics under ${root}/`;
    if (f[i] !== '+' && f[i] !== r[i]) return undefined;
  }
  return f.length === r.length ? `a filter outside the topic root: it matches ${root}` : undefined;
}

/** Each identity's rules, as acl_file lines (after its `user` line). */
export function aclRules(i: Identity, root: string, allow: readonly string[] = [], discoveryPrefix?: string): string[] {
  const sat = `${root}/satellite`;
  // With Home Assistant discovery (homeassistant.enabled) the hub also writes and reads back its discovery prefix.
  if (i.role === 'hub') return [`topic readwrite ${root}/#`, ...(discoveryPrefix ? [`topic readwrite ${discoveryPrefix}/#`] : [])];
  if (i.role === 'satellite') {
    const own = `${sat}/${i.name}`;
    return [
      ...['status', 'wake', 'audio/+', 'audio/+/start', 'audio/+/stop', 'played', 'error'].map((t) => `topic write ${own}/${t}`),
      ...[`${own}/command`, `${own}/tts/#`, `${root}/hub/status`].map((t) => `topic read ${t}`),
    ];
  }
  const reads = ['transcript', 'transcript/partial', 'intent', 'intent/none', 'timer', 'timers', 'state', 'event', 'reply', 'reply/partial', 'wake', 'status', 'error', 'played'].map((t) => `${sat}/+/${t}`);
  reads.push(`${root}/hub/status`, `${root}/hub/error`, `${root}/hub/arbitration`);
  if (i.readAudio) reads.push(...['audio/+', 'audio/+/start', 'audio/+/stop', 'tts/+', 'tts/+/start', 'tts/+/stop'].map((t) => `${sat}/+/${t}`));
  const writes = [`${sat}/+/handled`, `${sat}/+/announce`, `${sat}/+/command`, `${root}/announce`, `${root}/room/+/announce`];
  return [...reads.map((t) => `topic read ${t}`), ...writes.map((t) => `topic write ${t}`), ...allow.map((t) => `topic readwrite ${t}`)];
}

export function aclFile(identities: readonly Identity[], root: string, allow: readonly string[] = [], discoveryPrefix?: string): string {
  const lines = [
    '# Made by `voice-hub mosquitto export` from the hub\'s identities (docs/security.md, External Mosquitto).',
    '# Do not edit: add or remove identities with voice-hub, export again, and send mosquitto SIGHUP.',
    '# No anonymous rules and no patterns: a user not listed here may do nothing.',
  ];
  for (const i of identities) lines.push('', `# ${i.role}${i.room ? `, room ${i.room}` : ''}${i.readAudio ? ', reads audio' : ''}`, `user ${i.name}`, ...aclRules(i, root, i.role === 'automation' ? allow : [], discoveryPrefix));
  return `${lines.join('\n')}\n`;
}

export interface MosquittoExport {
  dir: string;
  passwordFile: string;
  aclFile: string;
  /** The identities written, by name. */
  identities: string[];
  /** Identities without a Mosquitto hash (added before it was made), left out with skipMissing. */
  missing: string[];
  /** The lines to add to mosquitto.conf. */
  conf: string[];
}

/**
 * Writes password_file (0600) and acl_file (0644) into dir. The hub's own
 * identity is made (if the hub never started), or given its Mosquitto hash
 * from hub.secret, first. Identities without a Mosquitto hash: refused, naming them, unless
 * skipMissing (then left out and named in `missing`).
 */
/** The mqtts listener Mosquitto should open with the hub's certificate (`voice-hub tls init`). */
export interface MosquittoTls {
  port: number;
  /** Absent when there is no CA file (a certificate from elsewhere): Mosquitto then sends the certificate alone. */
  cafile?: string;
  certfile: string;
  keyfile: string;
}

export function exportMosquitto(store: IdentityStore, o: { dir: string; root: string; allow?: readonly string[]; skipMissing?: boolean; tls?: MosquittoTls; discoveryPrefix?: string }): MosquittoExport {
  const allow = o.allow ?? [];
  for (const f of allow) {
    const why = allowProblem(f, o.root);
    if (why) throw new VoiceError('VOICE_MOSQUITTO_ALLOW_INVALID', `--allow "${f}" must be ${why}`);
  }
  store.ensureHubMosquitto();
  const all = store.list();
  const missing = all.filter((i) => !i.mosquitto).map((i) => i.name);
  if (missing.length && !o.skipMissing) {
    const one = missing.length === 1;
    const hub = missing.includes(HUB_IDENTITY) ? `; ${HUB_IDENTITY}'s own hash is made from its hub.secret, which does not match the store here: start the hub once` : '';
    throw new VoiceError('VOICE_MOSQUITTO_HASH_MISSING', `${missing.join(', ')} ${one ? 'was' : 'were'} added before Mosquitto export existed and ${one ? 'has' : 'have'} no Mosquitto password hash (the store keeps no secrets to make one from): remove and add ${one ? 'it' : 'each'} again (voice-hub satellite remove <id>, then satellite add <id> --room <room>; the same for automations) and give the client its new secret, or export with --skip-missing to leave ${one ? 'it' : 'them'} out${hub}`);
  }
  const kept = all.filter((i) => i.mosquitto);
  const dir = path.resolve(o.dir);
  fs.mkdirSync(dir, { recursive: true });
  const passwordFile = path.join(dir, 'password_file');
  const aclPath = path.join(dir, 'acl_file');
  writePrivate(passwordFile, kept.map((i) => `${i.name}:${i.mosquitto}\n`).join(''));
  const tmp = `${aclPath}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, aclFile(kept, o.root, allow, o.discoveryPrefix), { mode: 0o644 });
  fs.chmodSync(tmp, 0o644);
  fs.renameSync(tmp, aclPath);
  const conf = [`allow_anonymous false`, `password_file ${passwordFile}`, `acl_file ${aclPath}`, `listener 1883`, `use_username_as_clientid true`];
  // The same certificate the embedded broker would serve: satellites pinned to the hub's CA (mqtt.ca) trust it.
  if (o.tls) conf.push(`listener ${o.tls.port}`, ...(o.tls.cafile ? [`cafile ${o.tls.cafile}`] : []), `certfile ${o.tls.certfile}`, `keyfile ${o.tls.keyfile}`, `use_username_as_clientid true`);
  return { dir, passwordFile, aclFile: aclPath, identities: kept.map((i) => i.name), missing, conf };
}

/** What `voice-hub mosquitto export` prints. */
export function describeExport(r: MosquittoExport, stateDir: string): string[] {
  return [
    `Wrote ${r.passwordFile} (0600, ${r.identities.length} identities) and ${r.aclFile} (0644).`,
    ...(r.missing.length ? [`Left out (no Mosquitto hash; remove and add them again): ${r.missing.join(', ')}.`] : []),
    'Mosquitto must be able to read both (as the user it runs as: chown mosquitto: the password_file).',
    '',
    'In mosquitto.conf (e.g. /etc/mosquitto/conf.d/voice-hub.conf); use_username_as_clientid is a listener',
    'setting: put it after every listener line (before any, it makes a default listener on 1883 instead):',
    '',
    ...r.conf.map((l) => `  ${l}`),
    '',
    ...(r.conf.some((l) => l.startsWith('certfile ')) ? ['The mqtts listener uses the hub\'s certificate and key (voice-hub tls init); Mosquitto must be able to read the key.', 'To serve mqtts only, drop the "listener 1883" line and the use_username_as_clientid after it.', ''] : []),
    `Then reload Mosquitto (systemctl reload mosquitto, or kill -HUP): it re-reads both files, and drops live connections`,
    `of identities no longer in them. Run this again after every identities add or remove.`,
    `The hub connects with mqtt.url, mqtt.username ${HUB_IDENTITY} and mqtt.password the contents of ${path.join(stateDir, 'hub.secret')}.`,
  ];
}
