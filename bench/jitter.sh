#!/usr/bin/env bash
# bench/jitter: how evenly a MASTER's adverts leave while the same process runs TCP health
# checks (issue 3.8: Node's event loop must not make the master late).
#
# In the failover lab's namespaces (../shared/tools/failover-lab/lab.sh, LAB_PREFIX=hcj): n1
# runs the daemon as the only router (MASTER, VRRPv3 advert_int 0.1 by default) with, for a
# load of L checks/s, L real servers (127.0.0.1, one port each, TCP_CHECK, delay_loop 1) spread
# over virtual servers, all answered by a small listener inside n1. mon captures the adverts
# with tcpdump; the table gives the interval between consecutive adverts on the wire (p50, p90,
# p99, max; the nominal interval is advert_int) and the checks the listener really saw per
# second, and the daemon's CPU time. Without IPVS in the kernel hacheck runs the checkers and
# only logs the IPVS changes (dry run). keepalived's checker process needs IPVS: on a kernel
# without it ("IPVS: Can't initialize ipvs") keepalived stops altogether, so its loaded row is
# empty there; its VRRP runs in a process of its own anyway, apart from the checkers.
#
#   bash bench/jitter.sh [--impls hacheck,keepalived] [--loads 0,1000] [--duration 30]
#                        [--advert-int 0.1] [--vrrp-version 3] [--hacheck-bin PATH] [--out DIR]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
LAB=${FAILOVER_LAB:-$ROOT/../shared/tools/failover-lab}
IMPLS=hacheck,keepalived LOADS=0,1000 DURATION=30 ADV=0.1 VER=3 HBIN=$ROOT/bin/hacheck.js OUT=''
while (($#)); do
  case $1 in
    --impls) IMPLS=$2; shift 2 ;;
    --loads) LOADS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --advert-int) ADV=$2; shift 2 ;;
    --vrrp-version) VER=$2; shift 2 ;;
    --hacheck-bin) HBIN=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -x $LAB/lab.sh ]] || { echo "SKIP: failover lab not found at $LAB" >&2; exit 0; }
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (network namespaces)" >&2; exit 0; }
command -v tcpdump >/dev/null || { echo "SKIP: tcpdump not installed" >&2; exit 0; }

export LAB_PREFIX=hcj
N1=${LAB_PREFIX}n1 MON=${LAB_PREFIX}mon
VIP=10.77.0.50 SRC=10.77.0.11 BASE_PORT=20000
OUT=${OUT:-$ROOT/bench/results/jitter-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
"$LAB/lab.sh" up >"$OUT/lab.log" 2>&1 || { echo "lab.sh up failed (see $OUT/lab.log)" >&2; exit 1; }
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.5
  "$LAB/lab.sh" down >>"$OUT/lab.log" 2>&1
}
trap cleanup EXIT

# The listener: accepts and closes on every port, and writes "epoch_s accepted_total" each second.
LISTENER='
const net = require("node:net"); const fs = require("node:fs");
const [base, n, file] = [Number(process.argv[1]), Number(process.argv[2]), process.argv[3]];
let accepted = 0;
for (let p = base; p < base + n; p++) {
  net.createServer((s) => { accepted++; s.on("error", () => {}); s.end(); }).on("error", (e) => console.error(e.message)).listen(p, "127.0.0.1");
}
setInterval(() => fs.appendFileSync(file, `${Date.now() / 1000} ${accepted}\n`), 1000);
'

