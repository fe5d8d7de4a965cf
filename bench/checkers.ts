// bench/checkers, host part: 5,000 real servers under TCP_CHECK at delay_loop 1 against loopback
// listeners, run in-process (HealthMonitor + tcpCheck, no daemon, no IPVS: this host's kernel has
// none). Reports CPU seconds per 1,000 checks, peak RSS, and the time from a listener closing to
// the HealthMonitor's 'change' event (retry 1, delay_before_retry 1: expected ≈ 1–2 s).
//
// That last figure is the checker's decision only, not the "death → removal applied":
// it leaves out the IPVS manager and the kernel update. The removal-applied figure, against
// keepalived 2.2.7 on the same configuration, comes from the VM part:
// scripts/bench-checkers-vm.sh (bench/checkers-vm.ts).
//
//   node dist/bench/checkers.js [realServers=5000] [steadySeconds=15]
//
// 4,900 real servers are 127.0.x.y on one shared port (a listener on 0.0.0.0 takes them all:
// 127/8 is loopback); 100 have a listener of their own on 127.0.0.1, closed together to time
// the detection.

import net from 'node:net';
import { loadConfigText } from '../src/config/index.js';
import { HealthMonitor, type HealthChange } from '../src/checkers/monitor.js';
import { tcpCheck } from '../src/checkers/tcp.js';

const N = Number(process.argv[2] ?? 5000);
const STEADY_S = Number(process.argv[3] ?? 15);
const DEDICATED = Math.min(100, N);

function listen(host: string): Promise<net.Server> {
  const s = net.createServer((c) => {
    c.on('error', () => {});
    c.destroy();
  });
  s.maxConnections = 100_000;
  return new Promise((resolve) => s.listen({ port: 0, host, backlog: 4096 }, () => resolve(s)));
}
const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;

function pct(a: number[], p: number): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function main(): Promise<void> {
  const shared = await listen('0.0.0.0');
  const dedicated = await Promise.all(Array.from({ length: DEDICATED }, () => listen('127.0.0.1')));
  const rs: string[] = [];
  for (let i = 0; i < N - DEDICATED; i++) {
    const ip = `127.0.${1 + (i >> 8)}.${(i & 255) + 1}`;
    rs.push(`  real_server ${ip} ${portOf(shared)} {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }`);
  }
  for (const d of dedicated) rs.push(`  real_server 127.0.0.1 ${portOf(d)} {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }`);
  const text = `virtual_server 10.0.0.1 80 {\n  delay_loop 1\n  retry 1\n  delay_before_retry 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n${rs.join('\n')}\n}\n`;
  const t0 = performance.now();
  const { config } = loadConfigText(text);
  const lvs = config.lvs;
  const mem = process.memoryUsage();
  console.log(`config: ${N} real servers loaded in ${((performance.now() - t0) / 1000).toFixed(2)} s (RSS ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB)`);

  let checks = 0;
  let failures = 0;
  const mon = new HealthMonitor(lvs, {
    scheduler: { bootstrapDelayMs: 0 },
    makeCheck: (chk) => {
      if (chk.type !== 'TCP_CHECK') return undefined;
      const run = tcpCheck(chk);
      return async (signal) => {
        const r = await run(signal);
        checks++;
        if (!r.ok) failures++;
        return r;
      };
    },
  });
  const changes: { at: number; c: HealthChange }[] = [];
  mon.on('change', (c: HealthChange) => changes.push({ at: performance.now(), c }));

  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  mon.start();
  // warm-up: the first runs are spread over 0..delay_loop
  await new Promise((r) => setTimeout(r, 2000));
  const c0 = checks;
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  await new Promise((r) => setTimeout(r, STEADY_S * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - w0) / 1000;
  const n = checks - c0;
  const cpuS = (cpu.user + cpu.system) / 1e6;
  console.log(`steady: ${n} checks in ${wall.toFixed(1)} s (${(n / wall).toFixed(0)}/s, ${failures} failures so far)`);
  console.log(`cpu: ${cpuS.toFixed(2)} s (${((cpuS / wall) * 100).toFixed(0)}% of one core) = ${((cpuS / n) * 1000).toFixed(3)} CPU s per 1,000 checks`);

  // detection: close the dedicated listeners together
  const ports = new Set(dedicated.map(portOf));
  const closedAt = performance.now();
  await Promise.all(dedicated.map((d) => new Promise<void>((r) => d.close(() => r()))));
  const deadline = performance.now() + 10_000;
  const down = () => changes.filter((x) => !x.c.up && ports.has(x.c.rs.port) && x.at >= closedAt);
  while (down().length < DEDICATED && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const lat = down().map((x) => x.at - closedAt);
  clearInterval(rssTimer);
  mon.stop();
  shared.close();
  console.log(`checker decision only (listener closed → HealthMonitor 'change' down, in-process; NOT removal applied in IPVS, see scripts/bench-checkers-vm.sh), retry 1 × delay_before_retry 1 s, delay_loop 1 s: ${lat.length}/${DEDICATED} seen; p50 ${pct(lat, 50)?.toFixed(0)} ms, p99 ${pct(lat, 99)?.toFixed(0)} ms, max ${Math.max(...lat).toFixed(0)} ms`);
  const other = changes.filter((x) => !ports.has(x.c.rs.port)).length;
  console.log(`spurious changes on the shared listener: ${other}`);
  const m2 = process.memoryUsage();
  console.log(`peak RSS: ${(peakRss / 2 ** 20).toFixed(0)} MiB (at the end: RSS ${(m2.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(m2.heapUsed / 2 ** 20).toFixed(0)} MiB of ${(m2.heapTotal / 2 ** 20).toFixed(0)} MiB)`);
  process.exit(0);
}

void main();
