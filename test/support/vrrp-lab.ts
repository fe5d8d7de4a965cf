/**
 * VRRP daemons (hacheck or keepalived) in a namespace lab: write a config, start the daemon in a
 * host namespace, look at its VIPs and logs, stop it with a signal.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { HACHECK } from './paths.js';
import { Lab, canNetns, nsExec, until, type LabOptions } from './netns.js';
import { fetchStatus } from '../../src/cli/status.js';

export type Impl = 'hacheck' | 'keepalived';

export interface InstanceSpec {
  name?: string;
  state?: 'MASTER' | 'BACKUP';
  priority?: number;
  vrid?: number;
  advertInt?: number | string;
  version?: 2 | 3;
  vips: string[];
  auth?: string;
  extra?: string[];
  unicastPeers?: string[];
  unicastSrc?: string;
  iface?: string;
}

export function instanceBlock(s: InstanceSpec): string {
  const lines = [
    `vrrp_instance ${s.name ?? 'VI_1'} {`,
    `    state ${s.state ?? 'BACKUP'}`,
    `    interface ${s.iface ?? 'lab0'}`,
    `    virtual_router_id ${s.vrid ?? 51}`,
    `    priority ${s.priority ?? 100}`,
    `    advert_int ${s.advertInt ?? 1}`,
  ];
  if (s.version) lines.push(`    version ${s.version}`);
  if (s.auth) lines.push('    authentication {', '        auth_type PASS', `        auth_pass ${s.auth}`, '    }');
  if (s.unicastSrc) lines.push(`    unicast_src_ip ${s.unicastSrc}`);
  if (s.unicastPeers) lines.push('    unicast_peer {', ...s.unicastPeers.map((p) => `        ${p}`), '    }');
  lines.push('    virtual_ipaddress {', ...s.vips.map((v) => `        ${v}`), '    }');
  for (const e of s.extra ?? []) lines.push(`    ${e}`);
  lines.push('}');
  return lines.join('\n');
}

export class Daemon {
  readonly dir: string;
  child?: ChildProcess;
  private out = '';
  private exited?: Promise<void>;

  constructor(readonly lab: Lab, readonly host: string, readonly impl: Impl, readonly config: string) {
    this.dir = mkdtempSync(join(tmpdir(), `hc-${impl}-`));
    writeFileSync(join(this.dir, 'keepalived.conf'), config);
  }

  get ns(): string {
    return this.lab.host(this.host).ns;
  }

  start(extraArgs: string[] = []): this {
    const conf = join(this.dir, 'keepalived.conf');
    const argv = this.impl === 'hacheck'
      ? ['env', `TMPDIR=${this.dir}`, 'node', HACHECK, '-n', '-f', conf, '-p', join(this.dir, 'pid'), '--status-socket', join(this.dir, 'status.sock'), ...extraArgs]
      : ['env', `TMPDIR=${this.dir}`, 'keepalived', '-n', '-l', '-D', '-f', conf, '-p', join(this.dir, 'pid'),
        '-r', join(this.dir, 'vrrp.pid'), '-c', join(this.dir, 'checkers.pid'), ...extraArgs];
    this.out = '';
    // TMPDIR: the default place of both daemons' dump files (keepalived.stats, .data, .json), so
    // each node has its own and no test clobbers another's.
    // setsid: the daemon leads its own process group, as under the failover harness.
    this.child = this.lab.spawn(this.host, ['setsid', ...argv]);
    this.child.stdout!.setEncoding('utf8');
    this.child.stderr!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => (this.out += d));
    this.child.stderr!.on('data', (d: string) => (this.out += d));
    const c = this.child;
    this.exited = new Promise((r) => c.once('exit', () => r()));
    return this;
  }

  /** Everything the daemon printed so far. */
  output(): string {
    return this.out;
  }

  /** The log messages (`msg` of JSON lines, or raw lines for keepalived). */
  messages(): string[] {
    return this.out.split('\n').filter(Boolean).map((l) => {
      try {
        return (JSON.parse(l) as { msg?: string }).msg ?? l;
      } catch {
        return l;
      }
    });
  }

  async waitLog(re: RegExp, timeoutMs: number): Promise<boolean> {
    return until(() => this.messages().some((m) => re.test(m)), timeoutMs);
  }

  /** The daemon's pid (the process `ip netns exec setsid` became). */
  pid(): number | undefined {
    try {
      return Number(readFileSync(join(this.dir, 'pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  async signal(sig: NodeJS.Signals, waitExit = true, timeoutMs = 10_000): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    if (sig === 'SIGKILL') {
      // The whole process group, as the harness does: keepalived's children must not stop gracefully.
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
      const pid = this.pid();
      if (pid) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    } else {
      const pid = this.pid() ?? c.pid!;
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
    if (waitExit) await Promise.race([this.exited, new Promise((r) => setTimeout(r, timeoutMs))]);
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM', true, 8000);
    await this.signal('SIGKILL', true, 2000);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The first VRRP instance's state from the status socket, or undefined while it does not answer. */
  async vrrpState(timeoutMs = 2000): Promise<string | undefined> {
    try {
      return (await fetchStatus(join(this.dir, 'status.sock'), timeoutMs)).vrrp[0]?.state;
    } catch {
      return undefined;
    }
  }

  /**
   * Where the daemon writes its statistics on SIGUSR2: `$TMPDIR/keepalived.stats` (unless the
   * config moves it). keepalived 2.2.7 has no keyword for this file, but it honours TMPDIR, which
   * start() points at this daemon's own directory, so every node has its own file and none
   * clobbers another's. hacheck writes the same file in the same layout.
   */
  get statsFile(): string {
    return join(this.dir, 'keepalived.stats');
  }

  /**
   * SIGUSR2 to the daemon (keepalived's parent forwards it to its VRRP child), then wait for the
   * stats file to be written whole and parse it. The old file is removed first, so what is read
   * is the answer to this signal.
   */
  async statsDump(timeoutMs = 10_000): Promise<KeepalivedStats> {
    rmSync(this.statsFile, { force: true });
    await this.signal('SIGUSR2', false);
    let stats: KeepalivedStats | undefined;
    const ok = await until(() => {
      let text: string;
      try {
        text = readFileSync(this.statsFile, 'utf8');
      } catch {
        return false;
      }
      stats = completeStats(text);
      return stats !== undefined;
    }, timeoutMs, 50);
    if (!ok || !stats) throw new Error(`${this.impl} wrote no complete ${this.statsFile} within ${timeoutMs} ms`);
    return stats;
  }
}

/**
 * keepalived's SIGUSR2 statistics, per VRRP instance, keyed `Section/Counter` for counters under
 * a heading (`Packet Errors/Length`, `Authentication Errors/Failure`, `Advertisements/Received`,
 * `Priority Zero/Sent` …) and by their own name for top-level ones (`Became master`).
 */
export type KeepalivedStats = Map<string, Record<string, number>>;

/**
 * Parse the text of keepalived's `keepalived.stats` (format of vrrp_print_stats(), 2.2.x): a
 * `VRRP Instance: NAME` line, then two-space-indented counters or headings and
 * four-space-indented counters under the last heading. Unknown lines are an error, so a format
 * change cannot make the checks pass vacuously.
 */
export function parseKeepalivedStats(text: string): KeepalivedStats {
  const out: KeepalivedStats = new Map();
  let cur: Record<string, number> | undefined;
  let heading: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let m: RegExpExecArray | null;
    if ((m = /^VRRP Instance: (\S+)$/.exec(line))) {
      cur = {};
      heading = undefined;
      out.set(m[1]!, cur);
    } else if (cur && (m = /^ {2}(\S[^:]*):$/.exec(line))) {
      heading = m[1]!;
    } else if (cur && (m = /^ {2}(\S[^:]*): (\d+)$/.exec(line))) {
      heading = undefined;
      cur[m[1]!] = Number(m[2]);
    } else if (cur && heading && (m = /^ {4}(\S[^:]*): (\d+)$/.exec(line))) {
      cur[`${heading}/${m[1]!}`] = Number(m[2]);
    } else {
      throw new Error(`keepalived stats: unexpected line ${JSON.stringify(line)}`);
    }
  }
  return out;
}

/** The parsed stats if `text` is a whole file (each instance ends with `Priority Zero/Sent`). */
function completeStats(text: string): KeepalivedStats | undefined {
  if (!text.endsWith('\n')) return undefined;
  try {
    const s = parseKeepalivedStats(text);
    if (s.size === 0 || [...s.values()].some((c) => c['Priority Zero/Sent'] === undefined)) return undefined;
    return s;
  } catch {
    return undefined;
  }
}

/**
 * The lab and daemons of one mocha `describe`, with its hooks: the suite is skipped without
 * root and `ip netns` (or without keepalived when asked), and after each test (or after all of
 * them) every daemon still listed is stopped and its directory removed, its output printed
 * first when the test failed, then the lab is destroyed, also when the test failed.
 */
export class DaemonLab {
  lab?: Lab;
  readonly daemons: Daemon[] = [];

  /**
   * Register the hooks in the calling `describe`. `teardown: 'after'` tears down once after the
   * last test (a suite whose one test builds a long-lived lab); `tail` is how much of a failed
   * daemon's output is printed.
   */
  constructor(opts: { keepalived?: boolean; teardown?: 'afterEach' | 'after'; tail?: number } = {}) {
    const tail = opts.tail ?? 3000;
    before(function () {
      if (!canNetns) {
        process.stderr.write('    (skipped: needs root and `ip netns`)\n');
        this.skip();
      }
      if (opts.keepalived && !haveKeepalived) {
        process.stderr.write('    (skipped: keepalived 2.x is not installed)\n');
        this.skip();
      }
    });
    const self = this;
    (opts.teardown === 'after' ? after : afterEach)(async function () {
      await self.teardown(this.currentTest?.state === 'failed', tail);
    });
  }

  /** Build the lab (destroyed by the hooks). */
  up(opts: LabOptions): Lab {
    this.lab = new Lab(opts).up();
    return this.lab;
  }

  /**
   * The usual VRRP lab: n1 (`net`.11/24) and n2 (`net`.12/24) as peers, and mon (`net`.100/24)
   * to capture on. `net6` (e.g. `fd00:98`) also gives n1 and n2 `net6`::11/64 and ::12/64 and
   * keeps IPv6 on.
   */
  peers(net: string, net6?: string): Lab {
    return this.up({
      hosts: [
        { name: 'n1', addr: `${net}.11/24`, addr6: net6 && `${net6}::11/64` },
        { name: 'n2', addr: `${net}.12/24`, addr6: net6 && `${net6}::12/64` },
        { name: 'mon', addr: `${net}.100/24` },
      ],
      ipv6: net6 !== undefined,
    });
  }

  /** A daemon on `host`, started; the hooks stop it and remove its directory. */
  start(host: string, impl: Impl, config: string): Daemon {
    return this.add(host, impl, config).start();
  }

  /** A daemon on `host`, not started yet; the hooks stop it and remove its directory. */
  add(host: string, impl: Impl, config: string): Daemon {
    if (!this.lab) throw new Error('DaemonLab.add before up()');
    const d = new Daemon(this.lab, host, impl, config);
    this.daemons.push(d);
    return d;
  }

  /** Forget `d`: the test killed it and removed its directory itself. */
  drop(d: Daemon): void {
    const i = this.daemons.indexOf(d);
    if (i >= 0) this.daemons.splice(i, 1);
  }

  async teardown(failed: boolean, tail = 3000): Promise<void> {
    for (const d of this.daemons.splice(0)) {
      if (failed) process.stderr.write(`--- ${d.impl} in ${d.host}:\n${d.output().slice(-tail)}\n`);
      await d.stop();
      d.cleanup();
    }
    this.lab?.destroy();
    this.lab = undefined;
  }
}

/** Addresses on an interface in a namespace. */
export function addresses(ns: string, iface = 'lab0'): string[] {
  const j = JSON.parse(nsExec(ns, ['ip', '-j', 'addr', 'show', 'dev', iface])) as { addr_info: { local: string; prefixlen: number }[] }[];
  return (j[0]?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
}

export function hasVip(ns: string, vip: string, iface = 'lab0'): boolean {
  return addresses(ns, iface).some((a) => a === vip || a.startsWith(`${vip}/`));
}

/** How often `vip` (a.b.c.d) is on the interface: a duplicate would be listed twice. */
export function vipCount(ns: string, vip: string, iface = 'lab0'): number {
  return addresses(ns, iface).filter((a) => a.split('/')[0] === vip).length;
}

export const haveKeepalived: boolean = (() => {
  const r = spawnSync('keepalived', ['-v'], { encoding: 'utf8' });
  return /Keepalived v2/.test(`${r.stdout ?? ''}${r.stderr ?? ''}`);
})();
