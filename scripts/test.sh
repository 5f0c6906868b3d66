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
# shellcheck disable=SC2086
exec node --test --test-concurrency=1 $files
