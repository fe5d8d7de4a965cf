// Running without IPVS in the kernel.
//
// keepalived 2.2.7 treats a kernel without IPVS as fatal: with any
// virtual_server configured, the checker process logs "IPVS: Can't
// initialize ipvs: ..." after its modprobe of ip_vs fails
// (check/ipvswrapper.c ipvs_start), exits with KEEPALIVED_EXIT_FATAL, and the
// parent then terminates the whole daemon, VRRP included (seen here on a
// 6.18 kernel without ip_vs: `keepalived -t` accepts the configuration,
// `keepalived -n` stops within a second with exit status 1).
//
// hacheck instead keeps running: VRRP and the health checkers work as usual,
// and the IPVS manager talks to a dry-run backend that keeps the table in
// memory (with the kernel's answers to conflicting operations, see
// manager-memory.ts) and logs each batch as the `ipvsadm -R` lines it would
// have applied. One warning at start says so plainly. The choice is
// automatic: a host without ip_vs cannot balance anything, and stopping VRRP
// as well (keepalived's outcome) helps nobody; the warning and the
// "dry run" log lines make the situation impossible to miss.
//
// Detection, in the network namespace hacheck runs in:
//  * /proc/net/ip_vs exists            → IPVS is there (module loaded);
//  * else `ipvsadm -S -n` (which itself tries `modprobe ip_vs`):
//      exit 0                          → IPVS is there (module now loaded);
//      "Can't initialize ipvs: ..."    → no IPVS (unless the reason is a
//                                        permission problem: not ours to hide);
//      ipvsadm not installed           → nothing could apply the changes
//                                        either: dry run, saying why;
//      anything else (timeout, ...)    → unknown: the real backend, whose
//                                        errors the manager logs.

import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';

import { formatOp } from './ipvsadm.js';
import type { ApplyResult, IpvsBackend } from './ipvsadm.js';
import { MemoryBackend } from './manager-memory.js';
import type { Op, Table } from './types.js';

/* ---------------------------------------------------------------- probing */

/** What was observed about IPVS on this host (the input of classifyIpvs). */
export interface IpvsFacts {
  /** /proc/net/ip_vs exists. */
  procIpVs: boolean;
  /** How `ipvsadm -S -n` ended; undefined when it was not run (procIpVs true). */
  ipvsadm?:
    | { kind: 'exit'; code: number | null; stderr: string }
    | { kind: 'missing' }
    | { kind: 'error'; message: string };
}

export type IpvsAvailability =
  | { kind: 'available' }
  /** The kernel has no usable IPVS: use the dry-run backend. */
  | { kind: 'absent'; reason: string }
  /** Could not tell: use the real backend and let its errors show. */
  | { kind: 'unknown'; reason: string };

