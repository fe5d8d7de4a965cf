// Reading and writing the IPVS table through ipvsadm(8).
//
// Behaviour of ipvsadm v1.31 (Debian 12), checked in the IPVS VM
// (see test/kernel/ipvs-backend.kernel.ts):
//  * `ipvsadm -S -n` prints one `-A` line per service followed by its `-a`
//    lines, but never the destination thresholds (-x/-y); those are read
//    from `ipvsadm -L -n --thresholds` and merged.
//  * `ipvsadm -R` runs each stdin line as an ipvsadm command. A line the
//    kernel rejects ("Service not defined", "Destination already exists")
//    prints that message on stderr, without a line number, and the next
//    line runs; a line ipvsadm itself rejects while checking arguments
//    ("Zero port specified for non-persistent service", "illegal weight
//    specified") or that has no command ends the whole run. The exit status
//    only reflects the last line.
//  * The `ipvsadm-restore` wrapper script runs `ipvsadm -C` before
//    `ipvsadm -R`, flushing the whole table, so it must not be used for
//    incremental changes; this module runs `ipvsadm -R` directly.
//
// To tell which line failed, apply() follows every operation with a marker
// line `-L --hacheck-op-done-<n>`: ipvsadm rejects the unknown option with
// "--hacheck-op-done-<n>: unknown option" on stderr, without touching the
// table, and goes on. Error text between two markers belongs to the
// operation in between; operations after the last marker of a run that
// ended early did not run and go into the next batch.

import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';

import { parseHostPort, formatHostPort } from './addr.js';
import { diffTables } from './diff.js';
import {
  DEFAULT_TUNNEL,
  SCHED_FLAG_1,
  SCHED_FLAG_2,
  SCHED_FLAG_3,
  defaultNetmask,
  realServerKey,
  schedFlagBit,
  serviceKeyString,
} from './types.js';
import type {
  Family,
  Forwarding,
  Op,
  Protocol,
  RealServer,
  ServiceAttrs,
  ServiceKey,
  Table,
  TunnelCsum,
  TunnelType,
} from './types.js';

/* ------------------------------------------------------------------ errors */

export type IpvsadmErrorCode =
  /** The binary does not exist (spawn ENOENT). */
  | 'ENOENT'
  /** Any other spawn failure (EACCES, ...). */
  | 'SPAWN'
  /** The process exited with a non-zero status. */
  | 'EXIT'
  /** The process exceeded its time limit and was killed. */
  | 'TIMEOUT'
  /** Its output could not be parsed. */
  | 'PARSE';

export class IpvsadmError extends Error {
  override readonly name = 'IpvsadmError';
  constructor(
    message: string,
    readonly code: IpvsadmErrorCode,
    readonly command: readonly string[] = [],
    readonly exitCode: number | null = null,
    readonly stderr = '',
  ) {
    super(message);
  }
}

/* ------------------------------------------------------------------ parser */

/** Error in `ipvsadm -S` text, with the 1-based line number. */
export class IpvsadmParseError extends IpvsadmError {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`ipvsadm output line ${line}: ${message}`, 'PARSE');
  }
}

const PROTOCOL_OPTION: Record<string, Protocol> = {
  '-t': 'tcp',
  '--tcp-service': 'tcp',
  '-u': 'udp',
  '--udp-service': 'udp',
  '--sctp-service': 'sctp',
};

const FORWARDING_OPTION: Record<string, Forwarding> = {
  '-m': 'masq',
  '--masquerading': 'masq',
  '-g': 'gatewaying',
  '--gatewaying': 'gatewaying',
  '-i': 'ipip',
  '--ipip': 'ipip',
};

function parseUint(text: string | undefined, max: number, what: string): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) > max) throw new Error(`bad ${what} ${JSON.stringify(text)}`);
  return Number(text);
}

