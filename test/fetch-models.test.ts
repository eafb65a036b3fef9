/** The model fetcher: checksummed download and unpack from a local server; a clear message when offline; a checksum mismatch is refused. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { DIST, freePort, ROOT, spawnTracked, TMP, withTimeout } from './helpers';

let server: http.Server;
let base = '';
let zip: Buffer;

before(async () => {
  // A tiny zip shaped like a Vosk model: vosk-model-test/am/final.mdl, vosk-model-test/conf/model.conf.
  const src = path.join(TMP, 'zipsrc', 'vosk-model-test');
  fs.mkdirSync(path.join(src, 'am'), { recursive: true });
  fs.mkdirSync(path.join(src, 'conf'), { recursive: true });
  fs.writeFileSync(path.join(src, 'am', 'final.mdl'), 'am');
  fs.writeFileSync(path.join(src, 'conf', 'model.conf'), 'conf');
  const zipFile = path.join(TMP, 'vosk-model-test.zip');
  execFileSync('python3', ['-c', `import shutil; shutil.make_archive(${JSON.stringify(zipFile.replace(/\.zip$/, ''))}, 'zip', ${JSON.stringify(path.join(TMP, 'zipsrc'))})`]);
  zip = fs.readFileSync(zipFile);
  server = http.createServer((req, res) => {
    if (req.url === '/vosk-model-test.zip') {
      res.writeHead(200, { 'content-length': zip.length });
      res.end(zip);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server?.close());

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return withTimeout(new Promise((resolve) => {
    const p = spawnTracked(process.execPath, [path.join(DIST, 'scripts', 'fetch-models.js'), ...args], { cwd: ROOT });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.once('exit', (code) => resolve({ code, out }));
  }), 60000, `fetch-models ${args.join(' ')} to exit`);
}

test('downloads, verifies and unpacks a model', async () => {
  const dir = path.join(TMP, 'models-ok');
  const sha = createHash('sha256').update(zip).digest('hex');
  const r = await run(['--dir', dir, '--only', 'vosk', '--vosk-url', `${base}/vosk-model-test.zip`, '--vosk-sha256', sha]);
  assert.equal(r.code, 0, r.out);
  assert.ok(fs.existsSync(path.join(dir, 'vosk-model-test', 'am', 'final.mdl')));
  assert.match(r.out, /installed at/);
});

test('a checksum mismatch is refused and nothing is left behind', async () => {
  const dir = path.join(TMP, 'models-bad');
  const r = await run(['--dir', dir, '--only', 'vosk', '--vosk-url', `${base}/vosk-model-test.zip`, '--vosk-sha256', '00'.repeat(32)]);
  assert.equal(r.code, 1);
  assert.match(r.out, /sha256 mismatch/);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('offline: a clear message naming what to download by hand', async () => {
  const port = await freePort(); // nothing listens there
  const r = await run(['--dir', path.join(TMP, 'models-off'), '--only', 'vosk', '--vosk-url', `http://127.0.0.1:${port}/vosk-model-small-en-us-0.15.zip`]);
  assert.equal(r.code, 1);
  assert.match(r.out, new RegExp(`cannot reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)\\. This machine looks offline: download .* on a connected machine`));
});
