/**
 * `npm run demo`: hacheck at work in a lab of network namespaces.
 *
 *   client ─┐                      ┌─ rs1 (HTTP :80)
 *   d1 ─────┼── bridge 10.77.0/24 ─┼─ rs2 (HTTP :80)
 *   d2 ─────┘                      │
 *
 * Two directors (d1 priority 150, d2 priority 100) run hacheck with one VRRPv3 instance holding
 * the VIP and one LVS-DR virtual_server on the VIP with both real servers behind TCP_CHECKs. The
 * demo narrates: the election, a kill -9 of the master and the failover (measured), the restart
 * and preemption, a real server stopping (its removal from the IPVS table) and coming back.
 *
 * Where the kernel has no IPVS, hacheck says so and logs the ipvsadm lines it would apply
 * (src/ipvs/dry-run.ts); the demo shows those lines instead of `ipvsadm -L -n`, and the client
 * then reaches the directors on the VIP but not the real servers through it.
 *
 * Everything is removed on exit, on error and on SIGINT/SIGTERM. Needs root.
 *
 *   node dist/demo/demo.js [--verbose]     (--verbose: every daemon log line)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';

import { Lab, IFACE, namespacesWithPrefix } from './lab.js';

/* ------------------------------------------------------------------ setup */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HACHECK = join(ROOT, 'bin/hacheck.js');
export const PREFIX = 'hcdemo-';
const LOCK = join(tmpdir(), 'hcdemo.lock');

const NET = '10.77.0';
const VIP = `${NET}.100`;
const VRID = 77;
const ADVERT_INT = 0.5; // seconds (VRRPv3 allows centiseconds)
const HOSTS = [
  { name: 'd1', addr: `${NET}.11/24` },
  { name: 'd2', addr: `${NET}.12/24` },
  { name: 'rs1', addr: `${NET}.21/24` },
  { name: 'rs2', addr: `${NET}.22/24` },
  { name: 'client', addr: `${NET}.50/24` },
];
const PRIORITY: Record<string, number> = { d1: 150, d2: 100 };
/** Bound on a hacheck start (about 0.5 s here; 30 s under CPU emulation). */
const STARTUP_MS = 90_000;
const ip = (host: string) => HOSTS.find((h) => h.name === host)!.addr.split('/')[0]!;

const verbose = process.argv.includes('--verbose') || process.argv.includes('-v');
const t0 = Date.now();

/* -------------------------------------------------------------- narration */

function stamp(at = Date.now()): string {
  const d = new Date(at);
  const hms = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}:${String(d.getSeconds()).padStart(2, '0')}.${String(d.getMilliseconds()).padStart(3, '0')}`;
  return `${hms} +${((at - t0) / 1000).toFixed(1).padStart(4)}s`;
}
function say(text: string, at?: number): void {
  const pad = ' '.repeat(stamp().length + 3);
  process.stdout.write(`[${stamp(at)}] ${text.split('\n').join(`\n${pad}`)}\n`);
}
function section(title: string): void {
  process.stdout.write(`\n== ${title}\n`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/* -------------------------------------------------------------- directors */

interface LogEntry {
  at: number;
  msg: string;
  level: number;
  fields: Record<string, unknown>;
}

/** Log lines worth showing as they happen (the rest only with --verbose). */
const INTERESTING = /Entering (MASTER|BACKUP|FAULT)|Kernel has no IPVS|Removing service|Adding service|Disabling service|Enabling service|failed|IPVS table changed/;

class Director {
  child?: ChildProcess;
  log: LogEntry[] = [];
  private exitWaiter?: Promise<void>;
  expectExit = false;

  constructor(
    readonly lab: Lab,
    readonly name: string,
    readonly dir: string,
  ) {
    writeFileSync(this.conf, directorConfig(name));
  }

  get conf(): string {
    return join(this.dir, `${this.name}.conf`);
  }

  start(): void {
    const f = (s: string) => join(this.dir, `${this.name}.${s}`);
    this.expectExit = false;
    const child = this.lab.spawn(this.name, [
      process.execPath, HACHECK, '-n', '--config', this.conf,
      '-p', f('pid'), '-r', f('vrrp.pid'), '-c', f('checkers.pid'), '--status-socket', f('status.sock'),
    ]);
    this.child = child;
    const onLine = (line: string) => {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line) as Record<string, unknown>;
      } catch {
        o = { msg: line, level: 30 };
      }
      const e: LogEntry = { at: Date.now(), msg: String(o.msg ?? ''), level: Number(o.level ?? 30), fields: o };
      this.log.push(e);
      if (verbose || INTERESTING.test(e.msg) || e.level >= 50) say(`  ${this.name} │ ${e.msg}`, e.at);
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    this.exitWaiter = new Promise((r) => child.once('exit', () => r()));
    child.once('exit', (code, signal) => {
      if (!this.expectExit && !stopping) fail(new Error(`hacheck on ${this.name} exited unexpectedly (${signal ?? `status ${code}`})`));
    });
  }

  running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stop it with a signal; waits at most `timeoutMs` for the exit. */
  async stop(sig: NodeJS.Signals, timeoutMs = 5000): Promise<void> {
    if (!this.child || !this.running()) return;
    this.expectExit = true;
    Lab.kill(this.child, sig);
    await Promise.race([this.exitWaiter, sleep(timeoutMs)]);
    if (this.running()) {
      Lab.kill(this.child, 'SIGKILL');
      await Promise.race([this.exitWaiter, sleep(2000)]);
    }
  }

  /** The first log entry at or after `since` whose message matches. */
  async waitLog(re: RegExp, since: number, timeoutMs: number): Promise<LogEntry> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const e = this.log.find((l) => l.at >= since && re.test(l.msg));
      if (e) return e;
      if (Date.now() > end) throw new Error(`${this.name}: no log line matching ${re} within ${timeoutMs / 1000} s`);
      await sleep(20);
    }
  }

  holdsVip(): boolean {
    return this.lab.addresses(this.name).includes(VIP);
  }
}

/** keepalived.conf of a director. */
function directorConfig(name: string): string {
  const rs = (host: string) => `    real_server ${ip(host)} 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }`;
  return `# hacheck demo: director ${name}