interface ParsedLine {
  command: 'add-service' | 'add-server';
  service: { protocol?: Protocol; addr?: string; port?: number; fwmark?: number; ipv6: boolean };
  scheduler?: string;
  persistence?: number;
  netmask?: string;
  schedFlags: number;
  ops: boolean;
  pe?: string;
  server?: { ip: string; port: number | undefined };
  forwarding?: Forwarding;
  weight?: number;
  uThreshold?: number;
  lThreshold?: number;
  tunType?: TunnelType;
  tunPort?: number;
  tunCsum?: TunnelCsum;
}

/** Parse one `ipvsadm -S` line's arguments (long and short option forms of ipvsadm(8)). */
function parseArgs(args: string[]): ParsedLine {
  const p: ParsedLine = { command: 'add-service', service: { ipv6: false }, schedFlags: 0, ops: false };
  let command: ParsedLine['command'] | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = (): string => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '-A' || a === '--add-service') command = 'add-service';
    else if (a === '-a' || a === '--add-server') command = 'add-server';
    else if (a in PROTOCOL_OPTION) {
      const { ip, port } = parseHostPort(next());
      Object.assign(p.service, { protocol: PROTOCOL_OPTION[a], addr: ip, port: port ?? 0 });
    } else if (a === '-f' || a === '--fwmark-service') p.service.fwmark = parseUint(next(), 0xffffffff, 'fwmark');
    else if (a === '-6' || a === '--ipv6') p.service.ipv6 = true;
    else if (a === '-s' || a === '--scheduler') p.scheduler = next();
    else if (a === '-p' || a === '--persistent') {
      // The timeout is optional (ipvsadm(8) -p [timeout]).
      if (args[i + 1] !== undefined && /^\d+$/.test(args[i + 1]!)) p.persistence = parseUint(next(), 0xffffffff, 'timeout');
      else p.persistence = 360;
    } else if (a === '-M' || a === '--netmask') p.netmask = next();
    else if (a === '-b' || a === '--sched-flags') {
      for (const name of next().split(',')) {
        const bit = schedFlagBit(name);
        if (bit === undefined) throw new Error(`unknown scheduler flag ${JSON.stringify(name)}`);
        p.schedFlags |= bit;
      }
    } else if (a === '-o' || a === '--ops' || a === 'ops') p.ops = true; // bare "ops": ipvsadm <= 1.26 save format
    else if (a === '--pe' || a === 'pe') p.pe = next(); // bare "pe NAME": ipvsadm <= 1.26 save format
    else if (a === '-r' || a === '--real-server') p.server = parseHostPort(next());
    else if (a in FORWARDING_OPTION) p.forwarding = FORWARDING_OPTION[a];
    else if (a === '-w' || a === '--weight') p.weight = parseUint(next(), 2147483647, 'weight');
    else if (a === '-x' || a === '--u-threshold') p.uThreshold = parseUint(next(), 65535, 'upper threshold');
    else if (a === '-y' || a === '--l-threshold') p.lThreshold = parseUint(next(), 65535, 'lower threshold');
    else if (a === '--tun-type') {
      const t = next();
      if (t !== 'ipip' && t !== 'gue' && t !== 'gre') throw new Error(`unknown tunnel type ${JSON.stringify(t)}`);
      p.tunType = t;
    } else if (a === '--tun-port') p.tunPort = parseUint(next(), 65535, 'tunnel port');
    else if (a === '--tun-nocsum') p.tunCsum = 'nocsum';
    else if (a === '--tun-csum') p.tunCsum = 'csum';
    else if (a === '--tun-remcsum') p.tunCsum = 'remcsum';
    else throw new Error(`unexpected argument ${JSON.stringify(a)}`);
  }
  if (!command) throw new Error('no -A or -a command');
  p.command = command;
  return p;
}

