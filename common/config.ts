/**
 * Config loading shared by both processes: a convict schema (the only place
 * holding each default, doc, env name and format), an optional JSON file
 * named with --config (or $<PREFIX>_CONFIG), env overrides, strict
 * validation that reports every problem at once.
 */
import * as fs from 'node:fs';
import convict from 'convict';
import { VoiceError } from './errors';

export const EX_CONFIG = 78;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnySchema = convict.Schema<any>;

interface SchemaLeaf {
  default: unknown;
  doc?: string;
  format?: unknown;
  env?: string;
  arg?: string;
  sensitive?: boolean;
}

function isLeaf(v: unknown): v is SchemaLeaf {
  return typeof v === 'object' && v !== null && 'default' in v;
}

/**
 * Fills `env` (PREFIX_SECTION_KEY) and `arg` (--section-key) on every leaf,
 * derived from its path, so names never drift from the schema.
 */
export function withEnvAndArgs<T extends AnySchema>(prefix: string, schema: T, pathParts: string[] = []): T {
  for (const [key, value] of Object.entries(schema as Record<string, unknown>)) {
    const p = [...pathParts, key];
    if (isLeaf(value)) {
      const snake = p.map((s) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
      value.env = `${prefix}_${snake}`;
      value.arg = p.map((s) => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()).join('-');
    } else if (typeof value === 'object' && value !== null) {
      withEnvAndArgs(prefix, value as AnySchema, p);
    }
  }
  return schema;
}

export interface LeafDoc {
  key: string;
  doc: string;
  default: unknown;
  format: string;
  env: string;
  arg: string;
  sensitive: boolean;
}

/** Flat list of every key in a schema, for generated docs and tests. */
export function describeSchema(schema: object, pathParts: string[] = []): LeafDoc[] {
  const out: LeafDoc[] = [];
  for (const [key, value] of Object.entries(schema as Record<string, unknown>)) {
    const p = [...pathParts, key];
    if (isLeaf(value)) {
      const f = value.format;
      const format = Array.isArray(f) ? f.map((x) => JSON.stringify(x)).join(' \\| ') : typeof f === 'string' ? f : typeof f === 'function' ? (f.name || 'custom') : typeof value.default;
      out.push({ key: p.join('.'), doc: value.doc ?? '', default: value.default, format, env: value.env ?? '', arg: value.arg ?? '', sensitive: value.sensitive === true });
    } else if (typeof value === 'object' && value !== null) {
      out.push(...describeSchema(value, p));
    }
  }
  return out;
}

/** Finds `--config <file>` or `--config=<file>` in argv. */
export function configFileFromArgs(argv: string[], envName: string, env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--config' || a === '-c') return argv[i + 1];
    if (a.startsWith('--config=')) return a.slice('--config='.length);
  }
  return env[envName] || undefined;
}

/**
 * argv without --config and its value (convict parses the rest as --key value
 * overrides, handed over as --key=value so that a value starting with "-"
 * stays a value). A key given twice keeps its last value, as command lines do
 * (convict's parser would make an array of both and coerce it oddly).
 */
function argsWithoutConfig(argv: string[]): string[] {
  const groups: { key: string; tokens: string[] }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--config' || a === '-c') {
      i++;
      continue;
    }
    if (a.startsWith('--config=')) continue;
    if (a.startsWith('--') && !a.includes('=') && i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      // As one token: a value starting with "-" (a secret, "-maxhmmpf 3000") would otherwise be read as a flag.
      groups.push({ key: a, tokens: [`${a}=${argv[i + 1]}`] });
      i++;
    } else {
      groups.push({ key: a.startsWith('--') ? a.split('=')[0] : '', tokens: [a] });
    }
  }
  const last = new Map(groups.map((g, i) => [g.key, i]));
  return groups.filter((g, i) => g.key === '' || last.get(g.key) === i).flatMap((g) => g.tokens);
}

/**
 * Loads, validates and freezes a config. Throws VOICE_CONFIG_INVALID whose
 * `details.problems` lists every problem found.
 */
export function loadConfig<T>(schema: object, opts: { prefix: string; argv: string[]; env: NodeJS.ProcessEnv }): { config: T; file: string | undefined } {
  const file = configFileFromArgs(opts.argv, `${opts.prefix}_CONFIG`, opts.env);
  const problems: string[] = [];
  let conf: convict.Config<T>;
  try {
    conf = convict<T>(schema as convict.Schema<T>, { env: opts.env, args: argsWithoutConfig(opts.argv) });
  } catch (err) {
    throw new VoiceError('VOICE_CONFIG_INVALID', `configuration is invalid:\n  - ${(err as Error).message}`, { problems: [(err as Error).message] });
  }
  if (file) {
    try {
      const text = fs.readFileSync(file, 'utf8');
      conf.load(JSON.parse(text) as object);
    } catch (err) {
      problems.push(`config file ${file}: ${(err as Error).message}`);
    }
  }
  try {
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    problems.push(...(err as Error).message.split('\n').filter((l) => l.trim() !== ''));
  }
  if (problems.length > 0) {
    throw new VoiceError('VOICE_CONFIG_INVALID', `configuration is invalid (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n${problems.map((p) => `  - ${p}`).join('\n')}`, { problems });
  }
  const config = deepFreeze(conf.getProperties());
  return { config, file };
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

// ---------------------------------------------------------------- formats shared by the schemas

export function positiveInt(name: string) {
  const f = (v: unknown) => {
    if (!Number.isInteger(v) || (v as number) <= 0) throw new Error('must be a positive integer');
  };
  Object.defineProperty(f, 'name', { value: name });
  return f;
}

export function nonNegativeInt(name: string) {
  const f = (v: unknown) => {
    if (!Number.isInteger(v) || (v as number) < 0) throw new Error('must be an integer >= 0');
  };
  Object.defineProperty(f, 'name', { value: name });
  return f;
}

export function unitInterval(v: unknown): void {
  if (typeof v !== 'number' || !(v > 0 && v < 1)) throw new Error('must be a number between 0 and 1 (exclusive)');
}

export function topicRoot(v: unknown): void {
  if (typeof v !== 'string' || v === '' || /[#+]/.test(v) || v.startsWith('/') || v.endsWith('/')) {
    throw new Error('must be a non-empty MQTT topic prefix without wildcards or leading/trailing slash');
  }
}

export function mqttUrl(v: unknown): void {
  if (typeof v !== 'string') throw new Error('must be a string');
  if (v === '') return;
  if (!/^(mqtts?|wss?|tcp|tls):\/\/[^/]+/.test(v)) throw new Error('must be an mqtt://, mqtts://, ws:// or wss:// URL');
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
