#!/bin/sh
# Runs bench/ipvs.ts inside the IPVS VM (this host's kernel has no IPVS;
# ../shared/tools/ipvs-vm/README.md). Usage: scripts/bench-ipvs.sh [--runs N] [--per-entry N]
# Run it alone: the VM is software-emulated and timing runs in parallel slow each other down.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
VM="$ROOT/../shared/tools/ipvs-vm/ipvs-vm.sh"
if [ ! -x "$VM" ]; then
  echo "SKIP: bench:ipvs not run: IPVS VM tool not found at $VM" >&2
  exit 0
fi
cd "$ROOT"
npx tsc -p tsconfig.json >/dev/null 2>&1 || echo "note: tsc reported errors; running with what it emitted" >&2
exec "$VM" --timeout 1800 -- node "$ROOT/dist/bench/ipvs.js" "$@"