function serviceKeyOf(p: ParsedLine): ServiceKey {
  const s = p.service;
  if (s.fwmark !== undefined) return { kind: 'fwmark', fwmark: s.fwmark, family: s.ipv6 ? 'inet6' : 'inet' };
  if (s.protocol && s.addr !== undefined) {
    const family: Family = s.addr.includes(':') ? 'inet6' : 'inet';
    return { kind: 'addr', family, protocol: s.protocol, addr: s.addr, port: s.port ?? 0 };
  }
  throw new Error('no service given (-t, -u, --sctp-service or -f)');
}

/**
 * Parse `ipvsadm -S -n` output (also accepted: `ipvsadm -R` input made of
 * -A/-a lines, with optional leading "ipvsadm" and "#" comments) into a Table.
 */
export function parseIpvsadmSave(text: string): Table {
  const table: Table = new Map();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    let args = lines[n]!.trim().split(/\s+/).filter((t) => t !== '');
    if (args.length === 0 || args[0]!.startsWith('#')) continue;
    if (args[0] === 'ipvsadm') args = args.slice(1);
    let p: ParsedLine;
    let key: ServiceKey;
    try {
      p = parseArgs(args);
      key = serviceKeyOf(p);
    } catch (e) {
      throw new IpvsadmParseError((e as Error).message, n + 1);
    }
    const keyText = serviceKeyString(key);
    if (p.command === 'add-service') {
      const persistenceTimeout = p.persistence ?? 0;
      table.set(keyText, {
        key,
        scheduler: p.scheduler ?? 'wlc', // ipvsadm(8): wlc is the default
        schedFlags: p.schedFlags,
        persistenceTimeout,
        netmask: persistenceTimeout && p.netmask !== undefined ? p.netmask : defaultNetmask(key.family),
        ops: p.ops,
        pe: p.pe ?? '',
        realServers: new Map(),
      });
      continue;
    }
    const vs = table.get(keyText);
    if (!vs) throw new IpvsadmParseError(`real server for unknown service ${keyText}`, n + 1);
    if (!p.server) throw new IpvsadmParseError('-a without -r', n + 1);
    const forwarding = p.forwarding ?? 'gatewaying'; // ipvsadm(8): -g is the default
    let port = p.server.port ?? (key.kind === 'addr' ? key.port : 0);
    // ipvsadm forces DR/TUN destination ports to the service port for address services.
    if (forwarding !== 'masq' && key.kind === 'addr') port = key.port;
    const tunType = p.tunType ?? 'ipip';
    const rs: RealServer = {
      addr: p.server.ip,
      port,
      forwarding,
      tunnel:
        forwarding === 'ipip'
          ? { type: tunType, port: tunType === 'gue' ? (p.tunPort ?? 0) : 0, csum: tunType === 'ipip' ? 'nocsum' : (p.tunCsum ?? 'nocsum') }
          : { ...DEFAULT_TUNNEL },
      weight: p.weight ?? 1,
      uThreshold: p.uThreshold ?? 0,
      lThreshold: p.lThreshold ?? 0,
    };
    vs.realServers.set(realServerKey(rs), rs);
  }
  return table;
}

/** Thresholds per service key and destination key, from `ipvsadm -L -n --thresholds`. */
export type ThresholdMap = Map<string, Map<string, { uThreshold: number; lThreshold: number }>>;

/**
 * Parse `ipvsadm -L -n --thresholds`, whose service lines are
 * "TCP  10.0.0.1:80 rr ...", "SCTP [2001:db8::1]:80 ...", "FWM  2 IPv6 wlc ..."
 * and destination lines "  -> 10.0.1.3:8080   100   50   0   0"
 * (Uthreshold, Lthreshold, ActiveConn, InActConn).
 */
