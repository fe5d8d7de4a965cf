// bench/ipvs: the cost of changing the kernel's IPVS table, run inside the
// IPVS VM (npm run bench:ipvs → scripts/bench-ipvs.sh). The VM is software
// emulated: absolute times are ~30x a real host's for process starts, so
// read the ratios.
//
//  1. A 10,000-real-server table (20 services × 500) applied from empty, and
//     one weight change in it: through the batch path (one `ipvsadm -R`)
//     versus one ipvsadm process per entry. Per entry runs on a subset
//     (--per-entry N, default 500 operations) and is extrapolated to 10,000.
//  2. Start to table complete for a 1,000-real-server configuration
//     (10 virtual servers × 100 real servers, TCP_CHECK): keepalived 2.2.7
//     (`keepalived -n -l -C`) versus a hacheck process running the
//     IpvsManager on the same file. Time from spawn to the moment
//     /proc/net/ip_vs lists all 1,000 destinations (polled every 5 ms with a
//     file read, no fork). Real servers are routed into a dummy interface, so
//     no checker changes the table meanwhile.
//
//   npm run bench:ipvs [-- --runs 3 --per-entry 500 --only 1|2]
//   node dist/bench/ipvs.js --agent CONF    (internal: the hacheck process of part 2)

import { execFileSync, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { pino } from 'pino';

import { loadConfigFile } from '../src/config/index.js';
import type { RealServerHealth } from '../src/ipvs/desired.js';
import { diffTables } from '../src/ipvs/diff.js';
import { IpvsadmBackend } from '../src/ipvs/ipvsadm.js';
import { IpvsManager } from '../src/ipvs/manager.js';
import type { HealthSource } from '../src/ipvs/manager.js';
import { DEFAULT_TUNNEL, serviceKeyString } from '../src/ipvs/types.js';
import type { Op, RealServer, ServiceKey, Table } from '../src/ipvs/types.js';

const run = (cmd: string, ...args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};

class Silent extends EventEmitter implements HealthSource {
  health(): ReadonlyMap<string, RealServerHealth> {
    return new Map();
  }
}

/* ------------------------------------------------------------- agent mode */

async function agent(conf: string): Promise<void> {
  // performance.now() counts from the process start (timeOrigin).
  const tMain = performance.now();
  const lvs = loadConfigFile(conf).config.lvs;
  const tConfig = performance.now();
  const real = new IpvsadmBackend({ timeoutMs: 120_000 });
  let tRead = 0;
  const backend = {
    getTable: async () => {
      const t0 = performance.now();
      const t = await real.getTable();
      tRead += performance.now() - t0;
      return t;
    },
    apply: real.apply.bind(real),
  };
  const mgr = new IpvsManager({
    lvs,
    health: new Silent(),
    backend,
    log: pino({ level: 'silent' }),
    reconcileIntervalMs: 0,
    keepOnStop: true,
  });
  await mgr.start();
  const tDone = performance.now();
  process.stdout.write(
    `node start + imports ${tMain.toFixed(0)} ms, config ${(tConfig - tMain).toFixed(0)} ms, read table ${tRead.toFixed(0)} ms, diff + ipvsadm -R ${(tDone - tConfig - tRead).toFixed(0)} ms, total ${tDone.toFixed(0)} ms\n`,
  );
  // Stay alive like a daemon until killed.
  setInterval(() => {}, 1 << 30);
}

/* ------------------------------------------------------------------ part 1 */

function bigTable(services: number, perService: number): Table {
  const t: Table = new Map();
  for (let s = 0; s < services; s++) {
    const key: ServiceKey = { kind: 'addr', family: 'inet', protocol: 'tcp', addr: `192.168.${200 + (s >> 8)}.${s & 255}`, port: 80 };
    const realServers = new Map<string, RealServer>();
    for (let r = 0; r < perService; r++) {
      const rs: RealServer = { addr: `10.${100 + s}.${r >> 8}.${r & 255}`, port: 8080, forwarding: 'masq', tunnel: { ...DEFAULT_TUNNEL }, weight: 1, uThreshold: 0, lThreshold: 0 };
      realServers.set(`${rs.addr}:8080`, rs);
    }
    t.set(serviceKeyString(key), { key, scheduler: 'wrr', schedFlags: 0, persistenceTimeout: 0, netmask: '255.255.255.255', ops: false, pe: '', realServers });
  }
  return t;
}

async function time<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await f();
  return [performance.now() - t0, r];
}