/** Pure: decide from the observations whether IPVS can be used. */
export function classifyIpvs(f: IpvsFacts): IpvsAvailability {
  if (f.procIpVs) return { kind: 'available' };
  const r = f.ipvsadm;
  if (!r) return { kind: 'unknown', reason: '/proc/net/ip_vs absent and ipvsadm not run' };
  if (r.kind === 'missing') return { kind: 'absent', reason: 'ip_vs not loaded (/proc/net/ip_vs absent) and ipvsadm not installed' };
  if (r.kind === 'error') return { kind: 'unknown', reason: r.message };
  if (r.code === 0) return { kind: 'available' };
  const lines = r.stderr.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  // ipvsadm prints "Can't initialize ipvs: <strerror>" when the generic
  // netlink family IPVS is missing and its own modprobe did not help
  // ("Protocol not available", "No such file or directory"), after
  // modprobe's own complaint and before a hint line. "Permission denied" is a
  // different problem: running unprivileged.
  const init = lines.find((l) => /can't initialize ipvs/i.test(l));
  if (init && !/permission denied|operation not permitted/i.test(init)) {
    const modprobe = lines.some((l) => /^modprobe:/.test(l));
    return { kind: 'absent', reason: `${modprobe ? 'ip_vs module not loadable; ' : ''}ipvsadm: ${init}` };
  }
  return { kind: 'unknown', reason: lines.join('; ') || `ipvsadm -S -n exited with status ${r.code}` };
}

export interface ProbeOptions {
  /** Path of ipvsadm; default "ipvsadm" looked up in PATH. */
  ipvsadm?: string;
  /** Default /proc/net/ip_vs. */
  procPath?: string;
  /** Time limit of the ipvsadm run in ms; default 10 000. */
  timeoutMs?: number;
}

/** Look at this host (and network namespace): does it have IPVS? */
export async function probeIpvs(o: ProbeOptions = {}): Promise<IpvsAvailability> {
  const procIpVs = await access(o.procPath ?? '/proc/net/ip_vs').then(
    () => true,
    () => false,
  );
  if (procIpVs) return classifyIpvs({ procIpVs });
  const ipvsadm = await new Promise<NonNullable<IpvsFacts['ipvsadm']>>((resolve) => {
    execFile(o.ipvsadm ?? 'ipvsadm', ['-S', '-n'], { timeout: o.timeoutMs ?? 10_000, encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (!err) return resolve({ kind: 'exit', code: 0, stderr });
      const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
      if (e.code === 'ENOENT') return resolve({ kind: 'missing' });
      if (e.killed) return resolve({ kind: 'error', message: `ipvsadm -S -n timed out after ${o.timeoutMs ?? 10_000} ms` });
      if (typeof e.code === 'number') return resolve({ kind: 'exit', code: e.code, stderr });
      resolve({ kind: 'error', message: `cannot run ipvsadm: ${e.message}` });
    });
  });
  return classifyIpvs({ procIpVs, ipvsadm });
}

/* ---------------------------------------------------------------- backend */

/** The subset of a pino Logger the dry-run backend uses. */
export interface DryRunLogger {
  info(obj: object, msg: string): void;
}

/** Start of every dry-run batch log message (tools and the demo look for it). */
export const DRY_RUN_PREFIX = 'IPVS dry run, not applied:';

/**
 * An IPVS backend for a kernel without IPVS: the table lives in memory and
 * obeys the kernel's rules; every apply() logs one entry with the
 * `ipvsadm -R` lines of the batch, separated by "; ".
 */
export class DryRunBackend implements IpvsBackend {
  private readonly memory = new MemoryBackend();

  constructor(private readonly log: DryRunLogger) {}

  /** The table as it would be in the kernel. */
  get table(): Table {
    return this.memory.table;
  }

  async getTable(): Promise<Table> {
    return this.memory.getTable();
  }

  async apply(ops: readonly Op[]): Promise<ApplyResult> {
    const lines = ops.map(formatOp);
    if (lines.length) {
      this.log.info({ component: 'ipvs', dryRun: true, ops: lines.length }, `${DRY_RUN_PREFIX} ${lines.join('; ')}`);
    }
    const result = await this.memory.apply(ops);
    // MemoryBackend keeps every batch for tests; a daemon must not grow forever.
    this.memory.batches.length = 0;
    // No ipvsadm process ran.
    return { ...result, processes: 0 };
  }
}

/** The warning logged once when the dry-run backend is chosen. */
export function noIpvsWarning(reason: string): string {
  return `Kernel has no IPVS (${reason}): IPVS changes will be logged, not applied`;
}

export interface ChooseBackendOptions extends ProbeOptions {
  log: DryRunLogger & { warn(obj: object, msg: string): void };
  /** The backend to use when IPVS is (or may be) there. */
  real: () => IpvsBackend;
  /** Replaces probeIpvs (tests). */
  probe?: () => Promise<IpvsAvailability>;
}

/** Probe once; the real backend unless the kernel clearly has no IPVS. */
export async function chooseIpvsBackend(o: ChooseBackendOptions): Promise<{ backend: IpvsBackend; dryRun: boolean; availability: IpvsAvailability }> {
  const availability = await (o.probe ?? (() => probeIpvs(o)))();
  if (availability.kind === 'absent') {
    o.log.warn({ component: 'ipvs', reason: availability.reason }, noIpvsWarning(availability.reason));
    return { backend: new DryRunBackend(o.log), dryRun: true, availability };
  }
  return { backend: o.real(), dryRun: false, availability };
}