export function parseIpvsadmThresholds(text: string): ThresholdMap {
  const out: ThresholdMap = new Map();
  let current: Map<string, { uThreshold: number; lThreshold: number }> | undefined;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    let m: RegExpExecArray | null;
    try {
      if ((m = /^(TCP|UDP|SCTP)\s+(\S+)/.exec(line))) {
        const { ip, port } = parseHostPort(m[2]!);
        const protocol = m[1]!.toLowerCase() as Protocol;
        const key: ServiceKey = { kind: 'addr', family: ip.includes(':') ? 'inet6' : 'inet', protocol, addr: ip, port: port ?? 0 };
        current = new Map();
        out.set(serviceKeyString(key), current);
      } else if ((m = /^FWM\s+(\d+)(\s+IPv6)?(\s|$)/.exec(line))) {
        const key: ServiceKey = { kind: 'fwmark', fwmark: Number(m[1]), family: m[2] ? 'inet6' : 'inet' };
        current = new Map();
        out.set(serviceKeyString(key), current);
      } else if ((m = /^\s+->\s+(\S+)\s+(\d+)\s+(\d+)/.exec(line)) && current) {
        const { ip, port } = parseHostPort(m[1]!);
        current.set(formatHostPort(ip, port ?? 0), { uThreshold: Number(m[2]), lThreshold: Number(m[3]) });
      }
    } catch (e) {
      throw new IpvsadmParseError((e as Error).message, n + 1);
    }
  }
  return out;
}

/** Copy thresholds from `ipvsadm -L -n --thresholds` into a table parsed from `ipvsadm -S -n`. */
export function mergeThresholds(table: Table, thresholds: ThresholdMap): Table {
  for (const [k, vs] of table) {
    const t = thresholds.get(k);
    if (!t) continue;
    for (const [rk, rs] of vs.realServers) {
      const v = t.get(rk);
      if (v) {
        rs.uThreshold = v.uThreshold;
        rs.lThreshold = v.lThreshold;
      }
    }
  }
  return table;
}

/* --------------------------------------------------------------- formatter */

/** ipvsadm arguments naming a virtual service. */
export function serviceArgs(key: ServiceKey): string[] {
  if (key.kind === 'fwmark') return key.family === 'inet6' ? ['-f', String(key.fwmark), '-6'] : ['-f', String(key.fwmark)];
  const opt = key.protocol === 'tcp' ? '-t' : key.protocol === 'udp' ? '-u' : '--sctp-service';
  return [opt, formatHostPort(key.addr, key.port)];
}

function serviceOptionArgs(s: ServiceAttrs): string[] {
  // -E replaces every attribute, so the full set is always given.
  const args = ['-s', s.scheduler];
  if (s.persistenceTimeout) {
    args.push('-p', String(s.persistenceTimeout));
    if (s.netmask !== defaultNetmask(s.key.family)) args.push('-M', s.netmask);
    if (s.pe) args.push('--pe', s.pe);
  }
  if (s.ops) args.push('-o');
  // flag-N names are accepted for every scheduler; sh-*/mh-* only for sh/mh.
  const flags = [
    [SCHED_FLAG_1, 'flag-1'],
    [SCHED_FLAG_2, 'flag-2'],
    [SCHED_FLAG_3, 'flag-3'],
  ] as const;
  const names = flags.filter(([bit]) => s.schedFlags & bit).map(([, name]) => name);
  if (names.length) args.push('-b', names.join(','));
  return args;
}

const FORWARDING_FLAG: Record<Forwarding, string> = { masq: '-m', gatewaying: '-g', ipip: '-i' };

function serverOptionArgs(rs: RealServer): string[] {
  const args = ['-r', formatHostPort(rs.addr, rs.port), FORWARDING_FLAG[rs.forwarding]];
  // Plain ipip is the kernel default and needs no --tun-type, which keeps the
  // line valid for ipvsadm versions older than 1.30 (no tunnel options).
  if (rs.forwarding === 'ipip' && rs.tunnel.type !== 'ipip') {
    args.push('--tun-type', rs.tunnel.type);
    if (rs.tunnel.type === 'gue') args.push('--tun-port', String(rs.tunnel.port));
    args.push(`--tun-${rs.tunnel.csum}`);
  }
  args.push('-w', String(rs.weight));
  // ipvsadm sends 0 (unset) for an absent -x/-y, also on -e, so 0 needs no option.
  if (rs.uThreshold) args.push('-x', String(rs.uThreshold));
  if (rs.lThreshold) args.push('-y', String(rs.lThreshold));
  return args;
}

