/** Conversation memory is forgotten after llm.historyIdleMs; the command sink (aplay) plays through PulseAudio. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { CommandSink } from '../satellite/playback/sinks';
import { Collector, jsonOf, spawnTracked, speakSession } from './helpers';
import { startHub } from './hub-helpers';
import { OllamaDouble, tokenize } from './ollama-double';
import { ensureVirtualSpeaker } from './pulse';

before(() => ensureVirtualSpeaker());

test('memory is kept between turns and forgotten after llm.historyIdleMs', async () => {
  const double = await new OllamaDouble().start();
  double.behaviour = { kind: 'stream', tokens: tokenize('Noted.'), delayMs: 5 };
  const hub = await startHub(['--llm-host', double.url, '--llm-history-idle-ms', '1500', '--reply-handled-wait-ms', '0']);
  const col = await Collector.create(hub.brokerUrl, ['voice/satellite/mem/#']);
  try {
    const ask = async (text: string) => {
      const sid = await speakSession(col.client, 'mem', text);
      await col.next((t, p) => t === 'voice/satellite/mem/reply' && jsonOf({ payload: p }).sessionId === sid, 15000);
      return (await double.waitRequests(double.requests.length)).body.messages.length;
    };
    assert.equal(await ask('turn on the radio'), 2);
    assert.equal(await ask('turn off the radio'), 4, 'the first turn is remembered');
    await new Promise((r) => setTimeout(r, 1700));
    assert.equal(await ask('turn on the radio'), 2, 'forgotten after the idle time');
  } finally {
    await col.end();
    await hub.stop();
    await double.stop();
  }
});

test('the command sink plays raw PCM through aplay into PulseAudio', async () => {
  const rec = spawnTracked('parec', ['-d', 'vspk.monitor', '--raw', '--format=s16le', '--rate=16000', '--channels=1']);
  const got: Buffer[] = [];
  rec.stdout.on('data', (d: Buffer) => got.push(d));
  await new Promise((r) => setTimeout(r, 300));
  const sink = new CommandSink('aplay -q -t raw -f S16_LE -c 1 -r {rate}');
  await sink.start(16000);
  const tone = Buffer.alloc(16000 * 2);
  for (let i = 0; i < 16000; i++) tone.writeInt16LE(Math.round(12000 * Math.sin((2 * Math.PI * 440 * i) / 16000)), i * 2);
  sink.write(tone);
  await sink.end();
  await new Promise((r) => setTimeout(r, 300));
  rec.kill();
  const pcm = Buffer.concat(got);
  let loud = 0;
  for (let i = 0; i + 1 < pcm.length; i += 2) if (Math.abs(pcm.readInt16LE(i)) > 4000) loud++;
  assert.ok(loud > 4000, `the tone reached the sink (${loud} loud samples)`);
});
