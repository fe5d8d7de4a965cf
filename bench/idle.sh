#!/usr/bin/env bash
# bench/idle: resident memory and CPU of an idle hacheck beside keepalived 2.2.7 on the same
# configuration: 100 vrrp_instances (MASTER, advert_int 1, one VIP each, VRIDs 1..100 spread
# over 10 veth interfaces) and 1,000 real servers under TCP_CHECK (10 virtual servers × 100,
# delay_loop 6 s = keepalived's default, connect_timeout 3), all listening in the namespace so
# every check succeeds.
#
# keepalived's checker process exits at start when the kernel has no IPVS ("IPVS: Can't
# initialize ipvs ... exited with permanent error FATAL"), and this host has none, so by
# default the script re-runs itself inside the IPVS VM (../shared/tools/ipvs-vm). The VM is
# software-emulated (TCG, ~30× slower CPU): absolute CPU figures there are inflated for both
# daemons alike; compare the ratio. Memory is not affected by the emulation.
#
# Per daemon: start it in a fresh namespace, wait until the 100 VIPs and the 1,000 real servers
# are in place, warm up, then over the window sample RSS and PSS every 5 s (keepalived: the sum
# over its 3 processes, parent + VRRP child + checker child; hacheck: its one process) and take
# utime+stime from /proc/PID/stat at both ends.
#
# --vrrp-only: the 100 instances without any virtual_server, run on this host (no VM, so the
# CPU figures are real), both daemons with -P (keepalived then starts no checker process).
#
#   bash bench/idle.sh [--window 60] [--warmup 15] [--impls keepalived,hacheck] [--instances 100] [--real-servers 1000] [--vrrp-only]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
WINDOW=60 WARMUP=15 IMPLS=keepalived,hacheck NINST=100 NRS=1000 VRRP_ONLY=
ARGS=("$@")
while (($#)); do
  case $1 in
    --window) WINDOW=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --impls) IMPLS=$2; shift 2 ;;
    --instances) NINST=$2; shift 2 ;;
    --real-servers) NRS=$2; shift 2 ;;
    --vrrp-only) VRRP_ONLY=1 NRS=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (network namespaces)" >&2; exit 0; }

