#!/bin/sh
# Runs bench/checkers-vm.ts inside the IPVS VM (this host's kernel has no IPVS;
# ../shared/tools/ipvs-vm/README.md): time from a real server's death to its
# removal from the kernel's IPVS table, keepalived 2.2.7 versus hacheck.
# Usage: scripts/bench-checkers-vm.sh [--servers 20] [--deaths 10] [--rounds 2] [--settle 2] [--only keepalived|hacheck]
# The VM is software-emulated: compare the ratio, not absolute times. Run it
# alone if you can: timing runs in parallel slow each other down.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
VM="$ROOT/../shared/tools/ipvs-vm/ipvs-vm.sh"
if [ ! -x "$VM" ]; then
  echo "SKIP: bench-checkers-vm not run: IPVS VM tool not found at $VM" >&2
  exit 0
fi
cd "$ROOT"
npx tsc -p tsconfig.json >/dev/null 2>&1 || echo "note: tsc reported errors; running with what it emitted" >&2
exec "$VM" --timeout "${BENCH_TIMEOUT:-1800}" -- node "$ROOT/dist/bench/checkers-vm.js" "$@"
