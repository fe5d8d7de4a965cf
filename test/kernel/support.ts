/**
 * What the IPVS kernel tests (run in the IPVS VM by scripts/test-kernel.sh) share: command
 * runners, an HTTP real server, waits, the `ipvsadm --stats` counters, and the LVS-NAT
 * topology of a director in the root namespace with a client and two real servers in
 * namespaces of their own.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

/** Run a command; throws with its stderr on failure, returns its stdout. */
export const run = (cmd: string, ...args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
export const ipvsadm = (...args: string[]): string => run('ipvsadm', ...args);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const PY = '/usr/bin/python3';
/** A real server: `python3 -c SERVER_PY NAME IP PORT` answers every GET with NAME. */
export const SERVER_PY = `
import http.server, sys
name, ip, port = sys.argv[1:4]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = (name + "\\n").encode()
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer((ip, int(port)), H).serve_forever()
`;

/** Whether a TCP connect to ip:port succeeds within 1 s. */
export function portOpen(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port });
    const t = setTimeout(() => (s.destroy(), resolve(false)), 1000);
    s.once('connect', () => (clearTimeout(t), s.destroy(), resolve(true)));
    s.once('error', () => (clearTimeout(t), resolve(false)));
  });
}

/** Wait until ip:port accepts connections (a server started in the emulated VM takes seconds). */
export async function waitPort(ip: string, port: number, what = `${ip}:${port}`, timeoutMs = 60_000): Promise<void> {
  const t0 = performance.now();
  while (!(await portOpen(ip, port))) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what} did not start`);
    await sleep(200);
  }
}

/** Poll `cond` every `stepMs`; throws after `timeoutMs`; returns how long it took (ms). */
export async function until(what: string, cond: () => boolean, timeoutMs: number, stepMs = 100): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
  return performance.now() - t0;
}

/** `ipvsadm -L -n --stats`: Conns per "service" and per "service dest". */
export function conns(): Map<string, number> {
  const out = new Map<string, number>();
  let svc = '';
  for (const line of ipvsadm('-L', '-n', '--stats').split('\n')) {
    let m = /^TCP\s+(\S+)\s+(\d+)/.exec(line);
    if (m) {
      svc = m[1]!;
      out.set(svc, Number(m[2]));
      continue;
    }
    m = /^\s+->\s+(\S+)\s+(\d+)/.exec(line);
    if (m && svc) out.set(`${svc} ${m[1]}`, Number(m[2]));
  }
  return out;
}

/**
 * Skip the suite (with a message) unless IPVS and `ip netns` work here; on success the IPVS
 * table has been cleared.
 */
export function skipUnlessKernel(ctx: Mocha.Context): void {
  try {
    ipvsadm('-C');
    run('ip', 'netns', 'list');
  } catch (e) {
    console.log(`SKIP: no usable IPVS/netns here (${(e as Error).message.split('\n')[0]}); run scripts/test-kernel.sh`);
    ctx.skip();
  }
}

/**
 * The LVS-NAT topology, every namespace and link named from `prefix`:
 *
 *   client ns `${prefix}c`  `${client}.2` ── `${client}.1` on `${prefix}c0` (root ns, the director; VIP `${client}.10`/32 too)
 *   `${prefix}rs1` ns       `${rs[0]}.2`  ── `${rs[0]}.1` on `${prefix}rs1h`
 *   `${prefix}rs2` ns       `${rs[1]}.2`  ── `${rs[1]}.1` on `${prefix}rs2h`
 *
 * Each namespace routes via the director, as LVS-NAT needs.
 */
export class NatLab {
  readonly clientNs: string;
  readonly vip: string;

  /** `client`, `rs`: the first three octets of each /24. */
  constructor(readonly prefix: string, readonly client: string, readonly rs: readonly string[]) {
    this.clientNs = `${prefix}c`;
    this.vip = `${client}.10`;
  }

  /** The namespace of real server `n` (1-based). */
  rsNs(n: number): string {
    return `${this.prefix}rs${n}`;
  }

  up(): void {
    run('sysctl', '-qw', 'net.ipv4.ip_forward=1');
    this.link(this.clientNs, `${this.prefix}c0`, this.client, [`${this.vip}/32`]);
    this.rs.forEach((net, i) => this.link(this.rsNs(i + 1), `${this.rsNs(i + 1)}h`, net));
  }

  /** Namespace `ns` joined by a veth pair (`hostIf` in the root namespace, eth0 inside) on `net`.0/24. */
  private link(ns: string, hostIf: string, net: string, extraAddrs: string[] = []): void {
    run('ip', 'netns', 'add', ns);
    run('ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    run('ip', 'addr', 'add', `${net}.1/24`, 'dev', hostIf);
    for (const a of extraAddrs) run('ip', 'addr', 'add', a, 'dev', hostIf);
    run('ip', 'link', 'set', hostIf, 'up');
    run('ip', '-n', ns, 'addr', 'add', `${net}.2/24`, 'dev', 'eth0');
    run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    run('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
    run('ip', '-n', ns, 'route', 'add', 'default', 'via', `${net}.1`);
  }

  /** Delete the namespaces (their veth pairs go with them) and clear the IPVS table; never throws. */
  down(): void {
    for (const ns of [this.clientNs, ...this.rs.map((_, i) => this.rsNs(i + 1))]) {
      try {
        run('ip', 'netns', 'del', ns);
      } catch {
        /* absent */
      }
    }
    try {
      run('ip', 'link', 'del', `${this.prefix}c0`);
    } catch {
      /* gone with its peer */
    }
    try {
      ipvsadm('-C');
    } catch {
      /* nothing to clean */
    }
  }
}

/** Write a suite's timings to `$HACHECK_KERNEL_OUT/NAME` when that is set (the VM's output dir). */
export function writeTimings(name: string, timings: Record<string, number>): void {
  const out = process.env.HACHECK_KERNEL_OUT;
  if (out) writeFileSync(join(out, name), `${JSON.stringify(timings, null, 2)}\n`);
}
