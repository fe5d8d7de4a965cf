/**
 * The demo's network lab: one bridge namespace and one namespace per host, every name starting
 * with a fixed prefix, each host joined to the bridge by a veth pair created inside the bridge
 * namespace (nothing is created in the caller's namespace). Processes started in the lab lead
 * their own process groups, so that a kill reaches whatever they started too.
 *
 * `destroy()` is synchronous, so it can run from signal handlers and the process 'exit' hook.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';

export interface HostSpec {
  name: string;
  /** address with prefix length, e.g. 10.77.0.11/24 */
  addr: string;
}

export interface Host extends HostSpec {
  ns: string;
  mac: string;
}

/** The interface name inside every host namespace. */
export const IFACE = 'eth0';

function run(argv: string[], allowFail = false): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (allowFail) return '';
    const err = e as { stderr?: string; message: string };
    throw new Error(`${argv.join(' ')}: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

/** Namespaces whose names start with `prefix`. */
export function namespacesWithPrefix(prefix: string): string[] {
  return run(['ip', 'netns', 'list'], true)
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(prefix));
}

/** Kill every process inside `ns` and delete it; quiet if it is gone already. */
export function deleteNamespace(ns: string): void {
  const pids = run(['ip', 'netns', 'pids', ns], true).split(/\s+/).filter(Boolean);
  for (const p of pids) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  run(['ip', 'netns', 'del', ns], true);
}

export class Lab {
  readonly bridgeNs: string;
  readonly hosts = new Map<string, Host>();
  private readonly children = new Set<ChildProcess>();
  private created: string[] = [];

  constructor(readonly prefix: string) {
    this.bridgeNs = `${prefix}br`;
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no lab host ${name}`);
    return h;
  }

  up(hosts: HostSpec[]): void {
    const addNs = (ns: string) => {
      run(['ip', 'netns', 'add', ns]);
      this.created.push(ns);
    };
    addNs(this.bridgeNs);
    this.ip(this.bridgeNs, ['link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0']);
    this.ip(this.bridgeNs, ['link', 'set', 'br0', 'up']);
    hosts.forEach((h, i) => {
      const ns = `${this.prefix}${h.name}`;
      addNs(ns);
      // IPv6 off: no DAD or router solicitations in the way of a short demo.
      this.exec(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      const port = `p${i}`;
      this.ip(this.bridgeNs, ['link', 'add', port, 'type', 'veth', 'peer', 'name', IFACE, 'netns', ns]);
      this.ip(this.bridgeNs, ['link', 'set', port, 'master', 'br0', 'up']);
      this.ip(ns, ['link', 'set', 'lo', 'up']);
      this.ip(ns, ['addr', 'add', h.addr, 'dev', IFACE]);
      this.ip(ns, ['link', 'set', IFACE, 'up']);
      const mac = (JSON.parse(this.ip(ns, ['-j', 'link', 'show', IFACE])) as { address: string }[])[0]!.address;
      this.hosts.set(h.name, { ...h, ns, mac });
    });
  }

  /** `ip …` inside a namespace. */
  ip(ns: string, args: string[]): string {
    return run(['ip', '-n', ns, ...args]);
  }

  /** Run a command inside a host's namespace, synchronously; returns stdout. */
  exec(nsOrHost: string, argv: string[], allowFail = false): string {
    const ns = this.hosts.get(nsOrHost)?.ns ?? nsOrHost;
    return run(['ip', 'netns', 'exec', ns, ...argv], allowFail);
  }

  /** The same, without blocking the event loop; resolves with stdout, or the error text. */
  execAsync(host: string, argv: string[], timeoutMs: number): Promise<{ ok: boolean; out: string }> {
    return new Promise((resolve) => {
      execFile('ip', ['netns', 'exec', this.host(host).ns, ...argv], { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
        if (err) resolve({ ok: false, out: (stderr || stdout || err.message).trim() });
        else resolve({ ok: true, out: stdout });
      });
    });
  }

  /** IPv4 addresses (without prefix) on a host's interface. */
  addresses(host: string): string[] {
    const out = run(['ip', '-n', this.host(host).ns, '-j', '-4', 'addr', 'show', 'dev', IFACE], true);
    try {
      return (JSON.parse(out) as { addr_info: { local: string }[] }[]).flatMap((l) => l.addr_info.map((a) => a.local));
    } catch {
      return [];
    }
  }

  /** Start a process in a host's namespace, leading its own process group. */
  spawn(host: string, argv: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.host(host).ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Signal a child's whole process group. */
  static kill(child: ChildProcess, sig: NodeJS.Signals): void {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      try {
        child.kill(sig);
      } catch {
        /* gone */
      }
    }
  }

  /** Kill everything the lab started and delete its namespaces. Synchronous; safe to call twice. */
  destroy(): void {
    for (const c of this.children) Lab.kill(c, 'SIGKILL');
    this.children.clear();
    // Hosts before the bridge; anything left with the prefix too (a half-built lab).
    const names = new Set([...this.created.filter((n) => n !== this.bridgeNs), this.bridgeNs, ...namespacesWithPrefix(this.prefix)]);
    for (const ns of names) deleteNamespace(ns);
    this.created = [];
  }
}