const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);

async function part1(perEntryOps: number): Promise<void> {
  const backend = new IpvsadmBackend({ timeoutMs: 600_000 });
  const table = bigTable(20, 500);
  run('ipvsadm', '-C');
  const ops = diffTables(new Map(), table);
  const [tBatch, rBatch] = await time(() => backend.apply(ops));
  if (rBatch.failed.length) throw new Error(`batch failed: ${rBatch.failed[0]!.message}`);
  const [tRead, current] = await time(() => backend.getTable());
  const changed = bigTable(20, 500);
  changed.get('tcp 192.168.200.7:80')!.realServers.get('10.107.1.44:8080')!.weight = 5;
  const [tDiff, weightOps] = await time(async () => diffTables(current, changed));
  const [tWeightBatch] = await time(() => backend.apply(weightOps));
  const [tWeightSingle] = await time(() => backend.applyPerEntry(weightOps.map((o) => ({ ...o, server: { ...(o as Extract<Op, { kind: 'edit-server' }>).server, weight: 6 } }) as Op)));

  // One process per entry: the first perEntryOps operations of the same table.
  run('ipvsadm', '-C');
  const subset = ops.slice(0, perEntryOps);
  const [tSingle, rSingle] = await time(() => backend.applyPerEntry(subset));
  if (rSingle.failed.length) throw new Error(`per entry failed: ${rSingle.failed[0]!.message}`);
  const extrapolated = (tSingle / subset.length) * ops.length;
  run('ipvsadm', '-C');

  console.log(`1. 10,000-real-server table (20 services × 500), ${ops.length} operations`);
  console.log(`   from empty, batch (one ipvsadm -R, ${rBatch.processes} process):   ${fmt(tBatch)}`);
  console.log(`   from empty, one ipvsadm per entry: ${subset.length} ops took ${fmt(tSingle)} (${(tSingle / subset.length).toFixed(1)} ms/op) → ${fmt(extrapolated)} extrapolated to ${ops.length}`);
  console.log(`   speed-up of the batch: ${(extrapolated / tBatch).toFixed(1)}×`);
  console.log(`   read back (ipvsadm -S -n + -L -n --thresholds, parse): ${fmt(tRead)}`);
  console.log(`   one weight change: diff of the 10,000-entry tables ${tDiff.toFixed(1)} ms → ${weightOps.length} op; batch ${fmt(tWeightBatch)}, per entry ${fmt(tWeightSingle)}`);
}

/* ------------------------------------------------------------------ part 2 */

function config1000(): string {
  const out: string[] = ['global_defs {', '  router_id bench', '}'];
  for (let v = 0; v < 10; v++) {
    out.push(`virtual_server 192.168.210.${v + 1} 80 {`, '  delay_loop 60', '  lb_algo wrr', '  lb_kind NAT', '  protocol TCP');
    for (let r = 0; r < 100; r++) {
      out.push(`  real_server 10.${150 + v}.0.${r + 1} 8080 {`, '    weight 1', '    TCP_CHECK {', '      connect_timeout 30', '    }', '  }');
    }
    out.push('}');
  }
  return `${out.join('\n')}\n`;
}

/** Destinations listed in /proc/net/ip_vs (the "  -> RemoteAddress:Port" header line excluded). */
function procDests(): number {
  const text = readFileSync('/proc/net/ip_vs', 'utf8');
  let n = 0;
  let i = 0;
  while ((i = text.indexOf('  -> ', i)) >= 0) {
    if (text.charCodeAt(i + 5) !== 82 /* 'R' */) n++;
    i += 5;
  }
  return n;
}