/** ipvsadm arguments (without the program name) performing one operation. */
export function formatOpArgs(op: Op): string[] {
  switch (op.kind) {
    case 'add-service':
      return ['-A', ...serviceArgs(op.service.key), ...serviceOptionArgs(op.service)];
    case 'edit-service':
      return ['-E', ...serviceArgs(op.service.key), ...serviceOptionArgs(op.service)];
    case 'delete-service':
      return ['-D', ...serviceArgs(op.key)];
    case 'add-server':
      return ['-a', ...serviceArgs(op.key), ...serverOptionArgs(op.server)];
    case 'edit-server':
      return ['-e', ...serviceArgs(op.key), ...serverOptionArgs(op.server)];
    case 'delete-server':
      return ['-d', ...serviceArgs(op.key), '-r', formatHostPort(op.server.addr, op.server.port)];
  }
}

/** One `ipvsadm -R` input line for an operation. */
export function formatOp(op: Op): string {
  return formatOpArgs(op).join(' ');
}

/** `ipvsadm -S -n` text for a table (services and destinations in table order). */
export function formatTable(table: Table): string {
  const lines: string[] = [];
  for (const vs of table.values()) {
    lines.push(formatOp({ kind: 'add-service', service: vs }));
    for (const rs of vs.realServers.values()) lines.push(formatOp({ kind: 'add-server', key: vs.key, server: rs }));
  }
  return lines.map((l) => `${l}\n`).join('');
}

/* ----------------------------------------------------------------- backend */

export interface OpFailure {
  op: Op;
  /** The ipvsadm line that failed. */
  line: string;
  /** ipvsadm's message, or what went wrong with the process. */
  message: string;
}

export interface ApplyResult {
  applied: Op[];
  failed: OpFailure[];
  /** ipvsadm processes started. */
  processes: number;
}

export interface IpvsadmBackendOptions {
  /** Path of ipvsadm; default "ipvsadm" looked up in PATH. */
  ipvsadm?: string;
  /**
   * argv of the batch-restore command; default [ipvsadm, "-R"]. Not
   * `ipvsadm-restore`: that script flushes the table (`ipvsadm -C`) first.
   */
  restoreCommand?: string[];
  /** Time limit of each ipvsadm process in milliseconds; default 10000. */
  timeoutMs?: number;
  /** Read thresholds with `ipvsadm -L -n --thresholds` in getTable(); default true. */
  readThresholds?: boolean;
  /** Environment of the child processes; default process.env. */
  env?: NodeJS.ProcessEnv;
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Grace period in ms after SIGKILL for the pipes to close before giving up on them. */
const KILL_GRACE_MS = 500;

/** SIGKILL a child started with `detached: true` and whatever it started (its process group). */
function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

function runProcess(argv: readonly string[], input: string, timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    const child = spawn(file!, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      // Own process group, so that a timeout kills whatever it started too.
      detached: true,
      env: env ?? process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let settled = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
      // A grandchild still holding the pipes would delay 'close' indefinitely.
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(exit?.code ?? null, exit?.signal ?? 'SIGKILL');
      }, KILL_GRACE_MS).unref();
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('exit', (code, signal) => {
      exit = { code, signal };
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e.code === 'ENOENT') {
        reject(new IpvsadmError(`${file} not found (is ipvsadm installed?)`, 'ENOENT', argv));
      } else {
        reject(new IpvsadmError(`cannot run ${file}: ${e.message}`, 'SPAWN', argv));
      }
    });
    child.on('close', (code, signal) => finish(code, signal));
    // The child may exit before reading all input (EPIPE); its status tells what happened.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/**
 * One long-lived `ipvsadm -R`. A batch is written to its stdin and is done when the marker
 * after its last line comes back on stderr (ipvsadm reads stdin line by line and writes
 * stderr unbuffered), so a change costs no process start: in the emulated IPVS VM a start
 * took 0.2-0.3 s of a dead real server's removal, where keepalived changes the table
 * in-process over netlink. When ipvsadm ends (a line it refuses while checking arguments
 * ends the whole run) or a batch times out, the next batch starts a new one. Idle, the
 * process does not keep Node's event loop alive.
 */
