/**
 * The quick-start demo: starts the hub (embedded broker, default engines)
 * and a demo satellite fed a flite-spoken WAV of "hey jarvis" + commands,
 * and prints the transcripts, intents and replies as a home-automation
 * client sees them. The three commands show the three routes of an
 * understood transcript (docs/intents.md): a device command no automation
 * claims gets the honest unhandled answer, the time is a built-in answer,
 * and a question no intent matches goes to the LLM. The hub reads the
 * example intent file config/intents/examples/home.yaml (device names, rooms).
 * Keeps running (Ctrl-C to stop) so you can connect real satellites, unless --once.
 *
 *   node dist/scripts/demo.js [--port 1883] [--once] [--wav file.wav]
 *        [--ollama http://host:11434] [--model llama3.2] [--speaker]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { readWav, wavFromPcm } from '../common/wav';
import { IdentityStore } from '../hub/security/identities';
import { to16kMono } from '../satellite/audio/wav';

const ROOT = path.resolve(__dirname, '..', '..');
const DEMO_COMMANDS = ['turn off the kitchen light', 'what time is it', 'what is the capital of france'];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function speak(text: string, dir: string): Buffer {
  const f = path.join(dir, 'say.wav');
  try {
    execFileSync('flite', ['-voice', 'slt', '-t', text, '-o', f]);
  } catch {
    console.error('demo: flite is needed to speak the demo commands: apt-get install flite (or pass --wav your.wav)');
    process.exit(1);
  }
  return to16kMono(readWav(f));
}

function demoWav(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'voice-demo-'));
  const silence = (ms: number) => Buffer.alloc(ms * 32);
  const parts: Buffer[] = [silence(1000)];
  for (const c of DEMO_COMMANDS) parts.push(speak('hey jarvis', dir), silence(400), speak(c, dir), silence(3000));
  const file = path.join(dir, 'demo.wav');
  fs.writeFileSync(file, wavFromPcm(Buffer.concat(parts)));
  return file;
}

function start(script: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', script), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return child;
}

/** Reads JSON log lines from a child; prints warnings/errors; resolves on a message. */
function watch(child: ChildProcess, name: string, onLine: (o: Record<string, unknown>) => void): void {
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        if ((o.level as number) >= 40) console.log(`  [${name} ${o.level === 40 ? 'warn' : 'error'}] ${typeof o.code === 'string' ? o.code : ''} ${String(o.msg)}`);
        onLine(o);
      } catch {
        console.log(`  [${name}] ${line}`);
      }
    }
  });
}

