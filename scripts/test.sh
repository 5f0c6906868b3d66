#!/bin/sh
# npm test: type check + compile, then every node:test suite — unit first
# (seconds), then the reliability suites, then integration (real kernel build,
# images, QEMU boots, sshd). One file at a time: the integration suites share
# a content-addressed build cache and the machine's 2 cores.
set -e
cd "$(dirname "$0")/.."
rm -rf dist
npx tsc -p .
files=""
for d in unit reliability integration; do
  [ -d "dist/test/$d" ] && files="$files $(find "dist/test/$d" -name '*.test.js' | sort | tr '\n' ' ')"
done
# Every reliability suite appends one "# figures" line here; printed together at the end.
VRIO_FIGURES_FILE="${VRIO_FIGURES_FILE:-$(mktemp)}"
export VRIO_FIGURES_FILE
: > "$VRIO_FIGURES_FILE"
rc=0
# shellcheck disable=SC2086
node --test --test-concurrency=1 $files || rc=$?
if [ -s "$VRIO_FIGURES_FILE" ]; then
  echo "== reliability figures"
  cat "$VRIO_FIGURES_FILE"
fi
exit $rc
