/**
 * Compressed soak (issue 5, reliability): the 24-hour soak folded into ~70 s of churn.
 * Two directors n1 and n2 share one VRRPv3 instance (advert_int 0.5 s) and check 20 real
 * servers (TCP_CHECK, delay_loop 1 s) listening in a third namespace. In a loop:
 *  - n2's track_file flips every 2.5 s (weight 100: priority 100 ↔ 200 against n1's 150), so
 *    the long-lived n2 goes MASTER ↔ BACKUP again and again (VIP add/remove, GARPs, adverts);
 *  - n1 is stopped (SIGTERM, priority-0 advert) and restarted every ~12 s;
 *  - every 0.7 s one real server's listener closes or reopens (checker up/down transitions).
 * n2 never restarts; its RSS (/proc/PID/status VmRSS) and JS heap (Prometheus
 * hacheck_nodejs_heap_size_{used,total}_bytes) are sampled. Asserted: no crash, the final
 * state right (one MASTER, the VIP once, on it), memory growth bounded (see the limits below).
 *
 * This host has no IPVS: the IPVS manager's applies fail and are retried by its reconcile,
 * which exercises that error path too (the memory bound covers it).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { nsExec, until } from '../support/netns.js';
import { DaemonLab, instanceBlock, vipCount, type Daemon } from '../support/vrrp-lab.js';
import { fetchStatus } from '../../src/cli/status.js';

const VIP = '10.97.0.50';
const RS_IP = '10.97.0.21';
const PORTS = Array.from({ length: 20 }, (_, i) => 9001 + i);
/** HACHECK_SOAK_SECONDS runs a longer soak by hand (the test's timeout follows). */
const LOOP_MS = Number(process.env.HACHECK_SOAK_SECONDS ?? 70) * 1000;
/** Samples before this far into the loop are warm-up (allocations of first use) and not judged. */
const WARMUP_MS = 15_000;
/*
 * Memory bounds, each between the first and the last third of the samples after warm-up.
 * Measured (300 s runs of this loop): RSS climbs by ~35 MiB over the first ~3 minutes and then
 * stays flat, and that climb is all V8 committing more heap (heap total 17 → 53 MiB) while the
 * heap in use keeps the same post-GC floor (~13–15 MiB) and RSS minus heap total stays at
 * ~53 MiB. So the leak detectors are the floor of the heap in use (a JS leak raises it) and
 * RSS minus the committed heap (a native leak: sockets, addon buffers, child processes); raw
 * RSS only gets a loose sanity bound. A leak per failover or per check (~30 failovers, ~1,400
 * checks, ~100 listener flaps in 70 s) at a size that matters over 24 h shows well above these.
 */
/** growth of the minimum heap in use (post-GC floor), MiB */
const HEAP_FLOOR_GROWTH_LIMIT_MB = 8;
/** growth of the median of RSS − V8 heap total, MiB */
const NON_HEAP_GROWTH_LIMIT_MB = 10;
/** growth of the median RSS, MiB (V8 heap sizing included) */
const RSS_GROWTH_LIMIT_MB = 48;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** TCP listeners on RS_IP: stdin lines "close PORT" / "open PORT". */
const LISTENERS_JS = `
const net = require('node:net');
const ip = process.argv[1];
const servers = new Map();
const open = (p) => { if (servers.has(p)) return; const s = net.createServer((c) => c.destroy()); s.on('error', () => servers.delete(p)); s.listen(p, ip); servers.set(p, s); };
const close = (p) => { const s = servers.get(p); if (!s) return; servers.delete(p); s.close(); };
for (const p of process.argv.slice(2)) open(Number(p));
let buf = '';
process.stdin.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\\n')) >= 0) { const [cmd, p] = buf.slice(0, i).split(' '); buf = buf.slice(i + 1); (cmd === 'open' ? open : close)(Number(p)); } });
`;

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** V8 heap used and committed (total), MiB, from the daemon's Prometheus metrics. */
function heapMb(ns: string, port: number): { heapMb: number; heapTotalMb: number } {
  const text = nsExec(ns, ['curl', '-s', '--max-time', '3', `http://127.0.0.1:${port}/metrics`], { allowFail: true });
  const get = (name: string) => {
    const m = new RegExp(`^hacheck_nodejs_${name} (\\S+)`, 'm').exec(text);
    return m ? Number(m[1]) / 2 ** 20 : NaN;
  };
  return { heapMb: get('heap_size_used_bytes'), heapTotalMb: get('heap_size_total_bytes') };
}

const stateOf = (d: Daemon) => d.vrrpState();

