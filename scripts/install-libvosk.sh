#!/usr/bin/env bash
# Installs libvosk.so for vosk-koffi on linux x86_64 from the npm registry.
# vosk-koffi's own postinstall downloads the library from GitHub, which
# fails offline (and exits 0 anyway). The `vosk` npm package (0.3.39) ships
# a working linux-x86_64 libvosk.so; we copy it where vosk-koffi looks.
# On other platforms (e.g. an arm64 Pi) build or obtain libvosk.so and set
# stt.vosk.library to its path.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=$(node -p 'process.platform + "-" + process.arch')
dest="node_modules/vosk-koffi/bin-${arch}"
if [ -f "$dest/libvosk.so" ]; then echo "libvosk already installed at $dest/libvosk.so"; exit 0; fi
if [ "$arch" != "linux-x64" ]; then
  echo "install-libvosk: no prebuilt libvosk for $arch on npm; set stt.vosk.library to your libvosk.so" >&2
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent vosk@0.3.39 >/dev/null)
tar -xzf "$tmp"/vosk-0.3.39.tgz -C "$tmp" package/lib/linux-x86_64/libvosk.so
mkdir -p "$dest"
cp "$tmp/package/lib/linux-x86_64/libvosk.so" "$dest/libvosk.so"
echo "installed libvosk.so to $dest"
