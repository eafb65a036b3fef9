/**
 * systemd integration: the hub sends READY=1, WATCHDOG=1 pings and
 * STOPPING=1 to $NOTIFY_SOCKET (a real unix datagram socket, read by python3),
 * and exits 0 on SIGTERM. The unit files name what the code does.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ROOT, runNode, spawnTracked, TMP } from './helpers';

const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    print(s.recv(4096).decode().replace("\\n", "|"), flush=True)
`;

test('hub notifies READY, WATCHDOG and STOPPING and stops cleanly on SIGTERM', async () => {
  const sock = path.join(TMP, 'notify.sock');
  const py = spawnTracked('python3', ['-c', LISTENER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  const got: string[] = [];
  let resolveLine: (() => void) | null = null;
  py.stdout.on('data', (d: Buffer) => {
    got.push(...d.toString().split('\n').filter(Boolean));
    resolveLine?.();
  });
  const until = async (pred: () => boolean, ms: number, what: string) => {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(got)}`);
      await new Promise<void>((r) => {
        resolveLine = r;
        setTimeout(r, 100);
      });
    }
  };
  try {
    await until(() => got.includes('listening'), 5000, 'listener');
    const hub = runNode('hub/main.js', ['--broker-port', '0', '--stt-workers', '1'], { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '1000000' });
    await until(() => got.some((l) => l.startsWith('READY=1')), 20000, 'READY=1');
    await until(() => got.includes('WATCHDOG=1'), 3000, 'WATCHDOG=1');
    hub.child.kill('SIGTERM');
    assert.equal(await hub.waitExit(), 0);
    await until(() => got.includes('STOPPING=1'), 3000, 'STOPPING=1');
    assert.ok(got.find((l) => l.startsWith('READY=1'))?.includes(`MAINPID=${hub.child.pid}`));
  } finally {
    py.kill();
  }
});

test('unit files: Type=notify, watchdog, restart policy, exit 78 not restarted, dist/ entry points', () => {
  for (const [unit, entry] of [['voice-hub.service', 'dist/hub/main.js'], ['voice-satellite.service', 'dist/satellite/main.js']] as const) {
    const text = fs.readFileSync(path.join(ROOT, 'systemd', unit), 'utf8');
    for (const line of ['Type=notify', 'Restart=on-failure', 'RestartPreventExitStatus=78', 'KillSignal=SIGTERM']) assert.ok(text.includes(line), `${unit}: ${line}`);
    assert.match(text, /^WatchdogSec=\d+/m);
    assert.match(text, new RegExp(`ExecStart=.*node .*${entry.replace(/[/.]/g, '\\$&')} --config /etc/voice-hub/`));
    assert.ok(fs.existsSync(path.join(ROOT, entry.replace('dist/', '').replace('.js', '.ts'))), `${entry} is built from source`);
  }
});