class RestoreSession {
  private child?: ChildProcessWithoutNullStreams;
  private partial = '';
  private waiter?: { want: string; lines: string[]; finish: (r: RunResult) => void; fail: (e: Error) => void };

  constructor(
    private readonly argv: readonly string[],
    private readonly env: NodeJS.ProcessEnv | undefined,
  ) {}

  /**
   * Write `input`; resolves once the line `wantMarker` (e.g. "--hacheck-op-done-7") is read
   * on stderr, with the stderr lines of this batch; or when the process ends or the batch
   * times out (the process is then killed). `spawned`: a process was started for it.
   */
  run(input: string, wantMarker: string, timeoutMs: number): Promise<RunResult & { spawned: boolean }> {
    return new Promise((resolve, reject) => {
      let spawned = false;
      if (!this.child) {
        try {
          this.start();
          spawned = true;
        } catch (e) {
          reject(e);
          return;
        }
      }
      const child = this.child!;
      const timer = setTimeout(() => {
        this.kill(child);
        this.finishWaiter({ code: null, signal: 'SIGKILL', stdout: '', stderr: '', timedOut: true });
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiter = undefined;
        if (this.child === child) this.idle(child, true);
      };
      this.waiter = {
        want: wantMarker,
        lines: [],
        finish: (r) => {
          done();
          resolve({ ...r, spawned });
        },
        fail: (e) => {
          done();
          reject(e);
        },
      };
      this.idle(child, false);
      child.stdin.write(input);
    });
  }

  /** End the process (its stdin closes; ipvsadm -R exits at end of input). */
  close(): void {
    const child = this.child;
    this.child = undefined;
    child?.stdin.end();
    if (child) this.idle(child, true);
  }

  private start(): void {
    const [file, ...args] = this.argv;
    const child = spawn(file!, args, {
      stdio: ['pipe', 'ignore', 'pipe'],
      // Own process group, so that a timeout kills whatever it started too.
      detached: true,
      env: this.env ?? process.env,
    }) as unknown as ChildProcessWithoutNullStreams;
    this.child = child;
    this.partial = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (this.child !== child) return;
      const text = this.partial + chunk;
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) {
        const w = this.waiter;
        if (!w) continue; // nothing asked: stray output
        w.lines.push(line);
        if (MARKER_RE.exec(line)?.[0] === w.want) this.finishWaiter({ code: null, signal: null, stdout: '', stderr: '', timedOut: false });
      }
    });
    // The process may exit before reading all input (EPIPE); 'close' tells what happened.
    child.stdin.on('error', () => {});
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (this.child === child) this.child = undefined;
      const w = this.waiter;
      if (!w) return;
      w.fail(
        e.code === 'ENOENT'
          ? new IpvsadmError(`${file} not found (is ipvsadm installed?)`, 'ENOENT', this.argv)
          : new IpvsadmError(`cannot run ${file}: ${e.message}`, 'SPAWN', this.argv),
      );
    });
    child.on('close', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.partial && this.waiter) this.waiter.lines.push(this.partial);
      this.partial = '';
      this.finishWaiter({ code, signal, stdout: '', stderr: '', timedOut: false });
    });
  }

  private finishWaiter(r: RunResult): void {
    const w = this.waiter;
    if (!w) return;
    w.finish({ ...r, stderr: w.lines.join('\n') });
  }

  private kill(child: ChildProcessWithoutNullStreams): void {
    if (this.child === child) this.child = undefined;
    killGroup(child);
    // A grandchild still holding the pipe must not keep us waiting or alive.
    child.stderr.destroy();
    this.idle(child, true);
  }

  /** An idle process must not keep the event loop alive; one working on a batch must. */
  private idle(child: ChildProcessWithoutNullStreams, idle: boolean): void {
    const handles = [child, child.stdin, child.stderr] as { ref?: () => void; unref?: () => void }[];
    for (const h of handles) (idle ? h.unref : h.ref)?.call(h);
  }
}