async function startToComplete(argv: string[], want: number): Promise<number> {
  run('ipvsadm', '-C');
  const t0 = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', detached: true });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    for (;;) {
      if (procDests() >= want) return performance.now() - t0;
      if (child.exitCode !== null) throw new Error(`${argv.join(' ')} exited ${child.exitCode}`);
      if (performance.now() - t0 > 600_000) throw new Error('timed out');
      await sleep(5);
    }
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    await Promise.race([exited, sleep(10_000)]);
    await sleep(200);
    run('ipvsadm', '-C');
  }
}

async function part2(runs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hc-bench-ipvs-'));
  const conf = join(dir, 'k1000.conf');
  writeFileSync(conf, config1000());
  // Checks hang in a dummy interface: the table stays as started.
  run('ip', 'link', 'add', 'hcbench0', 'type', 'dummy');
  run('ip', 'link', 'set', 'hcbench0', 'up');
  run('ip', 'route', 'add', 'default', 'dev', 'hcbench0');
  const self = fileURLToPath(import.meta.url);
  const k: number[] = [];
  const h: number[] = [];
  const d: number[] = [];
  const bin = fileURLToPath(new URL('../../bin/hacheck.js', import.meta.url));
  try {
    for (let i = 0; i < runs; i++) {
      k.push(await startToComplete(['keepalived', '-n', '-l', '-C', '-f', conf, '-p', join(dir, 'k.pid'), '-c', join(dir, 'c.pid')], 1000));
      h.push(await startToComplete([process.execPath, self, '--agent', conf], 1000));
      // the daemon users run: `hacheck -C` (checkers + IPVS only), no syslog
      d.push(await startToComplete([process.execPath, bin, '-n', '-C', '-G', '-f', conf, '-p', join(dir, 'h.pid'), '-c', join(dir, 'hc.pid'), '--status-socket', join(dir, 'h.sock')], 1000));
    }
    // Where hacheck's time goes (one more run, its own report).
    run('ipvsadm', '-C');
    const phases = await new Promise<string>((resolve) => {
      const c = spawn(process.execPath, [self, '--agent', conf], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
      let out = '';
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) {
          process.kill(-c.pid!, 'SIGKILL');
          resolve(out.trim());
        }
      });
    });
    run('ipvsadm', '-C');
    console.log(`   hacheck phases: ${phases}`);
  } finally {
    run('ip', 'link', 'del', 'hcbench0');
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  console.log(`2. start → table complete, 1,000 real servers (10 virtual servers × 100), ${runs} runs each (median)`);
  console.log(`   keepalived 2.2.7: ${k.map(fmt).join(', ')} → ${fmt(med(k))}`);
  console.log(`   hacheck (IpvsManager alone): ${h.map(fmt).join(', ')} → ${fmt(med(h))}`);
  console.log(`   hacheck -n -C (the daemon):  ${d.map(fmt).join(', ')} → ${fmt(med(d))}`);
  console.log(`   ratio hacheck/keepalived: manager ${(med(h) / med(k)).toFixed(2)}, daemon ${(med(d) / med(k)).toFixed(2)} (target < 0.33)`);
}

/* ------------------------------------------------------------------- main */

async function main(): Promise<void> {
  const ai = process.argv.indexOf('--agent');
  if (ai > 0) return agent(process.argv[ai + 1]!);
  try {
    run('ipvsadm', '-C');
  } catch (e) {
    console.error(`bench:ipvs needs IPVS and root; run scripts/bench-ipvs.sh (${(e as Error).message.split('\n')[0]})`);
    process.exit(2);
  }
  console.log(`bench:ipvs on ${run('uname', '-r').trim()}, ${run('ipvsadm', '--version').trim()}, in the IPVS VM=${process.env.IPVS_VM ?? 'no'}`);
  const only = arg('only', 0); // --only 1 | --only 2: one part
  if (only !== 2) await part1(arg('per-entry', 500));
  if (only !== 1) await part2(arg('runs', 3));
}

await main();
