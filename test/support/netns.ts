/**
 * Network namespace labs for tests that need real sockets, rtnetlink and ARP.
 * Everything a lab creates lives in namespaces named with a per-process prefix, so a test
 * never touches the host's interfaces; `destroy()` (and the process-exit hook) removes them
 * and kills every process still running inside, also when the test failed.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export const canNetns: boolean = (() => {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let labSeq = 0;
const live = new Set<Lab>();

/** Run `ip …` (inside `ns` when given); throws with ip's stderr on failure. */
export function ip(args: string[], ns?: string): string {
  const argv = ns ? ['netns', 'exec', ns, 'ip', ...args] : args;
  return execFileSync('ip', argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Run any command inside `ns`, synchronously; returns stdout. */
export function nsExec(ns: string, argv: string[], opts: { input?: string; allowFail?: boolean } = {}): string {
  try {
    return execFileSync('ip', ['netns', 'exec', ns, ...argv], {
      encoding: 'utf8',
      input: opts.input,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
  } catch (e) {
    if (opts.allowFail) return (e as { stdout?: string }).stdout ?? '';
    throw e;
  }
}

export interface LabHost {
  /** namespace name */
  ns: string;
  /** interface inside the namespace */
  iface: string;
  /** its address with prefix, e.g. 10.99.0.11/24 */
  addr?: string;
  mac: string;
}

export interface LabOptions {
  /** host names: each gets a namespace and one veth (named `iface`) on the shared bridge */
  hosts: { name: string; addr?: string; addr6?: string }[];
  /** interface name inside each host namespace (default lab0) */
  iface?: string;
  /** keep IPv6 on (default: off, so DAD/MLD stay out of captures) */
  ipv6?: boolean;
}

/**
 * One bridge namespace and N host namespaces, each joined to the bridge by a veth pair
 * created inside the bridge namespace (nothing in the root namespace).
 */
export class Lab {
  readonly prefix: string;
  readonly bridgeNs: string;
  readonly hosts = new Map<string, LabHost>();
  private readonly children = new Set<ChildProcess>();

  constructor(readonly opts: LabOptions) {
    this.prefix = `hc${process.pid % 100000}x${labSeq++}`;
    this.bridgeNs = `${this.prefix}br`;
  }

  ns(name: string): string {
    return `${this.prefix}${name}`;
  }

  host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no lab host ${name}`);
    return h;
  }

  up(): this {
    live.add(this);
    const iface = this.opts.iface ?? 'lab0';
    try {
      ip(['netns', 'add', this.bridgeNs]);
      ip(['link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0'], this.bridgeNs);
      ip(['link', 'set', 'br0', 'up'], this.bridgeNs);
      ip(['link', 'set', 'lo', 'up'], this.bridgeNs);
      let i = 0;
      for (const h of this.opts.hosts) {
        const ns = this.ns(h.name);
        ip(['netns', 'add', ns]);
        if (!this.opts.ipv6) nsExec(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
        const port = `p${i++}`;
        ip(['link', 'add', port, 'type', 'veth', 'peer', 'name', iface, 'netns', ns], this.bridgeNs);
        ip(['link', 'set', port, 'master', 'br0', 'up'], this.bridgeNs);
        ip(['link', 'set', 'lo', 'up'], ns);
        if (this.opts.ipv6) nsExec(ns, ['sysctl', '-qw', `net.ipv6.conf.${iface}.accept_dad=0`]);
        if (h.addr) ip(['addr', 'add', h.addr, 'dev', iface], ns);
        if (h.addr6) ip(['addr', 'add', h.addr6, 'dev', iface, 'nodad'], ns);
        ip(['link', 'set', iface, 'up'], ns);
        const mac = JSON.parse(ip(['-j', 'link', 'show', iface], ns))[0].address as string;
        this.hosts.set(h.name, { ns, iface, addr: h.addr, mac });
      }
    } catch (e) {
      this.destroy();
      throw e;
    }
    return this;
  }

  /** Spawn a process inside a host namespace; it is killed by destroy(). */
  spawn(host: string, argv: string[], opts: SpawnOptions = {}): ChildProcess {
    const ns = this.hosts.get(host)?.ns ?? this.ns(host);
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Kill every process in the lab's namespaces and delete them. Safe to call twice. */
  destroy(): void {
    live.delete(this);
    for (const c of this.children) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
    this.children.clear();
    const names = [...this.opts.hosts.map((h) => this.ns(h.name)), this.bridgeNs];
    for (const ns of names) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
          .split(/\s+/)
          .filter(Boolean);
        for (const p of pids) {
          try {
            process.kill(Number(p), 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      } catch {
        /* namespace absent */
      }
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        /* absent */
      }
    }
  }
}

process.on('exit', () => {
  for (const lab of [...live]) lab.destroy();
});

/**
 * A packet capture (tcpdump) inside a namespace. `stop()` returns the decoded lines of
 * `tcpdump -n -e -tt -l -vv` so tests check what really crossed the wire.
 */
export class Capture {
  private out = '';
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;

  constructor(lab: Lab, host: string, filter: string, iface?: string) {
    const h = lab.host(host);
    this.child = lab.spawn(host, ['tcpdump', '-Z', 'root', '-i', iface ?? h.iface, '-n', '-e', '-tt', '-l', '-vv', '-U', filter]);
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => (this.out += d));
    this.ready = new Promise((resolve) => {
      let err = '';
      this.child.stderr!.setEncoding('utf8');
      const t = setTimeout(resolve, 5000);
      this.child.stderr!.on('data', (d: string) => {
        err += d;
        if (err.includes('listening on')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
  }

  /** Resolves once tcpdump listens. */
  started(): Promise<void> {
    return this.ready;
  }

  /** The lines seen so far. */
  lines(): string[] {
    return this.out.split('\n').filter(Boolean);
  }

  /** Wait until `pred` holds on the lines seen, polling every 20 ms, at most `timeoutMs`. */
  async waitFor(pred: (lines: string[]) => boolean, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (pred(this.lines())) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return pred(this.lines());
  }

  async stop(): Promise<string[]> {
    await new Promise((r) => setTimeout(r, 100));
    if (this.child.exitCode === null) {
      const done = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGINT');
      await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
    }
    return this.lines();
  }
}

/**
 * tcpdump -vv prints a packet's IP header on one line and the rest (VRRP, ARP details) on
 * indented continuation lines; join each packet back into one line.
 */
export function joinedLines(lines: string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    if (/^\s/.test(l) && out.length) out[out.length - 1] += ' ' + l.trim();
    else out.push(l);
  }
  return out;
}

/** Poll `pred` every `stepMs` until it is true or `timeoutMs` passes; returns its last value. */
export async function until(pred: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
