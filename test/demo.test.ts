/** The README's demo command works end to end: transcripts, replies from an Ollama (test double), played audio. */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { DIST, ROOT, spawnTracked, withTimeout } from './helpers';
import { OllamaDouble, tokenize } from './ollama-double';

let double: OllamaDouble;
before(async () => {
  double = await new OllamaDouble().start();
  double.behaviour = { kind: 'stream', tokens: tokenize('Done. Anything else I can do?'), delayMs: 20 };
});
after(() => double?.stop());

test('npm run demo (--once): three transcripts, three spoken replies', async () => {
  const p = spawnTracked(process.execPath, [path.join(DIST, 'scripts', 'demo.js'), '--once', '--port', '0', '--ollama', double.url], { cwd: ROOT });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await withTimeout(new Promise<number | null>((resolve) => p.once('exit', resolve)), 180000, 'the demo to exit');
  assert.equal(code, 0, out);
  assert.equal(out.match(/FINAL \(living-room\)/g)?.length, 3, out);
  assert.equal(out.match(/REPLY \(llm\): "Done\. Anything else I can do\?"/g)?.length, 3, out);
  assert.equal(out.match(/played \d+\.\d s of reply audio \(done\)/g)?.length, 3, out);
  assert.match(out, /demo: done/);
  assert.equal(double.requests.length, 3);
});
