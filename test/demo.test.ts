/**
 * The README's demo command works end to end: transcripts, intents, replies
 * by each route (an unclaimed device command's honest answer, the built-in
 * time, the LLM (a test double) for a question no intent matches), played audio.
 */
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { DIST, ROOT, spawnTracked, withTimeout } from './helpers';
import { OllamaDouble, tokenize } from './ollama-double';

const lan = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

/** `mosquitto_sub -h <LAN address or loopback> -p <port> -t 'voice/#'` with no credentials: its exit code and output. */
function anonymousSub(port: string): Promise<{ code: number | null; text: string }> {
  const sub = spawnTracked('mosquitto_sub', ['-h', lan ?? '127.0.0.1', '-p', port, '-t', 'voice/#', '-C', '1', '-W', '5'], {});
  let text = '';
  sub.stdout.on('data', (d: Buffer) => (text += d.toString()));
  sub.stderr.on('data', (d: Buffer) => (text += d.toString()));
  return new Promise((resolve) => sub.once('exit', (code) => resolve({ code, text })));
}

let double: OllamaDouble;
before(async () => {
  double = await new OllamaDouble().start();
  double.behaviour = { kind: 'stream', tokens: tokenize('Paris is the capital of France. Anything else?'), delayMs: 20 };
});
after(() => double?.stop());

test('npm run demo (--once): three transcripts, their intents, three spoken replies by three routes', async () => {
  const p = spawnTracked(process.execPath, [path.join(DIST, 'scripts', 'demo.js'), '--once', '--port', '0', '--ollama', double.url], { cwd: ROOT });
  let out = '';
  // While it runs: mosquitto_sub without credentials, from the machine's LAN address, is refused (issue 9's bar).
  let probe: Promise<{ code: number | null; text: string }> | undefined;
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const port = /mosquitto_sub -p (\d+)/.exec(out)?.[1];
    if (port && !probe) probe = anonymousSub(port);
  });
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await withTimeout(new Promise<number | null>((resolve) => p.once('exit', resolve)), 180000, 'the demo to exit');
  assert.equal(code, 0, out);
  assert.equal(out.match(/FINAL \(living-room\)/g)?.length, 3, out);
  assert.match(out, /INTENT HassTurnOff name="light\.kitchen" domain="any" \(confidence 1\)/);
  assert.match(out, /REPLY \(intent\): "Nothing is set up to switch that off yet\."/);
  assert.match(out, /INTENT HassGetCurrentTime +\(confidence 1\)/);
  assert.match(out, /REPLY \(intent\): "It is \d{1,2}:\d\d [AP]M\."/);
  assert.match(out, /no intent: "[^"]+" goes to the LLM/);
  assert.equal(out.match(/REPLY \(llm\): "Paris is the capital of France\. Anything else\?"/g)?.length, 1, out);
  assert.equal(out.match(/played \d+\.\d s of reply audio \(done\)/g)?.length, 3, out);
  assert.match(out, /demo: done/);
  assert.ok(probe, 'the demo printed its broker port');
  const r = await probe;
  assert.notEqual(r.code, 0, r.text);
  assert.match(r.text, /not authori[sz]ed/i);
  assert.equal(double.requests.length, 1, 'only the question no intent matched went to the LLM');
});
