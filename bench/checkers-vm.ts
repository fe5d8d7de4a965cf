// bench/checkers, VM part: the time from a real server's death to its removal being applied in
// the kernel's IPVS table, for keepalived 2.2.7 and for the hacheck daemon on the same
// configuration, measured the same way (issue 4: "p99 time from a server's death to its removal
// being applied"; target: detection no slower than keepalived). Runs inside the IPVS VM
// (scripts/bench-checkers-vm.sh); the VM is software-emulated (TCG), so compare the ratio, not
// the absolute times.
//
// Set-up, inside the VM (it is its own machine, so its interfaces are ours to change):
//  * N real servers 10.200.0.1..N port 8080: /32 addresses on a dummy interface, each with its
//    own TCP listener in this process. Connects to a local address go through lo: while a
//    listener is open the handshake completes; once it is closed the port has no listener and
//    the kernel answers the SYN with a RST, so a check fails at once (ECONNREFUSED), as it
//    would against a host whose service died.
//  * one virtual_server, delay_loop 1, every real server with TCP_CHECK { connect_timeout 1,
//    retry 1, delay_before_retry 1 } (the issue's settings).
// Procedure, the same for both daemons, alternating (keepalived, hacheck, keepalived, …):
//  start the daemon on an empty table; wait until /proc/net/ip_vs lists all N destinations and
//  has stayed so for --settle seconds while every real server was checked (a connection
//  accepted by its listener: a daemon may fill the table before its checkers run); then, one
//  real server at a time (a different one each time): wait a random 0..delay_loop (so the death
//  falls anywhere in the check cycle), close its listener (t0), poll /proc/net/ip_vs every 5 ms
//  (a file read, no fork) until the destination is gone (t1; death → removal applied =
//  t1 − t0), re-open the listener, wait until the destination is back and settled again, next.
// Each daemon's log (-l) is read through a pipe and stamped on arrival: the "failed after N
// retries" line splits a removal into the checker's decision and the table update. The daemon's
// CPU (its process group, /proc/PID/stat) is divided by the checks its listeners accepted.
//
//   node dist/bench/checkers-vm.js [--servers 20] [--deaths 10] [--rounds 2] [--settle 2]
//                                  [--only keepalived|hacheck]
//   --deaths is per daemon; --rounds splits them into that many alternating daemon runs.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const run = (cmd: string, ...args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const argNum = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: expected a positive number`);
  return v;
};
const argStr = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};

const N = Math.floor(argNum('servers', 20));
const DEATHS = Math.floor(argNum('deaths', 10));
const ROUNDS = Math.min(DEATHS, Math.floor(argNum('rounds', 2)));
const SETTLE_MS = argNum('settle', 2) * 1000;
const ONLY = argStr('only');
if (N > 250) throw new Error('--servers: at most 250 (10.200.0.1..250)');

// The issue's checker settings, in seconds.
const DELAY_LOOP = 1;
const CONNECT_TIMEOUT = 1;
const RETRY = 1;
const DELAY_BEFORE_RETRY = 1;
/** Worst case when every attempt times out: the wait for the next check, then retry+1 attempts of
 * connect_timeout with delay_before_retry between them. A refused connect takes ~0 s instead of
 * connect_timeout, so a death that RSTs should be detected in delay_loop×U(0,1) + delay_before_retry×retry. */
const BOUND_S = DELAY_LOOP + CONNECT_TIMEOUT * (RETRY + 1) + DELAY_BEFORE_RETRY * RETRY;
const FAST_S = DELAY_LOOP + DELAY_BEFORE_RETRY * RETRY;

const IFACE = 'hcchk0';
const VIP = '192.168.220.1';
const RS_PORT = 8080;
const rsAddr = (i: number) => `10.200.0.${i + 1}`;
/** "  -> 0AC80001:1F90 " as /proc/net/ip_vs prints a destination (hex address and port). */
const procKey = (i: number) => `-> ${(0x0ac80000 + i + 1).toString(16).toUpperCase().padStart(8, '0')}:${RS_PORT.toString(16).toUpperCase().padStart(4, '0')} `;

const POLL_MS = 5;
const START_TIMEOUT_MS = 180_000;
const REMOVE_TIMEOUT_MS = 30_000;
const RESTORE_TIMEOUT_MS = 30_000;