global_defs {
    router_id ${PREFIX}${name}
}

vrrp_instance VI_DEMO {
    state BACKUP
    interface ${IFACE}
    virtual_router_id ${VRID}
    priority ${PRIORITY[name]}
    version 3
    advert_int ${ADVERT_INT}
    virtual_ipaddress {
        ${VIP}/24
    }
}

virtual_server ${VIP} 80 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
${rs('rs1')}
${rs('rs2')}
}
`;
}

/* ------------------------------------------------------------ lab servers */

/** A tiny HTTP server answering its name (the real servers, and "who has the VIP" on the directors). */
const HTTP_SERVER = `
const [name, port] = process.argv.slice(1);
require('http').createServer((q, s) => { s.setHeader('connection', 'close'); s.end(name + '\\n'); })
  .listen(Number(port), '0.0.0.0', () => console.log('listening'));
`;

async function startHttp(lab: Lab, host: string, name: string, port: number): Promise<ChildProcess> {
  const child = lab.spawn(host, [process.execPath, '-e', HTTP_SERVER, name, String(port)]);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`HTTP server on ${host}:${port} did not start`)), STARTUP_MS);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', () => reject(new Error(`HTTP server on ${host}:${port} exited`)));
  });
  return child;
}

/** curl if installed (starts in milliseconds), else node. */
const CURL = ['/usr/bin/curl', '/bin/curl', '/usr/local/bin/curl'].find((p) => existsSync(p));

/** GET from the client namespace; the body's first line, or what went wrong. */
async function clientGet(lab: Lab, url: string): Promise<string> {
  if (CURL) {
    const r = await lab.execAsync('client', [CURL, '-sS', '-m', '2', '--noproxy', '*', url], 10_000);
    const text = (r.out.split('\n')[0] ?? '').trim();
    return r.ok ? text || 'empty answer' : `no answer (${text.replace(/^curl: \(\d+\)\s*/, '') || 'curl failed'})`;
  }
  const code = `require('http').get(process.argv[1], { timeout: 1500 }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => console.log(b.trim())); })
    .on('timeout', function () { console.log('no answer (timeout)'); this.destroy(); })
    .on('error', (e) => { if (e.code !== 'ECONNRESET') console.log(e.code === 'ECONNREFUSED' ? 'connection refused' : e.message); });`;
  const r = await lab.execAsync('client', [process.execPath, '-e', code, url], 20_000);
  return r.ok ? (r.out.split('\n')[0] ?? '').trim() || 'no answer' : 'no answer (request did not complete)';
}

/* ------------------------------------------------------------------- IPVS */

let ipvsReal = false;

/** Does the kernel have IPVS? (Checked in a lab namespace, as hacheck does at start.) */
function kernelIpvs(lab: Lab): { ok: boolean; why: string } {
  if (existsSync('/proc/net/ip_vs')) return { ok: true, why: '' };
  try {
    lab.exec('d1', ['ipvsadm', '-S', '-n']);
    return { ok: true, why: '' };
  } catch (e) {
    const text = (e as Error).message;
    const init = /Can't initialize ipvs[^\n]*/.exec(text)?.[0];
    return { ok: false, why: init ? `ipvsadm: ${init}` : /exec of|No such file/.test(text) ? 'ipvsadm is not installed' : text.split('\n')[0]! };
  }
}

/** Show a director's IPVS table: the kernel's, or the dry-run lines logged since `since`. */
function showIpvs(d: Director, since: number): void {
  if (ipvsReal) {
    const out = d.lab.exec(d.name, ['ipvsadm', '-L', '-n'], true).trimEnd();
    say(`${d.name}: ipvsadm -L -n\n${out.split('\n').map((l) => `    ${l}`).join('\n')}`);
    return;
  }
  const lines = d.log.filter((l) => l.at >= since && l.msg.startsWith('IPVS dry run'));
  if (!lines.length) say(`${d.name}: no IPVS change logged`);
  for (const l of lines) {
    const ops = l.msg.replace(/^IPVS dry run, not applied:\s*/, '').split('; ');
    const when = `+${((l.at - t0) / 1000).toFixed(1)}s`;
    say(`${d.name} logged at ${when} the IPVS change it would make (no IPVS here), as ipvsadm -R lines:\n${ops.map((o) => `    ${o}`).join('\n')}`);
  }
}

/** Wait (at most 5 s) until a director's kernel IPVS table satisfies `pred`. */
async function waitTable(d: Director, pred: (table: string) => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (Date.now() < end && !pred(d.lab.exec(d.name, ['ipvsadm', '-L', '-n'], true))) await sleep(50);
}

async function showClient(lab: Lab, expectDirector: string): Promise<void> {
  const who = await clientGet(lab, `http://${VIP}:8080/`);
  say(`client: GET http://${VIP}:8080/ → "${who}"${who === `director ${expectDirector}` ? '' : `  (expected director ${expectDirector})`}`);
  if (ipvsReal) {
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) answers.push(await clientGet(lab, `http://${VIP}/`));
    say(`client: 4 × GET http://${VIP}/ through IPVS (rr) → ${answers.map((a) => `"${a}"`).join(', ')}`);
  }
}