describe('soak (compressed): 70 s of failovers and real-server flaps, memory stable', function () {
  this.timeout(LOOP_MS + 50_000);
  // One test with one long-lived lab: torn down after it (killing the listeners with the lab).
  const dl = new DaemonLab({ teardown: 'after' });
  let listeners: ChildProcess | undefined;
  const trackFile = `/tmp/hc-soak-track-${process.pid}`;

  after(function () {
    listeners?.kill('SIGKILL');
    rmSync(trackFile, { force: true });
  });

  const conf = (host: string, state: 'MASTER' | 'BACKUP', priority: number, track: boolean) => [
    'global_defs {', `    router_id ${host}`, '}', '',
    ...(track ? ['track_file soak {', `    file ${trackFile}`, '    weight 100', '}', ''] : []),
    instanceBlock({
      state, priority, version: 3, advertInt: 0.5, vips: [`${VIP}/24 dev lab0`],
      extra: track ? ['track_file {', '        soak', '    }'] : [],
    }), '',
    'virtual_server 10.97.0.50 80 {', '    delay_loop 1', '    lb_algo rr', '    lb_kind NAT', '    protocol TCP',
    ...PORTS.flatMap((p) => [
      `    real_server ${RS_IP} ${p} {`, '        TCP_CHECK {', '            connect_timeout 1', '            retry 0', '        }', '    }',
    ]),
    '}', '',
  ].join('\n');

  it('no crash, one MASTER with the VIP once at the end, RSS growth bounded', async function () {
    const lab = dl.up({
      hosts: [{ name: 'n1', addr: '10.97.0.11/24' }, { name: 'n2', addr: '10.97.0.12/24' }, { name: 'rs', addr: `${RS_IP}/24` }],
    });
    const ns1 = lab.host('n1').ns;
    const ns2 = lab.host('n2').ns;
    listeners = lab.spawn('rs', ['node', '-e', LISTENERS_JS, RS_IP, ...PORTS.map(String)], { stdio: ['pipe', 'pipe', 'pipe'] });
    writeFileSync(trackFile, '0\n');

    const c1 = conf('n1', 'MASTER', 150, false);
    let d1 = dl.add('n1', 'hacheck', c1).start();
    const d2 = dl.add('n2', 'hacheck', conf('n2', 'BACKUP', 100, true)).start(['--metrics', '127.0.0.1:9651']);
    assert.ok(await until(async () => (await stateOf(d1)) === 'MASTER' && (await stateOf(d2)) === 'BACKUP', 30_000), 'initial roles');
    const pid2 = d2.pid()!;

    const samples: { t: number; rssKb: number; heapMb: number; heapTotalMb: number }[] = [];
    let warm: (typeof samples)[number] | undefined;
    let flips = 0;
    let restarts = 0;
    let flaps = 0;
    let n2Transitions = 0;
    let last2: string | undefined;
    const closed = new Set<number>();
    const t0 = Date.now();
    let nextFlip = t0 + 2500;
    let nextRestart = t0 + 12_000;
    let nextFlap = t0 + 700;
    let nextSample = t0;
    let track = 0;
    while (Date.now() - t0 < LOOP_MS) {
      const now = Date.now();
      assert.equal(d2.child!.exitCode, null, `n2 crashed:\n${d2.output().slice(-2000)}`);
      if (now >= nextFlip) {
        track ^= 1;
        writeFileSync(trackFile, `${track}\n`);
        flips++;
        nextFlip = now + 2500;
      }
      if (now >= nextRestart) {
        assert.equal(d1.child!.exitCode, null, `n1 crashed:\n${d1.output().slice(-2000)}`);
        await d1.stop();
        d1.cleanup();
        dl.drop(d1);
        d1 = dl.add('n1', 'hacheck', c1).start();
        restarts++;
        nextRestart = Date.now() + 12_000;
      }
      if (now >= nextFlap) {
        const p = PORTS[flaps % PORTS.length]!;
        const cmd = closed.has(p) ? 'open' : 'close';
        if (cmd === 'open') closed.delete(p);
        else closed.add(p);
        listeners.stdin!.write(`${cmd} ${p}\n`);
        flaps++;
        nextFlap = now + 700;
      }
      const s2 = await stateOf(d2);
      if (s2 && last2 && s2 !== last2) n2Transitions++;
      if (s2) last2 = s2;
      if (now >= nextSample) {
        const s = { t: Math.round((now - t0) / 1000), rssKb: rssKb(pid2), ...heapMb(ns2, 9651) };
        samples.push(s);
        if (!warm && now - t0 >= WARMUP_MS) warm = s;
        nextSample = now + 2500;
      }
      await sleep(100);
    }

    // Settle: n2's track back to 0 (priority 100 < n1's 150), every listener open.
    writeFileSync(trackFile, '0\n');
    for (const p of closed) listeners.stdin!.write(`open ${p}\n`);
    assert.ok(
      await until(async () => (await stateOf(d1)) === 'MASTER' && (await stateOf(d2)) === 'BACKUP' && vipCount(ns1, VIP) === 1 && vipCount(ns2, VIP) === 0, 20_000),
      `final state: n1 ${await stateOf(d1)}, n2 ${await stateOf(d2)}, VIP n1×${vipCount(ns1, VIP)} n2×${vipCount(ns2, VIP)}`,
    );
    // Stable for 2 s (no dual master, no flap).
    for (let i = 0; i < 10; i++) {
      assert.equal(await stateOf(d1), 'MASTER');
      assert.equal(await stateOf(d2), 'BACKUP');
      await sleep(200);
    }
    const st = await fetchStatus(join(d2.dir, 'status.sock'), 3000);
    const rs = (st.lvs as { realServers: { up: boolean }[] }).realServers;
    assert.equal(rs.length, PORTS.length);
    assert.ok(await until(async () => ((await fetchStatus(join(d2.dir, 'status.sock'), 3000)).lvs as { realServers: { up: boolean }[] }).realServers.every((r) => r.up), 10_000),
      'all real servers back up in n2\'s checkers');

    const end = { t: Math.round((Date.now() - t0) / 1000), rssKb: rssKb(pid2), ...heapMb(ns2, 9651) };
    samples.push(end);
    console.log(`      ${flips} track_file flips, ${restarts} restarts of n1, ${flaps} listener flaps, ${n2Transitions} n2 state changes seen`);
    console.log(`      n2 samples (s: RSS / heap total / heap used, MiB): ${samples.map((s) => `${s.t}: ${(s.rssKb / 1024).toFixed(1)}/${s.heapTotalMb.toFixed(1)}/${s.heapMb.toFixed(1)}`).join(', ')}`);
    assert.ok(warm, 'warm-up sample taken');
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const steady = samples.filter((s) => s.t >= WARMUP_MS / 1000);
    const third = Math.max(1, Math.floor(steady.length / 3));
    const [first, last] = [steady.slice(0, third), steady.slice(-third)];
    const mib = (kb: number) => kb / 1024;
    const rss = (xs: typeof steady) => median(xs.map((s) => mib(s.rssKb)));
    const nonHeap = (xs: typeof steady) => median(xs.map((s) => mib(s.rssKb) - s.heapTotalMb));
    const floor = (xs: typeof steady) => Math.min(...xs.map((s) => s.heapMb));
    const d = { rss: rss(last) - rss(first), nonHeap: nonHeap(last) - nonHeap(first), floor: floor(last) - floor(first) };
    const f = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
    console.log(`      first → last third after warm-up (${first.length} samples each): RSS median ${rss(first).toFixed(1)} → ${rss(last).toFixed(1)} MiB (${f(d.rss)}, limit +${RSS_GROWTH_LIMIT_MB}); ` +
      `RSS − heap total ${nonHeap(first).toFixed(1)} → ${nonHeap(last).toFixed(1)} MiB (${f(d.nonHeap)}, limit +${NON_HEAP_GROWTH_LIMIT_MB}); ` +
      `heap-in-use floor ${floor(first).toFixed(1)} → ${floor(last).toFixed(1)} MiB (${f(d.floor)}, limit +${HEAP_FLOOR_GROWTH_LIMIT_MB})`);
    assert.ok(n2Transitions >= 6, `n2 changed state only ${n2Transitions} times: the loop did not exercise failovers`);
    assert.ok(Number.isFinite(d.floor) && Number.isFinite(d.nonHeap), 'heap figures read from the metrics');
    assert.ok(d.floor < HEAP_FLOOR_GROWTH_LIMIT_MB, `heap-in-use floor grew by ${d.floor.toFixed(1)} MiB`);
    assert.ok(d.nonHeap < NON_HEAP_GROWTH_LIMIT_MB, `RSS outside the V8 heap grew by ${d.nonHeap.toFixed(1)} MiB`);
    assert.ok(d.rss < RSS_GROWTH_LIMIT_MB, `RSS grew by ${d.rss.toFixed(1)} MiB`);
    assert.equal(d2.child!.exitCode, null, 'n2 still running');
    assert.equal(d2.pid(), pid2, 'n2 never restarted');
  });
});
