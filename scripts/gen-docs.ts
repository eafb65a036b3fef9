/**
 * Generates docs/config.md (from the convict schemas) and docs/errors.md
 * (from the error table). `--check` fails if the committed files differ.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeSchema } from '../common/config';
import { ERROR_CODES } from '../common/errors';
import { hubSchema } from '../config/hub';
import { satelliteSchema } from '../config/satellite';

const ROOT = path.resolve(__dirname, '..', '..');

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function defaultOf(key: string, v: unknown): string {
  if (key === 'hub.name' || key === 'satellite.id') return '(host name)';
  return v === '' ? '""' : `\`${JSON.stringify(v)}\``;
}

function table(schema: object): string {
  const rows = describeSchema(schema).map((l) => `| \`${l.key}\` | ${cell(l.doc)}${l.sensitive ? ' (secret)' : ''} | ${cell(defaultOf(l.key, l.default))} | \`${l.env}\` | \`--${l.arg}\` |`);
  return ['| key | what it does | default | env | flag |', '|---|---|---|---|---|', ...rows].join('\n');
}

export function configDoc(): string {
  return `# Configuration reference

Generated from the convict schemas in \`config/hub.ts\` and \`config/satellite.ts\` by
\`npm run docs\`; a test fails when this file and the schemas disagree.

Each process reads, in rising priority: the schema defaults, a JSON file
named by \`--config <file>\` (or \`VOICE_HUB_CONFIG\` / \`VOICE_SAT_CONFIG\`),
environment variables, then command-line flags. Validation is strict:
unknown keys and bad values are all listed at once and the process exits
with code 78 (EX_CONFIG). Example files: \`config/hub.example.json\`,
\`config/satellite.example.json\`.

## Hub (\`voice-hub\`)

${table(hubSchema)}

## Satellite (\`voice-satellite\`)

${table(satelliteSchema)}
`;
}

export function errorsDoc(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, info]) => `| \`${code}\` | ${info.setup ? '78' : '1'} | ${cell(info.doc)} |`);
  const setup = Object.entries(ERROR_CODES).filter(([, info]) => info.setup).map(([code]) => `\`${code}\``);
  return `# Error codes

Generated from \`common/errors.ts\` by \`npm run docs\`; a test fails when this
file and the code disagree, and another when the source uses a code that
is not listed here.

Errors about a satellite's traffic are published as JSON
\`{code, message, satellite, sessionId?, time}\` on
\`voice/satellite/<id>/error\` (QoS 1) and logged with the same \`code\`.
Start-up failures are logged and printed to stderr as \`<process>: CODE: message\`;
the process exits 78 for set-up problems that a restart cannot fix
(${setup.join(', ')})
and 1 otherwise, so systemd restarts only what a restart can fix. The
"exit" column is the exit status when start-up fails with that code.
Errors that concern no satellite go to \`voice/hub/error\`.

| code | exit | meaning and what to do |
|---|---|---|
${rows.join('\n')}
`;
}

if (require.main === module) {
  const files = { 'docs/config.md': configDoc(), 'docs/errors.md': errorsDoc() };
  const check = process.argv.includes('--check');
  let stale = false;
  for (const [file, text] of Object.entries(files)) {
    const p = path.join(ROOT, file);
    if (check) {
      if (!fs.existsSync(p) || fs.readFileSync(p, 'utf8') !== text) {
        console.error(`${file} is out of date: run npm run docs`);
        stale = true;
      }
    } else {
      fs.writeFileSync(p, text);
      console.log(`wrote ${file}`);
    }
  }
  process.exit(stale ? 1 : 0);
}