config() { # config LOAD
  local load=$1
  cat <<EOF
global_defs {
    router_id n1
    vrrp_version $VER
}

vrrp_instance VI_1 {
    state MASTER
    interface lab0
    virtual_router_id 51
    priority 150
    advert_int $ADV
    virtual_ipaddress {
        $VIP/24 dev lab0
    }
}
EOF
  local per=100 vs=0 i=0
  while ((i < load)); do
    echo "virtual_server 10.77.0.60 $((8000 + vs)) {"
    echo "    delay_loop 1"
    echo "    lb_algo rr"
    echo "    lb_kind NAT"
    echo "    protocol TCP"
    local j=0
    while ((j < per && i < load)); do
      echo "    real_server 127.0.0.1 $((BASE_PORT + i)) {"
      echo "        TCP_CHECK {"
      echo "            connect_timeout 1"
      echo "        }"
      echo "    }"
      ((j++, i++))
    done
    echo "}"
    ((vs++))
  done
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

one() { # one IMPL LOAD
  local impl=$1 load=$2 d=$OUT/$1-$2
  mkdir -p "$d"
  config "$load" >"$d/n1.conf"
  local lpid=''
  if ((load > 0)); then
    ip netns exec "$N1" node -e "$LISTENER" "$BASE_PORT" "$load" "$d/accepted.log" >"$d/listener.log" 2>&1 &
    lpid=$!; PIDS+=("$lpid")
  fi
  ip netns exec "$N1" ip addr del "$VIP/24" dev lab0 2>/dev/null
  if [[ $impl == keepalived ]]; then
    ip netns exec "$N1" setsid bash -c "exec keepalived -n -l -D -f $d/n1.conf -p $d/ka.pid -r $d/vrrp.pid -c $d/checkers.pid" >"$d/daemon.log" 2>&1 &
  else
    ip netns exec "$N1" setsid bash -c "exec node $HBIN -n -f $d/n1.conf -p $d/hc.pid" >"$d/daemon.log" 2>&1 &
  fi
  local dpid=$!; PIDS+=("$dpid")
  local t=0
  until ip -n "$N1" -o addr show dev lab0 | grep -q " $VIP/"; do
    sleep 0.1; ((t++))
    if ((t > 200)); then echo "$impl load $load: no VIP after 20 s (see $d/daemon.log)" >&2; kill -TERM -- "-$dpid" 2>/dev/null; return 1; fi
  done
  sleep 3 # checkers up to speed
  # keepalived forks a VRRP child: the CPU time is that of the whole process group.
  local pids; pids=$(pgrep -g "$dpid" | tr '\n' ' ')
  local c0=0; for p in $pids; do c0=$((c0 + $(cpu_ticks "$p"))); done
  local t0; t0=$(date +%s.%N)
  timeout "$DURATION" ip netns exec "$MON" tcpdump -i lab0 -n -tt -l -Z root "vrrp and src $SRC" >"$d/capture.txt" 2>"$d/tcpdump.log"
  local t1; t1=$(date +%s.%N)
  local c1=0; for p in $pids; do c1=$((c1 + $(cpu_ticks "$p"))); done
  kill -TERM "$dpid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$dpid" 2>/dev/null
  [[ -n $lpid ]] && kill "$lpid" 2>/dev/null
  echo "$t0 $t1 $c0 $c1 $(getconf CLK_TCK)" >"$d/window"
}

for impl in ${IMPLS//,/ }; do
  for load in ${LOADS//,/ }; do
    one "$impl" "$load"
  done
done

python3 - "$OUT" "$ADV" "$IMPLS" "$LOADS" <<'EOF' | tee "$OUT/summary.md"
import os, statistics, sys
out, adv, impls, loads = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(','), sys.argv[4].split(',')
def pct(v, q):
    v = sorted(v); k = (len(v) - 1) * q; f = int(k); c = min(f + 1, len(v) - 1)
    return v[f] + (v[c] - v[f]) * (k - f)
print(f'advert interval on the wire, ms (nominal {adv * 1000:g}); capture in mon, tcpdump -tt')
print()
print('| daemon | checks/s configured | checks/s seen | adverts | p50 | p90 | p99 | max | min | p99 - nominal | CPU % |')
print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
for impl in impls:
    for load in loads:
        d = f'{out}/{impl}-{load}'
        if not os.path.exists(f'{d}/capture.txt'):
            print(f'| {impl} | {load} | run failed | | | | | | | | |'); continue
        ts = [float(l.split()[0]) for l in open(f'{d}/capture.txt') if 'VRRP' in l]
        iv = [(b - a) * 1000 for a, b in zip(ts, ts[1:])]
        t0, t1, c0, c1, hz = map(float, open(f'{d}/window').read().split())
        seen = 'n/a'
        if os.path.exists(f'{d}/accepted.log'):
            rows = [tuple(map(float, l.split())) for l in open(f'{d}/accepted.log') if l.strip()]
            win = [r for r in rows if t0 <= r[0] <= t1]
            if len(win) >= 2:
                seen = f'{(win[-1][1] - win[0][1]) / (win[-1][0] - win[0][0]):.0f}'
        cpu = (c1 - c0) / hz / (t1 - t0) * 100 if t1 > t0 else 0
        if len(iv) < 2:
            print(f'| {impl} | {load} | {seen} | {len(ts)}: no adverts (daemon exited? see {impl}-{load}/daemon.log) | | | | | | | {cpu:.1f} |'); continue
        p = lambda q: f'{pct(iv, q):.2f}'
        print(f'| {impl} | {load} | {seen} | {len(ts)} | {p(.5)} | {p(.9)} | {p(.99)} | {max(iv):.2f} | {min(iv):.2f} | {pct(iv, .99) - adv * 1000:+.2f} | {cpu:.1f} |')
EOF
echo "results: $OUT"
