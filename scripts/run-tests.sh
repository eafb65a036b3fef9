#!/usr/bin/env bash
# Runs the compiled test files (dist/test/, built from test/*.test.ts) in two groups:
#   - test/*.device.test.ts use the PulseAudio virtual sound card (one per user),
#     and the files in ALONE need the machine to themselves (e2e: five
#     satellites and their decoding at once, with latency and STT time limits;
#     demo: a fixed WAV whose next wake word barges in on a reply that a
#     starved hub delivered late; accuracy: four satellites streaming 160
#     utterances at real-time pace into one hub; intents-spoken: the same with
#     88 spoken commands, each decoded by two models; event-loop: it measures how late
#     its own event loop runs, which a starved neighbour would make late too;
#     burst: eight satellite processes speaking at once, with a latency bound;
#     tts-forwarding: it bounds the broker's forwarding latency while Piper
#     keeps a core busy synthesizing; arbitration and arbitration-trials:
#     three and four satellite processes hearing one utterance, whose wake
#     times the arbitration window bounds): one file at a time;
#   - every other file shares no device: TEST_CONCURRENCY files at a time
#     (default 2: the suite's files start real hub and satellite processes,
#     and timing bounds assume they are not starved on a 2-core machine).
# The device group runs first under `flock` on PULSE_TEST_LOCK (default
# /tmp/pulse.lock) when flock exists, so several checkouts on one machine never
# share the sound card at the same time. Only files with a source in test/ run
# (a stale dist/ file of a renamed test is skipped). Exit status 1 if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
node_args=(--expose-gc --test --test-timeout=300000 --test-reporter=tap)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ALONE=(test/e2e.test.ts test/demo.test.ts test/accuracy.test.ts test/intents-spoken.test.ts test/event-loop.test.ts test/burst.test.ts test/tts-forwarding.test.ts test/arbitration.test.ts test/arbitration-trials.test.ts test/timers-ring.test.ts)
device=()
other=()
for src in test/*.test.ts; do
  js="dist/${src%.ts}.js"
  [ -f "$js" ] || { echo "run-tests: $js missing; build first (npx tsc -p tsconfig.json)" >&2; exit 1; }
  if [[ "$src" == *.device.test.ts || " ${ALONE[*]} " == *" $src "* ]]; then device+=("$js"); else other+=("$js"); fi
done
lock=()
if command -v flock >/dev/null; then lock=(flock "${PULSE_TEST_LOCK:-/tmp/pulse.lock}"); fi
status=0
start=$(date +%s)
echo "run-tests: ${#device[@]} device (and ALONE) files one at a time"
# The accuracy suite streams ~4 minutes of speech in real time: this group gets a longer per-file limit.
"${lock[@]}" node "${node_args[@]}" --test-timeout=900000 --test-concurrency=1 "${device[@]}" 2>&1 | tee -a "$log" || status=1
mid=$(date +%s)
echo "run-tests: ${#other[@]} other files, ${TEST_CONCURRENCY:-2} at a time"
node "${node_args[@]}" --test-concurrency="${TEST_CONCURRENCY:-2}" "${other[@]}" 2>&1 | tee -a "$log" || status=1
end=$(date +%s)
echo "run-tests: device files $((mid - start)) s, other files $((end - mid)) s, total $((end - start)) s"
# One closing line for both groups (TAP "# pass N" / "# fail N" / "# skipped N" summed).
sum() { awk -v k="$1" '$1 == "#" && $2 == k { n += $3 } END { print n + 0 }' "$log"; }
echo "tests: $(sum pass) passed, $(sum fail) failed, $(sum skipped) skipped"
[ "$(sum fail)" = 0 ] || status=1
exit $status