function describeExit(r: RunResult, argv: readonly string[], timeoutMs: number): string {
  const cmd = argv.join(' ');
  if (r.timedOut) return `${cmd} timed out after ${timeoutMs} ms`;
  const detail = r.stderr.trim().split('\n').filter(Boolean).join('; ');
  const status = r.signal ? `was killed by ${r.signal}` : `exited with status ${r.code}`;
  return detail ? `${cmd} ${status}: ${detail}` : `${cmd} ${status}`;
}

const MARKER_PREFIX = '--hacheck-op-done-';
const MARKER_RE = /--hacheck-op-done-(\d+)/;

/** What happened to each line of one `ipvsadm -R` run. */
interface BatchOutcome {
  /** Index (in the batch) of the last operation confirmed by its marker, -1 for none. */
  lastDone: number;
  /** Error messages per batch index. */
  messages: Map<number, string[]>;
}

function readMarkers(stderr: string): BatchOutcome {
  const messages = new Map<number, string[]>();
  let lastDone = -1;
  for (const line of stderr.split('\n')) {
    if (line.trim() === '') continue;
    const m = MARKER_RE.exec(line);
    if (m) {
      lastDone = Math.max(lastDone, Number(m[1]));
      continue;
    }
    const idx = lastDone + 1;
    const list = messages.get(idx) ?? [];
    list.push(line.trim());
    messages.set(idx, list);
  }
  return { lastDone, messages };
}

/** Reads and changes the kernel IPVS table with the ipvsadm program. */
export class IpvsadmBackend {
  readonly ipvsadm: string;
  readonly restoreCommand: readonly string[];
  readonly timeoutMs: number;
  readonly readThresholds: boolean;
  private readonly env: NodeJS.ProcessEnv | undefined;

  constructor(options: IpvsadmBackendOptions = {}) {
    this.ipvsadm = options.ipvsadm ?? 'ipvsadm';
    this.restoreCommand = options.restoreCommand ?? [this.ipvsadm, '-R'];
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.readThresholds = options.readThresholds ?? true;
    this.env = options.env;
    this.session = new RestoreSession(this.restoreCommand, this.env);
  }

  /** The `ipvsadm -R` that apply() writes to. */
  private readonly session: RestoreSession;

  /** End the long-lived `ipvsadm -R` (a later apply() starts another). */
  close(): void {
    this.session.close();
  }

  private async runChecked(args: string[]): Promise<string> {
    const argv = [this.ipvsadm, ...args];
    const r = await runProcess(argv, '', this.timeoutMs, this.env);
    if (r.timedOut) throw new IpvsadmError(describeExit(r, argv, this.timeoutMs), 'TIMEOUT', argv, r.code, r.stderr);
    if (r.code !== 0) throw new IpvsadmError(describeExit(r, argv, this.timeoutMs), 'EXIT', argv, r.code, r.stderr);
    return r.stdout;
  }

  /** The current kernel table: `ipvsadm -S -n`, plus `ipvsadm -L -n --thresholds` for -x/-y. */
  async getTable(): Promise<Table> {
    // Both run at once; a failure of the save is reported in preference,
    // whichever finishes first.
    const [saveR, thresholdsR] = await Promise.allSettled([
      this.runChecked(['-S', '-n']),
      this.readThresholds ? this.runChecked(['-L', '-n', '--thresholds']) : Promise.resolve(undefined),
    ]);
    if (saveR.status === 'rejected') throw saveR.reason;
    if (thresholdsR.status === 'rejected') throw thresholdsR.reason;
    const table = parseIpvsadmSave(saveR.value);
    const thresholds = thresholdsR.value;
    return thresholds === undefined ? table : mergeThresholds(table, parseIpvsadmThresholds(thresholds));
  }

