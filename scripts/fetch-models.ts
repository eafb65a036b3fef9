/**
 * Fetches a Vosk model (small en-us) and a Piper voice into models/ on a
 * machine with internet access, with progress and pinned checksums. Offline,
 * it fails with a clear message saying what to download by hand.
 *
 *   node dist/scripts/fetch-models.js [--dir models] [--only vosk|piper]
 *        [--vosk-url URL --vosk-sha256 HEX] [--piper-url URL --piper-md5 HEX --piper-config-url URL --piper-config-md5 HEX]
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

interface Item {
  name: string;
  url: string;
  algo: 'sha256' | 'md5';
  digest: string;
  file: string;
  unzip?: boolean;
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// Digests: Vosk's published sha256 of the zip; Piper's voices.json md5 digests.
const VOSK = {
  url: 'https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip',
  sha256: '30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498',
};
const PIPER_BASE = 'https://huggingface.co/rhasspy/piper-voices/resolve/v1.0.0/en/en_US/lessac/medium/en_US-lessac-medium';
const PIPER = {
  url: `${PIPER_BASE}.onnx`,
  md5: '2fc642b535197b6305c7c8f92dc8b24f',
  configUrl: `${PIPER_BASE}.onnx.json`,
  configMd5: 'c1f2b7bddefe113f3255ff9ef234cfd3',
};

export class FetchError extends Error {}

async function download(item: Item, dir: string): Promise<string> {
  const dest = path.join(dir, item.file);
  const part = `${dest}.part`;
  let res: Response;
  try {
    res = await fetch(item.url, { redirect: 'follow' });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new FetchError(`cannot reach ${new URL(item.url).host} (${cause}). This machine looks offline: download ${item.url} on a connected machine and copy it to ${dest}${item.unzip ? ' (then unzip it there)' : ''}.`);
  }
  if (!res.ok || !res.body) throw new FetchError(`${item.url} answered HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length') ?? 0);
  const hash = createHash(item.algo);
  const out = fs.createWriteStream(part);
  let got = 0;
  let lastPrint = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    got += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    if (Date.now() - lastPrint > 500) {
      lastPrint = Date.now();
      const pct = total ? ` ${((got / total) * 100).toFixed(0)} %` : '';
      process.stderr.write(`\r  ${item.name}: ${(got / 1e6).toFixed(1)} MB${pct}   `);
    }
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  process.stderr.write(`\r  ${item.name}: ${(got / 1e6).toFixed(1)} MB done      \n`);
  const digest = hash.digest('hex');
  if (digest !== item.digest.toLowerCase()) {
    fs.rmSync(part, { force: true });
    throw new FetchError(`${item.name}: ${item.algo} mismatch (got ${digest}, expected ${item.digest}); the download is corrupt or the file changed upstream`);
  }
  fs.renameSync(part, dest);
  return dest;
}

export async function fetchModels(opts: { dir: string; only?: string }): Promise<string[]> {
  const items: Item[] = [];
  if (!opts.only || opts.only === 'vosk') {
    const url = flag('vosk-url') ?? VOSK.url;
    items.push({ name: 'Vosk model', url, algo: 'sha256', digest: flag('vosk-sha256') ?? VOSK.sha256, file: path.basename(new URL(url).pathname), unzip: true });
  }
  if (!opts.only || opts.only === 'piper') {
    const url = flag('piper-url') ?? PIPER.url;
    const curl = flag('piper-config-url') ?? PIPER.configUrl;
    items.push({ name: 'Piper voice', url, algo: 'md5', digest: flag('piper-md5') ?? PIPER.md5, file: path.basename(new URL(url).pathname) });
    items.push({ name: 'Piper voice config', url: curl, algo: 'md5', digest: flag('piper-config-md5') ?? PIPER.configMd5, file: path.basename(new URL(curl).pathname) });
  }
  fs.mkdirSync(opts.dir, { recursive: true });
  const done: string[] = [];
  for (const item of items) {
    const dest = path.join(opts.dir, item.file);
    const unpacked = item.unzip ? dest.replace(/\.zip$/, '') : dest;
    if (fs.existsSync(unpacked)) {
      console.log(`${item.name}: already present at ${unpacked}`);
      done.push(unpacked);
      continue;
    }
    console.log(`${item.name}: fetching ${item.url}`);
    const file = await download(item, opts.dir);
    if (item.unzip) {
      // python3's zipfile: present on Raspberry Pi OS and Debian, no extra package.
      execFileSync('python3', ['-m', 'zipfile', '-e', file, opts.dir], { stdio: 'inherit' });
      fs.rmSync(file);
    }
    console.log(`${item.name}: installed at ${unpacked}`);
    done.push(unpacked);
  }
  return done;
}

if (require.main === module) {
  const dir = path.resolve(flag('dir') ?? path.join(__dirname, '..', '..', 'models'));
  fetchModels({ dir, only: flag('only') }).then(
    () => console.log('models ready'),
    (err: unknown) => {
      console.error(`fetch-models: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
