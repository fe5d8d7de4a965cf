#!/usr/bin/env bash
# bench/failover: VRRP failover of hacheck against keepalived 2.2.7 in the namespace lab of
# ../shared/tools/failover-lab (same configs, same capture, same analysis for both).
# For each case (VRRPv2 at advert_int 1 and VRRPv3 at 0.1 s): N runs of SIGKILL and SIGTERM of
# the master, keepalived then hacheck, then one side-by-side table per case (median, min..max)
# with analyze.py compare, and the hacheck/keepalived ratio of the medians.
#
#   bash bench/failover.sh [--runs N] [--cases v2,v3] [--impls keepalived,hacheck]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
LAB=${FAILOVER_LAB:-$ROOT/../shared/tools/failover-lab}
RUNS=10 CASES=v2,v3 IMPLS=keepalived,hacheck
while (($#)); do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --cases) CASES=$2; shift 2 ;;
    --impls) IMPLS=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -x $LAB/failover.sh ]] || { echo "SKIP: failover lab not found at $LAB" >&2; exit 0; }
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (network namespaces)" >&2; exit 0; }
[[ -f $ROOT/dist/src/cli/main.js ]] || (cd "$ROOT" && npm run build >/dev/null)

OUT=$ROOT/bench/results/failover-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
HCMD="node $ROOT/bin/hacheck.js -n -f {conf} -p {pid} --status-socket {dir}/status.sock"
export LAB_PREFIX=hcb

for c in ${CASES//,/ }; do
  case $c in
    v2) args=(--vrrp-version 2 --advert-int 1) ;;
    v3) args=(--vrrp-version 3 --advert-int 0.1) ;;
    *) echo "unknown case $c" >&2; exit 2 ;;
  esac
  dirs=()
  for impl in ${IMPLS//,/ }; do
    d=$OUT/$impl-$c
    if [[ $impl == keepalived ]]; then
      "$LAB/failover.sh" --impl keepalived --runs "$RUNS" --scenarios kill,term "${args[@]}" --out "$d" >"$d.log" 2>&1
    else
      "$LAB/failover.sh" --impl hacheck --impl-cmd "$HCMD" --runs "$RUNS" --scenarios kill,term "${args[@]}" --out "$d" >"$d.log" 2>&1
    fi
    dirs+=("$d")
  done
  echo "## $c (${args[*]}), $RUNS runs per scenario"
  python3 "$LAB/analyze.py" compare "${dirs[@]}" | tee "$OUT/compare-$c.md"
  echo
done
echo "results: $OUT"