/* --------------------------------------------------------------- listeners */

const listeners: (net.Server | undefined)[] = new Array(N).fill(undefined);
/** Connections accepted per real server: each one is a passing TCP_CHECK of the daemon. */
const accepted: number[] = new Array(N).fill(0);
const totalAccepted = () => accepted.reduce((a, b) => a + b, 0);

function listen(i: number): Promise<void> {
  const s = net.createServer((c) => {
    accepted[i]!++;
    c.on('error', () => {});
    c.destroy();
  });
  listeners[i] = s;
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen({ port: RS_PORT, host: rsAddr(i), backlog: 511 }, () => resolve());
  });
}

/** Close the listening socket: new connects to the port are refused (RST) from now on. */
function kill(i: number): Promise<void> {
  const s = listeners[i];
  listeners[i] = undefined;
  return s ? new Promise<void>((r) => s.close(() => r())) : Promise.resolve();
}

/** A connect to the dead port fails fast with ECONNREFUSED (checked once, before the daemons). */
async function probeRefused(i: number): Promise<string> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const c = net.connect({ host: rsAddr(i), port: RS_PORT });
    const timer = setTimeout(() => {
      c.destroy();
      resolve('no answer within 2 s');
    }, 2000);
    c.once('connect', () => {
      clearTimeout(timer);
      c.destroy();
      resolve('connected (listener still open?)');
    });
    c.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(`${e.code} after ${(performance.now() - t0).toFixed(1)} ms`);
    });
  });
}

/* ------------------------------------------------------------- IPVS table */

const readProc = () => readFileSync('/proc/net/ip_vs', 'utf8');
const present = (text: string, i: number) => text.includes(procKey(i));
function countPresent(text: string): number {
  let n = 0;
  for (let i = 0; i < N; i++) if (present(text, i)) n++;
  return n;
}

/** Poll /proc/net/ip_vs every POLL_MS until pred holds; the time it first held, or undefined. */
async function until(pred: (text: string) => boolean, timeoutMs: number, alive: () => boolean): Promise<number | undefined> {
  const t0 = performance.now();
  for (;;) {
    const text = readProc();
    const t = performance.now();
    if (pred(text)) return t;
    if (t - t0 > timeoutMs) return undefined;
    if (!alive()) throw new Error('the daemon exited');
    await sleep(POLL_MS);
  }
}

/* ----------------------------------------------------------------- daemons */

type Impl = 'keepalived' | 'hacheck';

function configText(): string {
  const out = ['global_defs {', '  router_id bench-checkers', '}', `virtual_server ${VIP} 80 {`, `  delay_loop ${DELAY_LOOP}`, '  lb_algo rr', '  lb_kind NAT', '  protocol TCP'];
  for (let i = 0; i < N; i++) {
    out.push(
      `  real_server ${rsAddr(i)} ${RS_PORT} {`,
      '    weight 1',
      '    TCP_CHECK {',
      `      connect_timeout ${CONNECT_TIMEOUT}`,
      `      retry ${RETRY}`,
      `      delay_before_retry ${DELAY_BEFORE_RETRY}`,
      '    }',
      '  }',
    );
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}

function argv(impl: Impl, dir: string, conf: string): string[] {
  if (impl === 'keepalived') return ['keepalived', '-n', '-l', '-G', '-C', '-f', conf, '-p', join(dir, 'k.pid'), '-c', join(dir, 'kc.pid')];
  const bin = fileURLToPath(new URL('../../bin/hacheck.js', import.meta.url));
  return [process.execPath, bin, '-n', '-l', '-G', '-C', '-f', conf, '-p', join(dir, 'h.pid'), '-c', join(dir, 'hc.pid'), '--status-socket', join(dir, 'h.sock')];
}

/** CPU seconds (user + system) of every process in the process group, from /proc/PID/stat. */
function groupCpuS(pgid: number): number {
  const hz = 100; // USER_HZ on Linux/x86
  let ticks = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      // fields after "(comm)": state ppid pgrp … utime is field 14, stime 15 (1-based, whole line)
      if (Number(f[2]) !== pgid) continue;
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      /* exited meanwhile */
    }
  }
  return ticks / hz;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    /* gone */
  }
  if ((await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])) === false) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    await Promise.race([exited, sleep(5_000)]);
  }
  // keepalived's checker child may outlive its parent by a moment
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    /* the whole group is gone */
  }
}