/* ------------------------------------------------------------ lifecycle */

let lab: Lab | undefined;
let dir: string | undefined;
let stopping = false;
let failed: ((e: Error) => void) | undefined;

function cleanupSync(): void {
  if (lab) {
    lab.destroy();
    lab = undefined;
  }
  if (dir) {
    rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  }
  try {
    if (readFileSync(LOCK, 'utf8').trim() === String(process.pid)) rmSync(LOCK, { force: true });
  } catch {
    /* no lock */
  }
}

function fail(e: Error): void {
  failed?.(e);
}

function onSignal(sig: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n[${stamp()}] ${sig}: stopping every process and removing the ${PREFIX}* namespaces\n`);
  cleanupSync();
  process.stdout.write(`[${stamp()}] cleaned up\n`);
  process.exit(sig === 'SIGINT' ? 130 : 143);
}

/** Refuse to run beside another demo; remove what a killed earlier run left behind. */
function takeLock(): void {
  try {
    const pid = Number(readFileSync(LOCK, 'utf8').trim());
    if (pid && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        throw new Error(`another demo is running (pid ${pid}); stop it first`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      }
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  writeFileSync(LOCK, `${process.pid}\n`);
  const left = namespacesWithPrefix(PREFIX);
  if (left.length) {
    say(`removing namespaces left by an earlier run: ${left.join(' ')}`);
    new Lab(PREFIX).destroy();
  }
}

/* ------------------------------------------------------------------ story */

async function story(): Promise<void> {
  takeLock();
  dir = mkdtempSync(join(tmpdir(), 'hcdemo-'));
  lab = new Lab(PREFIX);
  const L = lab;

  section('Lab');
  L.up(HOSTS);
  say(`namespaces ${HOSTS.map((h) => PREFIX + h.name).join(', ')} on one bridge (${PREFIX}br), ${NET}.0/24:\n` +
    HOSTS.map((h) => `${h.name.padEnd(6)} ${h.addr.padEnd(14)} ${L.host(h.name).mac}`).join('\n'));

  const ipvs = kernelIpvs(L);
  ipvsReal = ipvs.ok;
  if (ipvs.ok) say('this kernel has IPVS: the directors will change real IPVS tables (ipvsadm -L -n shows them)');
  else {
    say(`THIS KERNEL HAS NO IPVS (${ipvs.why}).\n` +
      'The directors run anyway: hacheck logs the ipvsadm lines it would apply instead of changing a kernel table,\n' +
      'and the demo shows those lines. The client reaches the directors on the VIP, not the real servers through it.');
  }

  // Real servers: LVS-DR needs the VIP on their loopback, and no ARP answers for it.
  for (const rs of ['rs1', 'rs2']) {
    L.exec(rs, ['sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2']);
    L.ip(L.host(rs).ns, ['addr', 'add', `${VIP}/32`, 'dev', 'lo']);
  }
  const rsServer: Record<string, ChildProcess> = {};
  await Promise.all(['rs1', 'rs2'].map(async (rs) => (rsServer[rs] = await startHttp(L, rs, `real server ${rs}`, 80))));
  await Promise.all(['d1', 'd2'].map((d) => startHttp(L, d, `director ${d}`, 8080)));
  say(`rs1 and rs2 serve HTTP on :80 (VIP ${VIP} on their loopback for LVS-DR); d1 and d2 answer "director dN" on :8080`);

  const d1 = new Director(L, 'd1', dir);
  const d2 = new Director(L, 'd2', dir);
  const D = { d1, d2 };

  section('1. Election');
  say(`starting hacheck on d1 (priority 150) and d2 (priority 100): VRRPv3 VRID ${VRID}, advert_int ${ADVERT_INT} s, VIP ${VIP};\n` +
    `virtual_server ${VIP}:80 (rr, DR) with TCP_CHECKs of rs1 and rs2 every second`);
  const tStart = Date.now();
  d1.start();
  d2.start();
  // Node's start-up is slow on a loaded or emulated machine: a generous bound for that first.
  await Promise.all([d1, d2].map((d) => d.waitLog(/Entering BACKUP STATE \(init\)/, tStart, STARTUP_MS)));
  if (!ipvsReal) await d1.waitLog(/Kernel has no IPVS/, tStart, 20_000);
  await d1.waitLog(/Entering MASTER STATE/, tStart, 30_000);
  // Stable: d1 holds the VIP, d2 does not (d2 may have been master for a moment if d1 started late).
  const stable = Date.now() + 20_000;
  while (!(d1.holdsVip() && !d2.holdsVip())) {
    if (Date.now() > stable) throw new Error('no stable election within 20 s');
    await sleep(50);
  }
  const d2First = d2.log.find((l) => l.at >= tStart && /Entering MASTER STATE/.test(l.msg));
  const d1Master = d1.log.find((l) => l.at >= tStart && /Entering MASTER STATE/.test(l.msg))!;
  if (d2First && d2First.at <= d1Master.at) {
    say(`(d2's hacheck started first, so its Master_Down timer ran out first; d1, with the higher priority, ignored d2's\n` +
      ` lower-priority adverts, took over when its own timer ran out, and d2 went back to BACKUP on d1's first advert)`);
  }
  say(`ELECTION: d1 is MASTER and holds ${VIP} on ${IFACE}; d2 is BACKUP`);
  if (!ipvsReal) await d1.waitLog(/IPVS dry run/, tStart, 10_000);
  showIpvs(d1, tStart);
  await showClient(L, 'd1');

  section('2. Failover: kill -9 of hacheck on the master (d1)');
  const skew = ((256 - PRIORITY.d2!) * ADVERT_INT) / 256;
  const expected = 3 * ADVERT_INT + skew;
  const tKill = Date.now();
  await d1.stop('SIGKILL');
  say(`hacheck on d1 killed with SIGKILL: no priority-0 advert, d2 must wait for its Master_Down timer` +
    (d1.holdsVip() ? `;\nthe VIP stays configured on d1's ${IFACE} (nobody left to remove it, as with keepalived)` : ''), tKill);
  const master2 = await d2.waitLog(/Entering MASTER STATE/, tKill, 15_000);
  let tVip = Date.now();
  while (!d2.holdsVip()) {
    if (Date.now() - tVip > 10_000) throw new Error('d2 did not take the VIP');
    await sleep(10);
  }
  tVip = Date.now();
  say(`FAILOVER: d2 became MASTER ${((master2.at - tKill) / 1000).toFixed(2)} s after the kill (VIP on d2 at ${((tVip - tKill) / 1000).toFixed(2)} s).\n` +
    `RFC 5798: Master_Down_Interval = 3 × ${ADVERT_INT} s + skew ${skew.toFixed(3)} s = ${expected.toFixed(3)} s from d1's last advert,\n` +
    `which went out up to ${ADVERT_INT} s before the kill: expect ${(expected - ADVERT_INT).toFixed(2)} to ${expected.toFixed(2)} s. d2's gratuitous ARPs point the network at d2.`);
  await showClient(L, 'd2');

  section('3. d1 comes back and preempts (higher priority)');
  const tRestart = Date.now();
  d1.start();
  await d1.waitLog(/Entering BACKUP STATE \(init\)/, tRestart, STARTUP_MS);
  const back = await d1.waitLog(/Entering MASTER STATE/, tRestart, 30_000);
  await d2.waitLog(/Entering BACKUP STATE/, tRestart, 10_000);
  say(`d1 MASTER again ${((back.at - tRestart) / 1000).toFixed(2)} s after its restart; d2 back to BACKUP`);
  await sleep(300); // the client's ARP entry follows d1's gratuitous ARPs
  await showClient(L, 'd1');

  section('4. Real server rs2 stops');
  const tStop = Date.now();
  Lab.kill(rsServer.rs2!, 'SIGKILL');
  say('HTTP server on rs2 stopped: its TCP_CHECK now gets "connection refused"', tStop);
  const removed = await Promise.all(Object.values(D).map((d) => d.waitLog(/Removing service \[10\.77\.0\.22\]/, tStop, 20_000)));
  say(`rs2 removed from the virtual server on both directors, ${((Math.max(...removed.map((r) => r.at)) - tStop) / 1000).toFixed(2)} s after it stopped`);
  if (!ipvsReal) await d1.waitLog(/IPVS dry run.*-d -t 10\.77\.0\.100:80 -r 10\.77\.0\.22/, tStop, 5000);
  else await waitTable(d1, (t) => !t.includes(`${ip('rs2')}:80`));
  showIpvs(d1, tStop);
  if (ipvsReal) await showClient(L, 'd1');

  section('5. rs2 starts again');
  const tUp = Date.now();
  rsServer.rs2 = await startHttp(L, 'rs2', 'real server rs2', 80);
  say('HTTP server on rs2 started again');
  const added = await Promise.all(Object.values(D).map((d) => d.waitLog(/Adding service \[10\.77\.0\.22\]/, tUp, 20_000)));
  say(`rs2 back in the virtual server on both directors, ${((Math.max(...added.map((r) => r.at)) - tUp) / 1000).toFixed(2)} s after it started`);
  if (!ipvsReal) await d1.waitLog(/IPVS dry run.*-a -t 10\.77\.0\.100:80 -r 10\.77\.0\.22/, tUp, 5000);
  else await waitTable(d1, (t) => t.includes(`${ip('rs2')}:80`));
  showIpvs(d1, tUp);
  if (ipvsReal) await showClient(L, 'd1');

  section('Done');
  stopping = true;
  const tEnd = Date.now();
  await Promise.all([d1.stop('SIGTERM'), d2.stop('SIGTERM')]);
  say(`hacheck stopped on both directors with SIGTERM (VIP released: ${d1.holdsVip() || d2.holdsVip() ? 'no!' : 'yes'}; virtual server removed)`);
  showIpvs(d1, tEnd);
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('The demo needs root: it creates network namespaces (run it with sudo).\n');
    return 1;
  }
  if (!existsSync(join(ROOT, 'dist/src/cli/main.js'))) {
    process.stderr.write('hacheck is not built: run npm run build first.\n');
    return 1;
  }
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('exit', cleanupSync);
  process.stdout.write(`hacheck demo: VRRP election and failover, LVS real-server health, in network namespaces ${PREFIX}* (about 15 s)\n`);
  const failure = new Promise<never>((_, reject) => (failed = reject));
  try {
    await Promise.race([story(), failure]);
  } catch (e) {
    stopping = true;
    process.stdout.write(`\n[${stamp()}] DEMO FAILED: ${(e as Error).message}\n`);
    cleanupSync();
    process.stdout.write(`[${stamp()}] cleaned up\n`);
    return 1;
  }
  cleanupSync();
  say(`cleaned up: no ${PREFIX}* namespace or process left. Total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${String(e)}\n`);
    cleanupSync();
    process.exit(1);
  },
);