if [[ -z ${IPVS_VM:-} && -z $VRRP_ONLY ]]; then
  VM=${IPVS_VM_SH:-$ROOT/../shared/tools/ipvs-vm/ipvs-vm.sh}
  [[ -x $VM ]] || { echo "SKIP: IPVS VM tool not found at $VM (keepalived's checker needs IPVS)" >&2; exit 0; }
  [[ -f $ROOT/dist/src/cli/main.js ]] || (cd "$ROOT" && npx tsc -p tsconfig.json >/dev/null)
  OUT=$ROOT/bench/results/idle-$(date +%Y%m%d-%H%M%S)
  mkdir -p "$OUT"
  rw=(--rw "$OUT")
  # A checkout under /tmp is invisible in the VM (fresh tmpfs there) unless shared.
  [[ $ROOT == /tmp/* ]] && rw=(--rw "$ROOT")
  "$VM" "${rw[@]}" --timeout 900 -- env IDLE_OUT="$OUT" bash "$ROOT/bench/idle.sh" "${ARGS[@]}"
  rc=$?
  echo "results: $OUT"
  exit $rc
fi

OUT=${IDLE_OUT:-$ROOT/bench/results/idle-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
NS=hcidle
HZ=$(getconf CLK_TCK)
NIF=10
NVS=10
RS_PER_VS=$((NRS / NVS))
((NRS == 0)) && NVS=0
P=()
[[ -n $VRRP_ONLY ]] && P=(-P)
RS_IP=10.20.0.1
WORK=$(mktemp -d /tmp/hcidle.XXXXXX)

conf() {
  echo 'global_defs {'
  echo '    router_id idle'
  echo '}'
  for ((k = 0; k < NINST; k++)); do
    cat <<EOF
vrrp_instance VI_$((k + 1)) {
    state MASTER
    interface vi$((k % NIF))
    virtual_router_id $((k + 1))
    priority 200
    advert_int 1
    virtual_ipaddress {
        10.30.$((k / 250)).$((k % 250 + 1))/32
    }
}
EOF
  done
  for ((v = 0; v < NVS; v++)); do
    echo "virtual_server 10.40.0.$((v + 1)) 80 {"
    printf '    delay_loop 6\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n'
    for ((r = 0; r < RS_PER_VS; r++)); do
      printf '    real_server %s %d {\n        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n' "$RS_IP" $((10000 + v * RS_PER_VS + r))
    done
    echo '}'
  done
}

LISTEN_JS='
const net = require("node:net");
const [ip, from, n] = process.argv.slice(1);
for (let p = Number(from); p < Number(from) + Number(n); p++) net.createServer((c) => c.destroy()).listen({ host: ip, port: p, backlog: 64 });
'

setup_ns() {
  ip netns add $NS
  ip -n $NS link set lo up
  for ((i = 0; i < NIF; i++)); do
    ip -n $NS link add vi$i type veth peer name vo$i
    ip -n $NS addr add 10.10.$i.1/24 dev vi$i
    ip -n $NS link set vi$i up
    ip -n $NS link set vo$i up
  done
  LISTENER=
  if ((NRS > 0)); then
    ip -n $NS link add rs0 type dummy
    ip -n $NS addr add $RS_IP/16 dev rs0
    ip -n $NS link set rs0 up
    ip netns exec $NS node -e "$LISTEN_JS" $RS_IP 10000 "$NRS" &
    LISTENER=$!
  fi
}

teardown_ns() {
  if [[ -n $LISTENER ]]; then
    kill "$LISTENER" 2>/dev/null
    wait "$LISTENER" 2>/dev/null
  fi
  ip netns pids $NS 2>/dev/null | xargs -r kill -9 2>/dev/null
  ip netns del $NS 2>/dev/null
}

ticks() { # utime + stime of one pid (fields 14, 15; comm has no blanks here)
  local f
  read -ra f </proc/"$1"/stat
  echo $((f[13] + f[14]))
}
rss() { awk '/^VmRSS:/ { print $2 }' /proc/"$1"/status; }
pss() { awk '/^Pss:/ { print $2 }' /proc/"$1"/smaps_rollup; }
vips() { ip -n $NS -4 -o addr show | grep -c ' 10\.30\.'; }
realservers() { if ((NRS > 0)); then ip netns exec $NS ipvsadm -L -n 2>/dev/null | grep -c "$RS_IP:"; else echo 0; fi; }

conf >"$WORK/keepalived.conf"
RESULTS=()
for impl in ${IMPLS//,/ }; do
  setup_ns
  D=$WORK/$impl
  mkdir -p "$D"
  if [[ $impl == keepalived ]]; then
    ip netns exec $NS env TMPDIR="$D" keepalived -n -l "${P[@]}" -f "$WORK/keepalived.conf" -p "$D/pid" -r "$D/vrrp.pid" -c "$D/checkers.pid" >"$D/out.log" 2>&1 &
  else
    ip netns exec $NS node "$ROOT/bin/hacheck.js" -n -l "${P[@]}" -f "$WORK/keepalived.conf" -p "$D/pid" --status-socket "$D/status.sock" >"$D/out.log" 2>&1 &
  fi
  LAUNCH=$!
  t0=$EPOCHREALTIME
  ready=0
  for ((i = 0; i < 240; i++)); do
    v=$(vips) r=$(realservers)
    if [[ $v == "$NINST" && $r == "$NRS" ]]; then ready=1; break; fi
    sleep 1
  done
  startup=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  echo "$impl: ${v:-0}/$NINST VIPs, ${r:-0}/$NRS real servers in IPVS after ${startup} s" >&2
  if ((!ready)); then
    echo "$impl: not ready; last output:" >&2
    tail -20 "$D/out.log" >&2
  fi
  sleep "$WARMUP"
  if [[ $impl == keepalived ]]; then
    pids="$(cat "$D/pid") $(cat "$D/vrrp.pid") $(cat "$D/checkers.pid" 2>/dev/null)"
  else
    pids=$(cat "$D/pid")
  fi
  lines0=$(wc -l <"$D/out.log")
  c0=0
  for p in $pids; do c0=$((c0 + $(ticks "$p"))); done
  w0=$EPOCHREALTIME
  rsum=0 psum=0 n=0 rlast=0 plast=0
  for ((s = 0; s < WINDOW; s += 5)); do
    sleep 5
    rl=0 pl=0
    for p in $pids; do rl=$((rl + $(rss "$p"))); pl=$((pl + $(pss "$p"))); done
    rsum=$((rsum + rl)) psum=$((psum + pl)) n=$((n + 1)) rlast=$rl plast=$pl
  done
  c1=0
  for p in $pids; do c1=$((c1 + $(ticks "$p"))); done
  w1=$EPOCHREALTIME
  lines1=$(wc -l <"$D/out.log")
  alive=1
  for p in $pids; do [[ -d /proc/$p ]] || alive=0; done
  v=$(vips) r=$(realservers)
  cpu=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v a="$w0" -v b="$w1" 'BEGIN { printf "%.2f", 100 * c / hz / (b - a) }')
  rmean=$((rsum / n)) pmean=$((psum / n))
  logl=$((lines1 - lines0))
  echo "$impl: CPU ${cpu}% of one core over $(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.0f", b - a }') s; RSS mean $((rmean / 1024)) MiB (last $((rlast / 1024))); PSS mean $((pmean / 1024)) MiB; $logl log lines in the window; still running: $alive; at the end $v VIPs, $r real servers" >&2
  RESULTS+=("$impl $cpu $rmean $pmean $rlast $plast $logl $v $r $alive")
  for p in $pids; do kill -TERM "$p" 2>/dev/null; done
  for ((i = 0; i < 60; i++)); do kill -0 "$LAUNCH" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$LAUNCH" 2>/dev/null
  wait "$LAUNCH" 2>/dev/null
  cp "$D/out.log" "$OUT/$impl.log"
  teardown_ns
done

{
  echo "## idle${VRRP_ONLY:+ (VRRP only, -P, on this host)}: $NINST VRRP instances (MASTER, advert_int 1), $NRS real servers (TCP_CHECK, delay_loop 6), window ${WINDOW} s after ${WARMUP} s warm-up"
  [[ -n ${IPVS_VM:-} ]] && echo "(in the IPVS VM: TCG-emulated CPU, absolute CPU inflated ~30× for both; compare ratios)"
  echo
  echo '| daemon | CPU % of one core | RSS mean (MiB) | PSS mean (MiB) | log lines in window | VIPs | real servers | ran through |'
  echo '|---|---|---|---|---|---|---|---|'
  for row in "${RESULTS[@]}"; do
    read -r impl cpu rm pm rl pl logl v r alive <<<"$row"
    printf '| %s | %s | %.1f | %.1f | %s | %s | %s | %s |\n' "$impl" "$cpu" "$(awk -v x="$rm" 'BEGIN { print x / 1024 }')" "$(awk -v x="$pm" 'BEGIN { print x / 1024 }')" "$logl" "$v" "$r" "$([[ $alive == 1 ]] && echo yes || echo NO)"
  done
  if ((${#RESULTS[@]} == 2)); then
    for row in "${RESULTS[@]}"; do
      read -r impl c rm pm _ <<<"$row"
      if [[ $impl == keepalived ]]; then kc=$c krm=$rm kpm=$pm; else hc=$c hrm=$rm hpm=$pm; fi
    done
    echo
    awk -v kc="$kc" -v hc="$hc" -v krm="$krm" -v hrm="$hrm" -v kpm="$kpm" -v hpm="$hpm" 'BEGIN {
      printf "ratios %s/%s: CPU %.2f, RSS %.2f, PSS %.2f\n", "hacheck", "keepalived", (kc > 0 ? hc / kc : 0), hrm / krm, hpm / kpm }'
  fi
} | tee "$OUT/idle.md"
rm -rf "$WORK"
