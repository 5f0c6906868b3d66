#!/bin/sh
# npm test: type check + compile, build the shared image sets (the 6.1 CI
# kernel for the builder tests, the 3.10 vRIO images with and without our
# fixes), then every node:test suite — unit first (seconds), then the
# reliability suites, then integration (real kernel build, images, QEMU boots,
# sshd, the vRIO lab). One file at a time: the integration suites share a
# content-addressed build cache and the machine's 2 cores, and no two QEMU
# suites may run at once. Ends with a timing table per suite and the list of
# skipped tests; under CI=true a skipped test fails the run.
set -e
cd "$(dirname "$0")/.."
rm -rf dist
npx tsc -p .
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Every reliability suite appends one "# figures" line here; printed together at the end.
VRIO_FIGURES_FILE="${VRIO_FIGURES_FILE:-$work/figures}"
export VRIO_FIGURES_FILE
: > "$VRIO_FIGURES_FILE"
rc=0
node dist/test/support/prepare.js "$work/prepare.jsonl" || rc=$?
# One node --test per directory, in this order: node sorts the files it is
# given, which would put integration (alphabetically first) before unit.
if [ "$rc" -eq 0 ]; then
  for d in unit reliability integration; do
    [ -d "dist/test/$d" ] || continue
    # shellcheck disable=SC2046
    node --test --test-concurrency=1 \
      --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=./dist/test/support/summary-reporter.js --test-reporter-destination="$work/summary-$d.json" \
      $(find "dist/test/$d" -name '*.test.js' | sort) || rc=$?
  done
fi
if [ -s "$VRIO_FIGURES_FILE" ]; then
  echo "== reliability figures"
  cat "$VRIO_FIGURES_FILE"
fi
node dist/test/support/print-summary.js "$work/prepare.jsonl" "$work"/summary-*.json || rc=1
exit $rc