async function main(): Promise<void> {
  const port = arg('port') ?? '1883';
  const speaker = process.argv.includes('--speaker');
  const replyDir = path.join(os.tmpdir(), 'voice-demo-replies');
  const once = process.argv.includes('--once');
  const wav = arg('wav') ?? demoWav();
  const expected = arg('wav') ? 1 : DEMO_COMMANDS.length;
  const ollama = arg('ollama');
  // The broker refuses anonymous clients: the demo provisions its own identities, as `voice-hub satellite add` and
  // `voice-hub automation add` would (new secrets each run), in the hub's state directory.
  const stateDir = path.join(ROOT, 'state');
  const store = new IdentityStore(stateDir).open();
  const provision = (name: string, role: 'satellite' | 'automation', room?: string) => {
    if (store.get(name)) store.remove(name);
    return store.add(name, role, { room });
  };
  const satSecret = provision('demo', 'satellite', 'living-room');
  const observerSecret = provision('demo-observer', 'automation');
  const hubArgs = ['--broker-port', port, '--hub-state-dir', stateDir, '--intents-dir', path.join(ROOT, 'config', 'intents', 'examples')];
  if (ollama) hubArgs.push('--llm-host', ollama);
  if (arg('model')) hubArgs.push('--llm-model', arg('model') as string);
  console.log(`demo: starting the hub (embedded MQTT broker on port ${port}, default engines, ${ollama ? `Ollama at ${ollama}` : 'no Ollama host given: replies will be the apology'})...`);
  const hub = start('hub/main.js', hubArgs);
  const procs: { sat?: ChildProcess; stopping?: boolean } = {};
  const stopAll = (code: number) => {
    procs.stopping = true;
    procs.sat?.kill('SIGTERM');
    hub.kill('SIGTERM');
    setTimeout(() => process.exit(code), 1500).unref();
  };
  let dashboard = '';
  const ready = new Promise<number>((resolve) => {
    let brokerPort = Number(port);
    watch(hub, 'hub', (o) => {
      if (o.msg === 'embedded MQTT broker listening') brokerPort = o.port as number;
      if (o.msg === 'HTTP server listening') dashboard = String(o.url);
      if (o.msg === 'hub ready') {
        console.log(`demo: hub ready (engine: ${String(o.engine)})`);
        resolve(brokerPort);
      }
    });
    hub.once('exit', (code) => {
      if (procs.stopping) return;
      console.error(`demo: the hub exited with code ${code}; see the message above`);
      process.exit(code ?? 1);
    });
  });
  const brokerPort = await ready;
  const url = `mqtt://127.0.0.1:${brokerPort}`;
  const client = mqtt.connect(url, { username: 'demo-observer', password: observerSecret });
  await client.subscribeAsync(['voice/satellite/+/transcript/#', 'voice/satellite/+/intent/#', 'voice/satellite/+/wake', 'voice/satellite/+/error', 'voice/satellite/+/reply', 'voice/satellite/+/played'], { qos: 1 });
  let finals = 0;
  let played = 0;
  const finishIfDone = () => {
    if (once && finals >= expected && played >= expected) {
      console.log('demo: done');
      void client.endAsync().then(() => stopAll(0));
    }
  };
  client.on('message', (topic, payload) => {
    const o = JSON.parse(payload.toString()) as Record<string, unknown>;
    const sat = topic.split('/')[2];
    if (topic.endsWith('/wake')) console.log(`[${sat}] wake word "${String(o.wakeWord)}" (score ${Number(o.score).toFixed(2)})`);
    else if (topic.endsWith('/transcript/partial')) console.log(`[${sat}]   partial: ${String(o.text)}`);
    else if (topic.endsWith('/transcript')) {
      const t = o.timings as Record<string, number>;
      console.log(`[${sat}] FINAL (${String(o.room)}): "${String(o.text)}"  (reason ${String(o.reason)}, ${t.audioMs} ms of audio, finalised in ${t.finalizeMs} ms)`);
      finals++;
    } else if (topic.endsWith('/intent')) {
      const slots = Object.values(o.slots as Record<string, { name: string; value: unknown }>).map((s) => `${s.name}=${JSON.stringify(s.value)}`);
      console.log(`[${sat}] INTENT ${String(o.intent)} ${slots.join(' ')} (confidence ${String(o.confidence)})`);
    } else if (topic.endsWith('/intent/none')) {
      console.log(`[${sat}] no intent: "${String(o.text)}" goes to the LLM`);
    } else if (topic.endsWith('/reply')) {
      const t = o.timings as Record<string, number>;
      const first = t.startToFirstAudioMs === undefined ? '' : `  (first audio ${(t.startToFirstAudioMs / 1000).toFixed(1)} s after the transcript)`;
      const text = typeof o.text === 'string' ? o.text : '';
      const error = typeof o.error === 'string' ? o.error : '';
      const said = error ? `${text ? `"${text}" then ` : ''}the apology` : `"${text}"`;
      console.log(`[${sat}] REPLY (${String(o.source)}${error ? `, ${error}` : ''}): ${said}${first}`);
    } else if (topic.endsWith('/played')) {
      const where = speaker ? 'on the speaker' : `-> ${path.join(replyDir, `${String(o.sessionId)}.wav`)}`;
      console.log(`[${sat}] played ${(Number(o.playedMs) / 1000).toFixed(1)} s of reply audio (${String(o.reason)}) ${where}`);
      played++;
      finishIfDone();
    } else if (topic.endsWith('/error')) console.log(`[${sat}] error ${String(o.code)}: ${String(o.message)}`);
  });
  console.log(`demo: starting a satellite "demo" (room "living-room") fed ${wav}`);
  console.log(`demo: watch what an automation may see with: mosquitto_sub -p ${brokerPort} -u demo-observer -P '${observerSecret}' -v -t 'voice/#'`);
  if (dashboard) console.log(`demo: the dashboard (live transcripts, and a Talk button that makes the browser tab a satellite) is at ${dashboard}/ : log in as demo-observer with the secret above`);
  console.log('demo: add your own satellites with: node dist/hub/main.js satellite add <id> --room <room> --hub-state-dir state');
  const satArgs = ['--mqtt-url', url, '--satellite-id', 'demo', '--satellite-room', 'living-room', '--mqtt-username', 'demo', '--mqtt-password', satSecret, '--audio-source', 'wav', '--audio-wav', wav];
  satArgs.push(...(speaker ? ['--playback-sink', 'speaker'] : ['--playback-sink', 'file', '--playback-dir', replyDir]));
  // The demo's own audio file has no answers to give to follow-up questions.
  satArgs.push('--follow-up-listen-ms', '0');
  const sat = start('satellite/main.js', satArgs);
  procs.sat = sat;
  watch(sat, 'satellite', (o) => {
    if (o.msg === 'audio source ended' && !once) console.log('demo: the demo audio is over; the hub keeps running for your satellites (Ctrl-C to stop)');
  });
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));
  if (once) {
    setTimeout(() => {
      console.error(`demo: only ${finals} of ${expected} transcripts after 90 s`);
      stopAll(1);
    }, 90000).unref();
  }
}

void main();
