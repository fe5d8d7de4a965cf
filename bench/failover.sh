#!/usr/bin/env bash
# bench/failover: VRRP failover of hacheck against keepalived 2.2.7 in the namespace lab of
# ../shared/tools/failover-lab (same configs, same capture, same analysis for both).
# For each case (VRRPv2 at advert_int 1, VRRPv3 at 0.1 s): N runs of SIGKILL and SIGTERM of
# the master, keepalived then hacheck; then per case the lab's side-by-side table
# (analyze.py compare) and a failover table: for SIGKILL and SIGTERM, the backup's first
# advert, first GARP and VIP present, with the RFC value, each side's median (min .. max),
# the ratio hacheck/keepalived of the medians, and hacheck's median minus the RFC value.
#
#   bash bench/failover.sh [--runs N] [--cases v2,v3] [--impls keepalived,hacheck]
#                          [--hacheck-bin PATH] [--keepalived-from DIR] [--out DIR]
#
#   --hacheck-bin      hacheck entry point (default bin/hacheck.js of this tree); a snapshot
#                      elsewhere keeps a long bench safe from rebuilds of dist/
#   --keepalived-from  reuse keepalived results of an earlier bench (DIR/keepalived-<case>)
#   --report DIR       only print the tables of an earlier bench
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
LAB=${FAILOVER_LAB:-$ROOT/../shared/tools/failover-lab}
RUNS=10 CASES=v2,v3 IMPLS=keepalived,hacheck HBIN=$ROOT/bin/hacheck.js KA_FROM='' OUT='' REPORT=''
while (($#)); do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --cases) CASES=$2; shift 2 ;;
    --impls) IMPLS=$2; shift 2 ;;
    --hacheck-bin) HBIN=$2; shift 2 ;;
    --keepalived-from) KA_FROM=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --report) REPORT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

# The failover table of one case from the result.json files of both sides.
report() { # report KA_DIR HC_DIR CASE
  python3 - "$@" <<'EOF'
import glob, json, statistics, sys
ka, hc, case = sys.argv[1:4]
ver, adv = (2, 1.0) if case == 'v2' else (3, 0.1)
prio = 100  # the backup (n2)
# RFC 3768 §6.1 / RFC 5798 §6.1 (v3 scales Skew_Time with Master_Adver_Interval)
skew = (256 - prio) / 256 * (1000 if ver == 2 else adv * 1000)
mdi = 3 * adv * 1000 + skew

def runs(d, scen):
    out = []
    for f in sorted(glob.glob(f'{d}/{scen}-*/result.json')):
        r = json.load(open(f))
        if r.get('meta', {}).get('status') == 'ok':
            out.append(r['failover'])
    return out

def col(rs, key):
    if callable(key):
        v = [key(r) for r in rs]
    else:
        v = [r.get(key) for r in rs]
    return [x for x in v if isinstance(x, (int, float))]

def cell(v):
    if not v:
        return 'n/a', None
    m = statistics.median(v)
    return f'{m:.1f} ({min(v):.1f} .. {max(v):.1f}), {len(v)}', m

gap = lambda a, b: (lambda r: None if r.get(a) is None or r.get(b) is None else r[a] - r[b])
rows = {
    'kill': [
        ('SIGKILL -> first advert', 'kill_to_n2_advert_ms', f'{mdi - adv*1000:.1f} .. {mdi:.1f}', None),
        ('SIGKILL -> first GARP', 'kill_to_n2_garp_ms', f'{mdi - adv*1000:.1f} .. {mdi:.1f}', None),
        ('SIGKILL -> VIP present', 'kill_to_n2_vip_ms', f'{mdi - adv*1000:.1f} .. {mdi:.1f}', None),
        ('last master advert -> first advert', 'n1_last_advert_to_n2_advert_ms', f'{mdi:.1f}', mdi),
        ('first advert -> first GARP', gap('kill_to_n2_garp_ms', 'kill_to_n2_advert_ms'), '0', 0.0),
    ],
    'term': [
        ('SIGTERM -> first advert', 'kill_to_n2_advert_ms', f'{skew:.1f} + prio-0 latency', None),
        ('SIGTERM -> first GARP', 'kill_to_n2_garp_ms', f'{skew:.1f} + prio-0 latency', None),
        ('SIGTERM -> VIP present', 'kill_to_n2_vip_ms', f'{skew:.1f} + prio-0 latency', None),
        ('SIGTERM -> priority-0 advert', 'kill_to_n1_prio0_advert_ms', '0', 0.0),
        ('priority-0 advert -> first advert', 'n1_prio0_advert_to_n2_advert_ms', f'{skew:.1f}', skew),
        ('first advert -> first GARP', gap('kill_to_n2_garp_ms', 'kill_to_n2_advert_ms'), '0', 0.0),
    ],
}
print(f'### {case}: VRRPv{ver}, advert_int {adv:g} s, backup priority {prio}: '
      f'Master_Down_Interval {mdi:.3f} ms, Skew_Time {skew:.3f} ms')
print()
print('| figure, ms | RFC | keepalived median (min .. max), n | hacheck median (min .. max), n | ratio h/k | hacheck - RFC |')
print('|---|---:|---:|---:|---:|---:|')
for scen, lst in rows.items():
    K, H = runs(ka, scen), runs(hc, scen)
    for label, key, rfc, rfcv in lst:
        kc, km = cell(col(K, key))
        hc_, hm = cell(col(H, key))
        ratio = f'{hm / km:.3f}' if km and hm is not None else 'n/a'
        delta = f'{hm - rfcv:+.1f}' if hm is not None and rfcv is not None else ''
        print(f'| {label} | {rfc} | {kc} | {hc_} | {ratio} | {delta} |')
print()
EOF
}

if [[ -n $REPORT ]]; then
  for c in ${CASES//,/ }; do
    [[ -d $REPORT/hacheck-$c ]] || continue
    report "${KA_FROM:-$REPORT}/keepalived-$c" "$REPORT/hacheck-$c" "$c"
  done
  exit 0
fi

[[ -x $LAB/failover.sh ]] || { echo "SKIP: failover lab not found at $LAB" >&2; exit 0; }
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (network namespaces)" >&2; exit 0; }
[[ -f $ROOT/dist/src/cli/main.js ]] || (cd "$ROOT" && npm run build >/dev/null)

OUT=${OUT:-$ROOT/bench/results/failover-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
HCMD="node $HBIN -n -f {conf} -p {pid} --status-socket {dir}/status.sock"
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
    if [[ $impl == keepalived && -n $KA_FROM ]]; then
      d=$KA_FROM/keepalived-$c
    elif [[ $impl == keepalived ]]; then
      "$LAB/failover.sh" --impl keepalived --runs "$RUNS" --scenarios kill,term "${args[@]}" --out "$d" >"$d.log" 2>&1
    else
      "$LAB/failover.sh" --impl hacheck --impl-cmd "$HCMD" --runs "$RUNS" --scenarios kill,term "${args[@]}" --out "$d" >"$d.log" 2>&1
    fi
    dirs+=("$d")
  done
  echo "## $c (${args[*]}), $RUNS runs per scenario"
  python3 "$LAB/analyze.py" compare "${dirs[@]}" | tee "$OUT/compare-$c.md"
  echo
  if [[ ${#dirs[@]} == 2 ]]; then
    report "${dirs[0]}" "${dirs[1]}" "$c" | tee "$OUT/failover-$c.md"
  fi
done
echo "results: $OUT"