interface RunResult {
  startMs: number;
  removal: number[];
  /** death → the "failed after N retries" log line read (the checker's decision) */
  decision: number[];
  /** that log line → destination gone from /proc/net/ip_vs (negative: the line came after) */
  apply: number[];
  restore: number[];
  timeouts: number;
  spurious: number;
  /** table complete → settled with every real server checked */
  checkersMs: number;
  cpuS: number;
  /** passing checks (connections accepted) during the death/restore loops */
  checks: number;
  wallS: number;
}

let nextVictim = 0;

async function oneRun(impl: Impl, dir: string, conf: string, deaths: number, round: number): Promise<RunResult> {
  run('ipvsadm', '-C');
  const log = join(dir, `${impl}-${round}.log`);
  const fd = openSync(log, 'w');
  const t0 = performance.now();
  const child = spawn(argv(impl, dir, conf)[0]!, argv(impl, dir, conf).slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  // Every log line, stamped when this process reads it: the "… failed after 1 retries." line
  // marks the checker's decision, so a removal splits into detection and apply.
  const lines: { at: number; text: string }[] = [];
  let logOpen = true; // output can still arrive after 'exit'; fd must not be written once closed
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = '';
    stream.on('data', (b: Buffer) => {
      const at = performance.now();
      const parts = (partial + b.toString()).split('\n');
      partial = parts.pop()!;
      for (const text of parts) {
        lines.push({ at, text });
        if (logOpen) writeSync(fd, `${((at - t0) / 1000).toFixed(3)} ${text}\n`);
      }
    });
  }
  const alive = () => child.exitCode === null && child.signalCode === null;
  const res: RunResult = { startMs: 0, removal: [], decision: [], apply: [], restore: [], timeouts: 0, spurious: 0, checkersMs: 0, cpuS: 0, checks: 0, wallS: 0 };
  try {
    const tFull = await until((t) => countPresent(t) === N, START_TIMEOUT_MS, alive);
    if (tFull === undefined) throw new Error(`${impl}: table not complete within ${START_TIMEOUT_MS / 1000} s`);
    res.startMs = tFull - t0;
    const settled = async () => {
      // All N listed, continuously, for SETTLE_MS, and every real server checked (a connection
      // accepted) meanwhile: a daemon may fill the table before its checkers run.
      let since = performance.now();
      let seen = [...accepted];
      const deadline = since + START_TIMEOUT_MS;
      while (performance.now() - since < SETTLE_MS || accepted.some((a, i) => a === seen[i])) {
        if (performance.now() > deadline) throw new Error(`${impl}: table never settled, or some real servers never checked`);
        if (!alive()) throw new Error(`${impl} exited`);
        if (countPresent(readProc()) !== N) {
          since = performance.now();
          seen = [...accepted];
        }
        await sleep(20);
      }
    };
    const tFirst = performance.now();
    await settled();
    res.checkersMs = performance.now() - tFirst;
    const cpu0 = groupCpuS(child.pid!);
    const acc0 = totalAccepted();
    const w0 = performance.now();
    for (let d = 0; d < deaths; d++) {
      const v = nextVictim++ % N;
      await sleep(Math.random() * DELAY_LOOP * 1000);
      const tDeath = performance.now();
      await kill(v);
      let others = 0;
      const tGone = await until(
        (text) => {
          if (countPresent(text) < N - 1 + (present(text, v) ? 1 : 0)) others++;
          return !present(text, v);
        },
        REMOVE_TIMEOUT_MS,
        alive,
      );
      if (others) res.spurious++;
      if (tGone === undefined) res.timeouts++;
      else {
        res.removal.push(tGone - tDeath);
        await sleep(50); // let the log line, if any, arrive
        const a = rsAddr(v);
        const decided = lines.find((l) => l.at >= tDeath && / failed after \d+ retr/.test(l.text) && (l.text.includes(`${a}]`) || l.text.includes(`${a}:`)));
        if (decided) {
          res.decision.push(decided.at - tDeath);
          res.apply.push(tGone - decided.at);
        }
        if (tGone - tDeath > (FAST_S + 0.5) * 1000) {
          // slower than a refused connect allows: show what the daemon said meanwhile
          const said = lines.filter((l) => l.at >= tDeath && l.at <= tGone + 50).map((l) => `      +${((l.at - tDeath) / 1000).toFixed(2)} s ${l.text.slice(0, 160)}`);
          console.log(`    slow: ${impl} took ${s(tGone - tDeath)} to remove ${a} (run ${round + 1}, death ${d + 1}, ${((tDeath - t0) / 1000).toFixed(1)} s after start); its log meanwhile:\n${said.join('\n') || '      (nothing)'}`);
        }
      }
      await listen(v);
      const tListen = performance.now();
      const tBack = await until((text) => present(text, v), RESTORE_TIMEOUT_MS, alive);
      if (tBack === undefined) throw new Error(`${impl}: ${rsAddr(v)} not back within ${RESTORE_TIMEOUT_MS / 1000} s of its listener re-opening`);
      res.restore.push(tBack - tListen);
      await settled();
    }
    res.cpuS = groupCpuS(child.pid!) - cpu0;
    res.checks = totalAccepted() - acc0;
    res.wallS = (performance.now() - w0) / 1000;
    return res;
  } catch (e) {
    let tail = '';
    try {
      tail = readFileSync(log, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      /* no log */
    }
    throw new Error(`${(e as Error).message}\n--- last lines of ${impl}'s log:\n${tail}`);
  } finally {
    await stop(child);
    logOpen = false;
    closeSync(fd);
    try {
      run('ipvsadm', '-C');
    } catch {
      /* reported by the next run */
    }
  }
}

/* ------------------------------------------------------------------- stats */

const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
const median = (a: number[]) => {
  const s = sorted(a);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
/** Nearest-rank percentile. With fewer than 100 samples p99 is the maximum. */
const pct = (a: number[], p: number) => {
  const s = sorted(a);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function summary(name: string, rs: RunResult[]): { med: number; line: string } {
  const rem = rs.flatMap((r) => r.removal);
  const rest = rs.flatMap((r) => r.restore);
  const dec = rs.flatMap((r) => r.decision);
  const app = rs.flatMap((r) => r.apply);
  const cpu = rs.reduce((a, r) => a + r.cpuS, 0);
  const wall = rs.reduce((a, r) => a + r.wallS, 0);
  const checks = rs.reduce((a, r) => a + r.checks, 0);
  const timeouts = rs.reduce((a, r) => a + r.timeouts, 0);
  const spurious = rs.reduce((a, r) => a + r.spurious, 0);
  if (!rem.length) return { med: NaN, line: `${name}: no removal seen (${timeouts} timeouts)` };
  const p99 = rem.length >= 100 ? `p99 ${s(pct(rem, 99))}` : `p99 (= max, n < 100) ${s(pct(rem, 99))}`;
  const lines = [
    `${name}: death → removal applied, n=${rem.length}: median ${s(median(rem))}, ${p99}, min..max ${s(Math.min(...rem))}..${s(Math.max(...rem))}` +
      `${timeouts ? `, ${timeouts} not removed within ${REMOVE_TIMEOUT_MS / 1000} s` : ''}${spurious ? `, ${spurious} deaths during which another destination vanished` : ''}`,
    `    each (s): ${rem.map((x) => (x / 1000).toFixed(2)).join(' ')}`,
    dec.length
      ? `    split by the "failed after ${RETRY} retries" log line (stamped on arrival here, n=${dec.length}): death → line median ${s(median(dec))}, line → gone from /proc median ${s(median(app))} (min..max ${s(Math.min(...app))}..${s(Math.max(...app))})`
      : '    (no "failed after N retries" log line seen: no split into detection and apply)',
    `    listener back → destination re-added: median ${s(median(rest))}, max ${s(Math.max(...rest))}`,
    `    start → table complete: ${rs.map((r) => s(r.startMs)).join(', ')}; then → every real server checked and ${SETTLE_MS / 1000} s settled: ${rs.map((r) => s(r.checkersMs)).join(', ')}`,
    `    daemon CPU over the death/restore loops (live processes of its group): ${cpu.toFixed(2)} s in ${wall.toFixed(0)} s (${((cpu / wall) * 100).toFixed(1)}% of one emulated core) for ${checks} passing checks = ${((cpu / checks) * 1000).toFixed(2)} CPU s per 1,000 checks (emulated)`,
  ];
  return { med: median(rem), line: lines.join('\n') };
}

/* -------------------------------------------------------------------- main */

async function main(): Promise<void> {
  try {
    run('ipvsadm', '-C');
  } catch (e) {
    console.error(`bench/checkers-vm needs IPVS and root; run scripts/bench-checkers-vm.sh (${(e as Error).message.split('\n')[0]})`);
    process.exit(2);
  }
  const impls: Impl[] = ONLY === 'keepalived' || ONLY === 'hacheck' ? [ONLY] : ['keepalived', 'hacheck'];
  console.log(`bench/checkers (VM) on ${run('uname', '-r').trim()}, ${run('sh', '-c', 'keepalived --version 2>&1').split('\n')[0]!.trim()}, IPVS_VM=${process.env.IPVS_VM ?? 'no'}, ${run('nproc').trim()} vCPU`);
  console.log(
    `${N} real servers ${rsAddr(0)}..${rsAddr(N - 1)}:${RS_PORT} (listeners on a dummy interface), TCP_CHECK delay_loop ${DELAY_LOOP}, connect_timeout ${CONNECT_TIMEOUT}, retry ${RETRY}, delay_before_retry ${DELAY_BEFORE_RETRY}; ` +
      `${DEATHS} deaths per daemon in ${ROUNDS} alternating runs, settle ${SETTLE_MS / 1000} s, poll ${POLL_MS} ms`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'hc-bench-checkers-'));
  const conf = join(dir, 'checkers.conf');
  writeFileSync(conf, configText());
  const results: Record<Impl, RunResult[]> = { keepalived: [], hacheck: [] };
  let ifaceAdded = false;
  try {
    run('ip', 'link', 'add', IFACE, 'type', 'dummy');
    ifaceAdded = true;
    run('ip', 'link', 'set', IFACE, 'up');
    for (let i = 0; i < N; i++) run('ip', 'addr', 'add', `${rsAddr(i)}/32`, 'dev', IFACE);
    for (let i = 0; i < N; i++) await listen(i);
    await kill(0);
    console.log(`a connect to a dead real server: ${await probeRefused(0)}`);
    await listen(0);
    for (let r = 0; r < ROUNDS; r++) {
      const deaths = Math.floor(DEATHS / ROUNDS) + (r < DEATHS % ROUNDS ? 1 : 0);
      for (const impl of r % 2 ? [...impls].reverse() : impls) {
        const res = await oneRun(impl, dir, conf, deaths, r);
        results[impl].push(res);
        console.log(
          `  run ${r + 1}/${ROUNDS} ${impl}: start → complete ${s(res.startMs)}, → checked and settled +${s(res.checkersMs)}; removal ${res.removal.map((x) => (x / 1000).toFixed(2)).join(' ')} s` +
            `${res.timeouts ? ` (+${res.timeouts} timeouts)` : ''}; re-add median ${s(median(res.restore))}`,
        );
      }
    }
  } finally {
    for (let i = 0; i < N; i++) await kill(i);
    try {
      run('ipvsadm', '-C');
    } catch {
      /* best effort */
    }
    if (ifaceAdded) {
      try {
        run('ip', 'link', 'del', IFACE);
      } catch {
        /* best effort */
      }
    }
  }
  console.log(`theoretical bound delay_loop + connect_timeout×(retry+1) + delay_before_retry×retry = ${BOUND_S} s (all attempts time out); with refused connects: ≤ delay_loop + delay_before_retry×retry = ${FAST_S} s + apply`);
  const sums = impls.map((i) => summary(i === 'keepalived' ? 'keepalived 2.2.7' : 'hacheck -n -C', results[i]));
  for (const x of sums) console.log(x.line);
  if (sums.length === 2) console.log(`ratio hacheck/keepalived of the medians: ${(sums[1]!.med / sums[0]!.med).toFixed(2)} (target ≤ 1: detection no slower than keepalived)`);
}

await main();