  /**
   * Apply operations in order with one `ipvsadm -R` process per batch. An
   * operation ipvsadm rejects is reported in `failed` with ipvsadm's message;
   * when ipvsadm stopped at it, the operations after it are sent again in a
   * new batch. Rejects with IpvsadmError only when the program cannot be
   * started (ENOENT/SPAWN); a timeout fails the operations not confirmed.
   */
  async apply(ops: readonly Op[]): Promise<ApplyResult> {
    const result: ApplyResult = { applied: [], failed: [], processes: 0 };
    let pending = ops.map((op) => ({ op, line: formatOp(op) }));
    while (pending.length > 0) {
      const input = pending.map((p, i) => `${p.line}\n-L ${MARKER_PREFIX}${i}\n`).join('');
      const r = await this.session.run(input, `${MARKER_PREFIX}${pending.length - 1}`, this.timeoutMs);
      if (r.spawned) result.processes++;
      const { lastDone, messages } = readMarkers(r.stderr);
      for (let i = 0; i <= lastDone && i < pending.length; i++) {
        const msgs = messages.get(i);
        if (msgs?.length) result.failed.push({ ...pending[i]!, message: msgs.join('; ') });
        else result.applied.push(pending[i]!.op);
      }
      const stoppedAt = lastDone + 1;
      if (stoppedAt >= pending.length) break;
      if (r.timedOut) {
        const message = describeExit(r, this.restoreCommand, this.timeoutMs);
        for (const p of pending.slice(stoppedAt)) result.failed.push({ ...p, message });
        break;
      }
      // The run ended during pending[stoppedAt]: that line is the one ipvsadm refused.
      const msgs = messages.get(stoppedAt);
      const message = msgs?.length ? msgs.join('; ') : describeExit(r, this.restoreCommand, this.timeoutMs);
      result.failed.push({ ...pending[stoppedAt]!, message });
      pending = pending.slice(stoppedAt + 1);
    }
    return result;
  }

  /** Apply operations with one `ipvsadm` process each (slower; for comparison and fallback). */
  async applyPerEntry(ops: readonly Op[]): Promise<ApplyResult> {
    const result: ApplyResult = { applied: [], failed: [], processes: 0 };
    for (const op of ops) {
      const args = formatOpArgs(op);
      const argv = [this.ipvsadm, ...args];
      result.processes++;
      const r = await runProcess(argv, '', this.timeoutMs, this.env);
      if (r.code === 0 && !r.timedOut) result.applied.push(op);
      else {
        const msg = r.timedOut ? describeExit(r, argv, this.timeoutMs) : r.stderr.trim().split('\n').filter(Boolean).join('; ');
        result.failed.push({ op, line: args.join(' '), message: msg || describeExit(r, argv, this.timeoutMs) });
      }
    }
    return result;
  }
}

/** Something that can read and change an IPVS table. */
export interface IpvsBackend {
  getTable(): Promise<Table>;
  apply(ops: readonly Op[]): Promise<ApplyResult>;
  /** Release what the backend keeps open between batches (optional). */
  close?(): void;
}

/**
 * One reconcile pass: read the kernel table, diff it against `desired`
 * (see diffTables for `managed`), apply the difference.
 */
export async function reconcile(
  backend: IpvsBackend,
  desired: Table,
  managed?: Iterable<string> | 'all',
): Promise<{ current: Table; ops: Op[]; result: ApplyResult }> {
  const current = await backend.getTable();
  const ops = diffTables(current, desired, managed);
  const result = ops.length ? await backend.apply(ops) : { applied: [], failed: [], processes: 0 };
  return { current, ops, result };
}
