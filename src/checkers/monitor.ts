// The health of every real server: one checker per checker block, all on one Scheduler, and
// keepalived's rule for a real server (ipwrapper.c update_svr_checker_state): it is alive
// while none of its checkers is down (num_failed_checkers == 0). A checker with `alpha`
// starts down, so its real server starts dead; a real server without checkers is always alive.
//
// 'change' is emitted when a real server's aliveness or its effective weight (MISC_CHECK
// misc_dynamic) changes; adding/removing the destination and notify_up/down are the IPVS
// manager's (src/ipvs/manager.ts), as are keepalived's "Removing service …" lines.

import { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import type { Checker, PollingChecker } from '../config/model/checkers.js';
import type { LvsConfig, RealServer, VirtualServer } from '../config/model/lvs.js';
import { toIpvsSpecs } from '../config/model/lvs.js';
import { realServerId, type RealServerHealth } from '../ipvs/desired.js';
import { trio, type CheckFn, type CheckResult } from './common.js';
import { dnsCheck } from './dns.js';
import { httpCheck } from './http.js';
import { miscCheck } from './misc.js';
import { closePingSockets, pingCheck } from './ping.js';
import { Scheduler, type Flavor, type Job, type RunReport, type SchedulerOptions, type StepLog } from './scheduler.js';
import { smtpCheck } from './smtp.js';
import { tcpCheck } from './tcp.js';
import { udpCheck } from './udp.js';

export interface HealthChange {
  vs: VirtualServer;
  rs: RealServer;
  /** the real server is alive (all its checkers up) */
  up: boolean;
  /** effective weight when a MISC_CHECK misc_dynamic set one */
  weight?: number;
  /** what caused the change, e.g. "TCP_CHECK connect ECONNREFUSED" */
  reason: string;
  /** duration of the check run that caused the change */
  latencyMs?: number;
}

export interface HealthMonitorOptions {
  log?: Logger;
  scheduler?: SchedulerOptions;
  /** checkers to build instead of the real ones (tests) */
  makeCheck?: (chk: PollingChecker, vs: VirtualServer, rs: RealServer) => CheckFn | undefined;
  /**
   * Real servers whose aliveness is already known, keyed as health(): their checkers start
   * up or down as it says instead of by `alpha` (a restarted checker worker resumes from
   * the health the daemon already acted on, so a recovery while it was down is reported).
   */
  knownUp?: ReadonlyMap<string, boolean>;
}

/** A real server's place in the configuration and its health key. */
export interface RsSlot {
  vi: number;
  ri: number;
  /** realServerId(vs spec id, rs): the key of health() */
  id: string;
  vs: VirtualServer;
  rs: RealServer;
}

/** Every real server of the configuration, in order, with its health key. */
export function realServerSlots(lvs: LvsConfig): RsSlot[] {
  const specs = toIpvsSpecs(lvs);
  const out: RsSlot[] = [];
  lvs.virtualServers.forEach((vs, vi) => {
    const spec = specs[vi];
    vs.realServers.forEach((rs, ri) => {
      const rsSpec = spec?.realServers[ri] ?? rs;
      out.push({ vi, ri, id: realServerId(spec?.id ?? vs.id, { ip: rsSpec.ip, port: rsSpec.port }), vs, rs });
    });
  });
  return out;
}

/** The checker is run (FILE_CHECK/BFD_CHECK are not; nor a MISC_CHECK whose script keepalived would drop). */
export function isRunChecker(c: Checker): c is PollingChecker {
  return isPolling(c) && !(c.type === 'MISC_CHECK' && c.script?.disabled);
}

/**
 * Health before any check has run (what health() says right after construction): a real
 * server is down while any of its checkers has `alpha`, or as `knownUp` says.
 */
export function initialHealth(lvs: LvsConfig, knownUp?: ReadonlyMap<string, boolean>): Map<string, RealServerHealth> {
  const m = new Map<string, RealServerHealth>();
  for (const s of realServerSlots(lvs)) {
    const run = s.rs.checkers.filter(isRunChecker);
    const k = run.length ? knownUp?.get(s.id) : undefined;
    m.set(s.id, { up: k ?? !run.some((c) => c.alpha) });
  }
  return m;
}

/** The safety-net bound on one run, above the checker's own timeouts. */
export function hardTimeoutMs(chk: PollingChecker): number {
  const margin = 1000;
  switch (chk.type) {
    case 'MISC_CHECK':
      // misc_timeout, then keepalived's 2 s between SIGTERM and SIGKILL
      return chk.timeoutMs + 2000 + margin;
    case 'HTTP_GET':
    case 'SSL_GET':
      // per url: connect, TLS, first byte and the rest of the body
      return Math.max(1, chk.urls.length) * 4 * chk.conn.connectTimeoutMs + margin;
    case 'SMTP_CHECK':
      // connect, banner, HELO reply, QUIT reply
      return 4 * chk.conn.connectTimeoutMs + margin;
    default:
      return chk.conn.connectTimeoutMs + margin;
  }
}

function flavorOf(chk: PollingChecker): Flavor {
  switch (chk.type) {
    case 'HTTP_GET':
    case 'SSL_GET':
      return { style: 'http', fastRecovery: chk.fastRecovery };
    case 'MISC_CHECK':
      return { style: 'retryUnknown', fromStart: true };
    case 'DNS_CHECK':
    case 'SMTP_CHECK':
      return { style: 'retryUnknown' };
    default:
      return { style: 'standard' };
  }
}

function isPolling(c: Checker): c is PollingChecker {
  return c.type !== 'FILE_CHECK' && c.type !== 'BFD_CHECK';
}

interface RsEntry {
  id: string;
  vs: VirtualServer;
  rs: RealServer;
  /** FMT_CHK / FMT_RS: "[10.0.0.2]:tcp:80" */
  label: string;
  checkers: CkEntry[];
  failed: number;
  alive: boolean;
  weight: number;
  hasDynamicWeight: boolean;
}

interface CkEntry {
  chk: PollingChecker;
  rs: RsEntry;
  job: Job;
  /** keepalived checker->cur_weight: the misc_dynamic weight minus the configured one */
  curWeight: number;
}

/** keepalived's log line for a checker's state change (check_*.c). */
export function checkerMessage(chk: PollingChecker, log: StepLog, rsLabel: string, vsLabel: string, r: CheckResult): string | undefined {
  const after = log.kind === 'failed' ? log.afterRetries : undefined;
  switch (chk.type) {
    case 'TCP_CHECK':
    case 'UDP_CHECK': {
      const p = chk.type === 'TCP_CHECK' ? 'TCP' : 'UDP';
      if (log.kind === 'success') return `${p} connection to ${rsLabel} success.`;
      if (log.kind === 'failed') return after !== undefined ? `${p}_CHECK on service ${rsLabel} failed after ${after} retries.` : `${p}_CHECK on service ${rsLabel} failed.`;
      return chk.logAllFailures ? `${p} connection to ${rsLabel} ${/timeout/.test(r.reason ?? '') && p === 'TCP' ? 'timeout' : 'failed'}.` : undefined;
    }
    case 'PING_CHECK':
      if (log.kind === 'success') return `ICMP connection to ${rsLabel} success.`;
      if (log.kind === 'failed') return after !== undefined ? `ICMP CHECK on service ${rsLabel} of ${vsLabel} failed after ${after} retries.` : `ICMP CHECK on service ${rsLabel} failed.`;
      return chk.logAllFailures ? `ICMP connection to ${rsLabel} of ${vsLabel} failed.` : undefined;
    case 'HTTP_GET':
    case 'SSL_GET': {
      const p = chk.type === 'SSL_GET' ? 'SSL' : 'HTTP';
      if (log.kind === 'success') return `Remote Web server ${rsLabel} succeed on service.`;
      if (log.kind === 'failed') return after !== undefined ? `${p}_CHECK on service ${rsLabel} failed after ${after} retries.` : `${p}_CHECK on service ${rsLabel} failed.`;
      return chk.logAllFailures ? `${p}_CHECK ${r.reason ?? 'failure'} with server ${rsLabel}.` : undefined;
    }
    case 'SMTP_CHECK':
      if (log.kind === 'success') return `Remote SMTP server ${rsLabel} succeed on service.`;
      // smtp_final(): the error is logged on the last failure, or every failure with log_all_failures
      if (log.kind === 'failed' || chk.logAllFailures) return `SMTP_CHECK ${r.detail ?? r.reason ?? 'failure'}`;
      return undefined;
    case 'DNS_CHECK':
      if (log.kind === 'success') return undefined;
      if (log.kind === 'failed' || chk.logAllFailures) return `DNS_CHECK (${rsLabel}) ${r.detail ?? r.reason ?? 'failure'}${after !== undefined ? ` after ${after} retries` : ''}`;
      return undefined;
    case 'MISC_CHECK': {
      const who = `Misc check for [${rsLabel} VS ${vsLabel}] by [${chk.script?.argv[0] ?? chk.miscPath.split(/\s+/)[0]}]`;
      if (log.kind === 'success') return `${who} succeeded.`;
      if (log.kind === 'retrying' && !chk.logAllFailures) return undefined;
      const type = /^timeout/.test(r.reason ?? '') ? 'timed out' : 'failed';
      let msg: string;
      const n = chk.retry;
      if (!n) msg = ' with retry disabled';
      else if (log.kind === 'retrying') msg = log.attempt === 1 ? `, will do ${n} ${n === 1 ? 'retry' : 'retries'}` : ` on retry ${log.attempt - 1}/${n}`;
      else msg = ` after ${n} ${n === 1 ? 'retry' : 'retries'}`;
      return `${who} ${type}${msg}${r.detail ? ` (${r.detail})` : ''}.`;
    }
  }
}

export class HealthMonitor extends EventEmitter {
  private readonly log: Logger;
  private readonly scheduler: Scheduler;
  private readonly entries: RsEntry[] = [];
  private readonly byJob = new Map<Job, CkEntry>();
  private started = false;

  constructor(
    private readonly lvs: LvsConfig,
    opts: HealthMonitorOptions = {},
  ) {
    super();
    this.log = opts.log ?? pino({ enabled: false });
    this.scheduler = new Scheduler({ ...opts.scheduler, onReport: (r) => this.onReport(r) });
    for (const { id, vs, rs } of realServerSlots(lvs)) {
      const label = trio(rs.ip, vs.protocol, rs.port);
      const known = opts.knownUp?.get(id);
      const e: RsEntry = {
        id,
        vs,
        rs,
        label,
        checkers: [],
        failed: 0,
        alive: true,
        weight: rs.weight,
        hasDynamicWeight: false,
      };
      for (const chk of rs.checkers) {
        if (!isPolling(chk)) {
          this.log.warn({ vs: vs.id, rs: label, checker: chk.type }, `${chk.type} for service ${label} is not run by hacheck; it does not affect the real server's state`);
          continue;
        }
        if (chk.type === 'MISC_CHECK' && chk.script?.disabled) {
          // keepalived drops a checker whose script it may not run
          this.log.warn({ vs: vs.id, rs: label, checker: chk.type, script: chk.miscPath }, `MISC_CHECK script ${chk.miscPath} is disabled - checker not run`);
          continue;
        }
        const run = opts.makeCheck?.(chk, vs, rs) ?? this.makeCheck(chk, vs, rs);
        const alpha = known === undefined ? chk.alpha : !known;
        const job = this.scheduler.add({
          run,
          timing: { alpha, warmupMs: chk.warmupMs, retry: chk.retry, delayLoopMs: chk.delayLoopMs, delayBeforeRetryMs: chk.delayBeforeRetryMs },
          flavor: flavorOf(chk),
          hardTimeoutMs: hardTimeoutMs(chk),
        });
        const ck: CkEntry = { chk, rs: e, job, curWeight: 0 };
        e.checkers.push(ck);
        this.byJob.set(job, ck);
        // set_checker_state(): an alpha checker starts down and counts as failed
        if (alpha) e.failed++;
      }
      e.alive = e.failed === 0;
      this.entries.push(e);
    }
  }

  private makeCheck(chk: PollingChecker, vs: VirtualServer, rs: RealServer): CheckFn {
    switch (chk.type) {
      case 'TCP_CHECK':
        return tcpCheck(chk);
      case 'HTTP_GET':
      case 'SSL_GET': {
        const ctx: Parameters<typeof httpCheck>[1] = {};
        if (rs.virtualhost !== undefined) ctx.rsVirtualhost = rs.virtualhost;
        if (vs.virtualhost !== undefined) ctx.vsVirtualhost = vs.virtualhost;
        if (this.lvs.ssl) ctx.ssl = this.lvs.ssl;
        return httpCheck(chk, ctx);
      }
      case 'MISC_CHECK':
        return miscCheck(chk);
      case 'SMTP_CHECK':
        return smtpCheck(chk);
      case 'DNS_CHECK':
        return dnsCheck(chk);
      case 'UDP_CHECK':
        return udpCheck(chk);
      case 'PING_CHECK':
        return pingCheck(chk);
    }
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const e of this.entries) {
      for (const c of e.checkers) {
        // check_api.c register_checkers_thread()
        this.log.info({ vs: e.vs.id, rs: e.label, checker: c.chk.type }, `Activating healthchecker for service ${e.label} for VS ${e.vs.id}`);
      }
    }
    this.scheduler.start();
  }

  stop(): void {
    this.started = false;
    this.scheduler.stop();
    if (this.entries.some((e) => e.checkers.some((c) => c.chk.type === 'PING_CHECK'))) closePingSockets();
  }

  /** Health of every real server, keyed by realServerId(vs spec id, rs). */
  health(): Map<string, RealServerHealth> {
    const m = new Map<string, RealServerHealth>();
    for (const e of this.entries) m.set(e.id, e.hasDynamicWeight ? { up: e.alive, weight: e.weight } : { up: e.alive });
    return m;
  }

  /** Checks currently running (for tests and metrics). */
  get inFlight(): number {
    return this.scheduler.inFlight;
  }

  private onReport(r: RunReport): void {
    const ck = this.byJob.get(r.job);
    if (!ck) return;
    const e = ck.rs;
    const { chk } = ck;
    const fields = { vs: e.vs.id, rs: e.label, checker: chk.type, ok: r.result.ok, reason: r.result.reason, latencyMs: Math.round(r.latencyMs * 10) / 10 };
    if (r.outcome.log) {
      const msg = checkerMessage(chk, r.outcome.log, e.label, e.vs.id, r.result);
      if (msg) this.log.info(fields, msg);
      else this.log.debug(fields, `${chk.type} on service ${e.label}: ${r.result.ok ? 'ok' : r.result.reason}`);
    }

    // misc_dynamic weight: keepalived update_svr_wgt() with cur_weight bookkeeping
    let weightChanged = false;
    if (chk.type === 'MISC_CHECK' && chk.dynamic) {
      let cur = ck.curWeight;
      if (r.result.ok) cur = r.result.weight === undefined ? 0 : r.result.weight - e.rs.weight;
      else if (r.outcome.transition === 'down' || r.outcome.log?.kind === 'failed') cur = 0;
      if (cur !== ck.curWeight) {
        ck.curWeight = cur;
        const w = e.rs.weight + e.checkers.reduce((s, c) => s + c.curWeight, 0);
        e.hasDynamicWeight = true;
        if (w !== e.weight) {
          e.weight = w;
          weightChanged = true;
        }
      }
    }

    const t = r.outcome.transition;
    if (t === 'down') e.failed++;
    else if (t === 'up' && e.failed > 0) e.failed--;
    const alive = e.failed === 0;
    const aliveChanged = alive !== e.alive;
    e.alive = alive;
    if (!aliveChanged && !weightChanged) return;
    const reason = r.result.ok ? `${chk.type} ok` : `${chk.type} ${r.result.reason ?? 'failed'}`;
    const ev: HealthChange = { vs: e.vs, rs: e.rs, up: alive, reason, latencyMs: r.latencyMs };
    if (e.hasDynamicWeight) ev.weight = e.weight;
    this.emit('change', ev);
  }
}
