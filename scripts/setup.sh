#!/usr/bin/env bash
# Set-up shared by `npm run demo` and `npm test` on a fresh Debian machine:
# Debian packages (installed when we have the rights, else named exactly),
# npm dependencies, libvosk for vosk-koffi, and the TypeScript build.
#   scripts/setup.sh demo   # what the demo needs
#   scripts/setup.sh test   # what the test suite needs (a superset)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-test}

# Runtime: pocketsphinx (default STT) and flite (speaks the demo commands).
pkgs=(pocketsphinx pocketsphinx-en-us libpocketsphinx3 flite python3)
if [ "$what" = test ]; then
  # Tests also use Mosquitto as the external broker, PulseAudio as a virtual microphone, sox, and a C
  # compiler (cc, with libc headers) that builds the fake libvosk of test/fixtures/fake-libvosk.c.
  # Chromium (Debian's, driven by playwright-core) runs the dashboard tests; no browser is downloaded.
  pkgs+=(mosquitto mosquitto-clients pulseaudio pulseaudio-utils libasound2-plugins alsa-utils sox gcc libc6-dev chromium)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then apt=(apt-get); elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then apt=(sudo apt-get); else apt=(); fi
  if [ ${#apt[@]} -eq 0 ]; then
    echo "setup: missing Debian packages; install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${apt[@]}" update -qq
  "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # mosquitto's package starts a system broker on 1883; the tests start their own, and the demo needs 1883 free.
  if [ "$what" = test ] && command -v systemctl >/dev/null && systemctl is-active -q mosquitto 2>/dev/null; then
    "${apt[@]:0:${#apt[@]}-1}" systemctl stop mosquitto || true
  fi
fi

# onnxruntime-node's install script would download CUDA binaries from GitHub (and fail offline); the CPU
# binaries in its npm tarball are all we use. Its script reads this variable (an .npmrc key would make npm
# warn "Unknown project config" on every command).
export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund
fi
bash scripts/install-libvosk.sh
npx tsc -p tsconfig.json
