#!/bin/sh
# Runs the real-kernel IPVS tests (test/kernel/*.kernel.ts) inside the IPVS
# VM, because this host's kernel has no IPVS (../shared/tools/ipvs-vm/README.md).
# Usage: scripts/test-kernel.sh [extra mocha args]
# Output: mocha's report on stdout; timings in dist/kernel-out/.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
VM="$ROOT/../shared/tools/ipvs-vm/ipvs-vm.sh"
if [ ! -x "$VM" ]; then
  echo "SKIP: kernel tests not run: IPVS VM tool not found at $VM" >&2
  exit 0
fi

cd "$ROOT"
# tsc still emits when other parts of the tree have type errors.
npx tsc -p tsconfig.json >/dev/null 2>&1 || echo "note: tsc reported errors; running with what it emitted" >&2

OUT="$ROOT/dist/kernel-out"
mkdir -p "$OUT"
# The VM is software-emulated (about 30x slower process start), hence the
# generous mocha timeout (ms). ipvs-vm.sh exports this environment inside.
HACHECK_KERNEL_OUT="$OUT"
export HACHECK_KERNEL_OUT
exec "$VM" --rw "$OUT" --timeout 600 -- \
  node "$ROOT/node_modules/mocha/bin/mocha.js" --no-config --timeout 300000 --reporter spec "$@" \
  "dist/test/kernel/*.kernel.js"
