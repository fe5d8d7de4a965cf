/**
 * The daemon: loads keepalived.conf, runs the VRRP engine and the LVS half (checkers + IPVS
 * manager) in one process, and handles keepalived's signals. Reload is an operation
 * (BIRD-style): the new file is checked first and refused when it has errors; then only
 * what changed is restarted.
 */
import { mkdirSync, rmSync, writeFileSync, existsSync, unlinkSync } from 'node:fs';
import { writeFile, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import { loadConfigFile, type Loaded } from '../config/index.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import type { Config } from '../config/model/types.js';
import type { CliOptions } from '../cli/args.js';
import type { Logger } from '../log.js';
import type { VrrpEngine, InstanceStatus, NotifyRequest } from '../vrrp/engine.js';
import { loadVrrp } from '../vrrp/load.js';
import type { VrrpSystem } from '../vrrp/io.js';
import { closeDaemonLogger, createDaemonLogger } from './logging.js';
import { serveMetrics } from './metrics.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { dumpPaths, formatCheckData, formatData, formatJson, formatStats, statsOf, tmpDir, type DumpSnapshot, type VrrpStatsCounters } from './dumps.js';
import { onSignal, sigrtmin } from '../net/signal.js';
import { SdNotifier } from './sd-notify.js';

export const DEFAULT_PID_FILE = '/run/keepalived.pid';
export const DEFAULT_STATUS_SOCKET = '/run/hacheck.sock';

export interface DaemonHooks {
  createSystem(log: Logger): Promise<VrrpSystem>;
  /** notify scripts and FIFO lines for VRRP state changes */
  createNotifier?(cfg: Config, log: Logger, o: CliOptions): Promise<{ notify(n: NotifyRequest): void; close(): Promise<void> }>;
  /** vrrp_script / track_file / track_process trackers feeding the engine */
  createTrackers?(cfg: Config, engine: VrrpEngine, log: Logger): { start(): Promise<void>; stop(): Promise<void> };
  /** the LVS half */
  createLvs?(cfg: Config, o: CliOptions, log: Logger): Promise<LvsRuntime | undefined>;
}

export interface LvsRuntime {
  start(): Promise<void>;
  reload(cfg: Config): Promise<void>;
  stop(release: boolean): Promise<void>;
  status(): unknown;
}

export interface DaemonStatus {
  pid: number;
  configFile: string;
  startedAt: string;
  reloads: number;
  vrrp: InstanceStatus[];
  lvs?: unknown;
}

export class Daemon {
  readonly log: Logger;
  private loaded?: Loaded;
  private engine?: VrrpEngine;
  private system?: VrrpSystem;
  private notifier?: { notify(n: NotifyRequest): void; close(): Promise<void> };
  private trackers?: { start(): Promise<void>; stop(): Promise<void> };
  private lvs?: LvsRuntime;
  private statusServer?: Server;
  private reloads = 0;
  private readonly startedAt = new Date();
  private stopping?: Promise<void>;
  private reloading = false;
  private reloadAgain = false;
  private metrics?: { server: import('node:http').Server; loop: import('node:perf_hooks').IntervalHistogram };
  private loopTimer?: NodeJS.Timeout;
  private readonly sd = new SdNotifier(process.env, (state, err) => this.log.warn({ err: err.message }, `sd_notify ${state}: ${err.message}`));
  /** Counters at the last SIGRTMIN+29: later dumps count from there (keepalived zeroes them). */
  private statsBaseline = new Map<string, VrrpStatsCounters>();

  constructor(private readonly o: CliOptions, private readonly hooks: DaemonHooks, log?: Logger) {
    this.log = log ?? createDaemonLogger(o);
  }

  /** Load and check a configuration; diagnostics go to the log. undefined when it has errors. */
  private load(): Loaded | undefined {
    const loaded = loadConfigFile(this.o.configFile, { configId: this.o.configId });
    for (const d of loaded.diags.list) {
      const text = formatDiagnostic(d, loaded.sources);
      if (d.severity === 'error') this.log.error({ file: d.loc?.file, line: d.loc?.line, col: d.loc?.col }, text);
      else this.log.warn({ file: d.loc?.file, line: d.loc?.line, col: d.loc?.col }, text);
    }
    // keepalived refuses to run only on fatal problems (exit 2/4); errors in single
    // statements are skipped. A reload is stricter (see reload()).
    return loaded;
  }

  async start(): Promise<void> {
    const loaded = this.load();
    if (!loaded) throw new Error('configuration could not be loaded');
    const fatal = loaded.diags.exitCode();
    if (fatal === 2 || fatal === 4) throw new Error(`configuration ${this.o.configFile} has fatal errors (keepalived -t exit ${fatal})`);
    this.loaded = loaded;
    this.writePidFiles();
    this.log.info({ configFile: this.o.configFile, version: '0.1.0' }, 'Starting hacheck (Keepalived compatible)');
    const cfg = loaded.config;
    if (!this.o.checkOnly) await this.startVrrp(cfg);
    if (!this.o.vrrpOnly && this.hooks.createLvs) {
      this.lvs = await this.hooks.createLvs(cfg, this.o, this.log);
      await this.lvs?.start();
    }
    await this.startStatusSocket();
    if (this.o.metrics) {
      try {
        const m = await serveMetrics(this.o.metrics, () => this.status());
        this.metrics = m;
        this.log.info({ metrics: this.o.metrics }, `Prometheus metrics on http://${this.o.metrics}/metrics`);
      } catch (e) {
        this.log.error({ err: (e as Error).message }, `cannot serve metrics on ${this.o.metrics}: ${(e as Error).message}`);
      }
    }
    this.watchEventLoop();
    this.sd.notify('READY=1');
    const wd = this.sd.startWatchdog();
    if (wd !== undefined) this.log.info({ watchdogMs: wd }, `systemd watchdog: pinging every ${wd} ms`);
  }

  /**
   * Node runs timers on one thread: a blocked event loop makes the master late. Measure the
   * delay and log it when it reaches a quarter of the shortest advert interval.
   */
  private watchEventLoop(): void {
    const adv = this.engine?.status().map((i) => i.advertIntervalCs ?? 100) ?? [];
    const limitMs = Math.max(5, (Math.min(100, ...adv) * 10) / 4);
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    this.loopTimer = setInterval(() => {
      const maxMs = h.max / 1e6;
      if (maxMs > limitMs) this.log.warn({ eventLoopDelayMs: Math.round(maxMs), p99Ms: Math.round(h.percentile(99) / 1e6), limitMs }, `event loop delayed ${maxMs.toFixed(1)} ms: advert timing at risk`);
      h.reset();
    }, 1000);
    this.loopTimer.unref();
  }

  private async startVrrp(cfg: Config): Promise<void> {
    if (cfg.vrrp.instances.every((i) => i.removed || i.vrid === undefined)) return;
    // imported here, not above: `hacheck -C` never loads the VRRP half
    const { VrrpEngine } = await loadVrrp();
    this.system ??= await this.hooks.createSystem(this.log);
    this.notifier = await this.hooks.createNotifier?.(cfg, this.log, this.o);
    this.engine = new VrrpEngine(cfg, {
      system: this.system,
      log: this.log,
      notify: this.notifier ? (n) => this.notifier!.notify(n) : undefined,
      dontReleaseVrrp: this.o.dontReleaseVrrp,
    });
    this.trackers = this.hooks.createTrackers?.(cfg, this.engine, this.log);
    await this.trackers?.start();
    await this.engine.start();
  }

  private writePidFiles(): void {
    const files = [this.o.pidFile ?? DEFAULT_PID_FILE, this.o.vrrpPidFile, this.o.checkersPidFile].filter((f): f is string => !!f);
    for (const f of files) {
      try {
        if (existsSync(f)) this.log.info({ file: f }, `Remove a zombie pid file ${f}`);
        mkdirSync(dirname(f), { recursive: true });
        writeFileSync(f, `${process.pid}\n`);
      } catch (e) {
        this.log.warn({ file: f, err: (e as Error).message }, `cannot write pid file ${f}`);
      }
    }
  }

  private removePidFiles(): void {
    for (const f of [this.o.pidFile ?? DEFAULT_PID_FILE, this.o.vrrpPidFile, this.o.checkersPidFile]) {
      if (f) rmSync(f, { force: true });
    }
  }

  status(): DaemonStatus {
    return {
      pid: process.pid,
      configFile: this.o.configFile,
      startedAt: this.startedAt.toISOString(),
      reloads: this.reloads,
      vrrp: this.engine?.status() ?? [],
      lvs: this.lvs?.status(),
    };
  }

  // -- keepalived's dump files (keepalived(8) SIGNALS) -----------------------------------------

  private dumpSnapshot(): DumpSnapshot {
    return {
      vrrp: this.engine?.status() ?? [],
      lvs: this.lvs?.status() as DumpSnapshot['lvs'],
      wallMs: Date.now(),
      monoMs: performance.now(),
    };
  }

  private paths() {
    return dumpPaths(this.loaded!.config.global, tmpDir(process.env));
  }

  /** Write `text` to `path` whole: a scraper never reads a half-written file. */
  private async writeDump(path: string, text: string, what: string): Promise<void> {
    const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, path);
      this.log.info({ file: path }, `Printing ${what} to ${path}`);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      this.log.error({ file: path, err: (e as Error).message }, `Can't write ${what} to ${path}: ${(e as Error).message}`);
    }
  }

  /** SIGUSR1: keepalived.data (VRRP) and keepalived_check.data (LVS). */
  async dumpData(): Promise<void> {
    if (!this.loaded) return;
    const cfg = this.loaded.config;
    const snap = this.dumpSnapshot();
    const p = this.paths();
    const jobs: Promise<void>[] = [];
    if (this.engine) jobs.push(this.writeDump(p.data, formatData(cfg, snap), 'VRRP data'));
    if (this.lvs) jobs.push(this.writeDump(p.check, formatCheckData(cfg, snap), 'checker data'));
    await Promise.all(jobs);
  }

  /** SIGUSR2: keepalived.stats; SIGRTMIN+29 (`clear`): then count from zero again. */
  async dumpStats(clear = false): Promise<void> {
    if (!this.loaded || !this.engine) return;
    const snap = this.dumpSnapshot();
    const text = formatStats(snap, this.statsBaseline);
    if (clear) for (const st of snap.vrrp) this.statsBaseline.set(st.name, statsOf(st));
    await this.writeDump(this.paths().stats, text, 'VRRP stats');
  }

  /** SIGRTMIN+2: keepalived.json (nothing when there is no VRRP instance, as keepalived). */
  async dumpJson(): Promise<void> {
    if (!this.loaded || !this.engine) return;
    const snap = this.dumpSnapshot();
    if (snap.vrrp.length === 0) return;
    await this.writeDump(this.paths().json, formatJson(this.loaded.config, snap, this.statsBaseline), 'VRRP JSON');
  }

  private async startStatusSocket(): Promise<void> {
    const path = this.o.statusSocket ?? DEFAULT_STATUS_SOCKET;
    try {
      if (existsSync(path)) unlinkSync(path);
      mkdirSync(dirname(path), { recursive: true });
    } catch {
      /* reported by listen */
    }
    const server = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.end(JSON.stringify(this.status()) + '\n');
    });
    server.on('error', (e) => this.log.warn({ err: e.message, path }, `status socket ${path}: ${e.message}`));
    await new Promise<void>((resolve) => server.listen(path, () => resolve()).once('error', () => resolve()));
    this.statusServer = server;
  }

  /**
   * SIGHUP: check the new file first; a file with errors is refused and the running
   * configuration stays. Then only what changed restarts: VRRP instances whose configuration
   * is unchanged keep their state and VIPs, IPVS changes go through the reconciler's diff.
   */
  async reload(): Promise<boolean> {
    if (this.stopping) return false;
    if (this.reloading) {
      this.reloadAgain = true; // coalesce a burst of SIGHUPs into one more reload
      return false;
    }
    this.reloading = true;
    try {
      let ok = false;
      do {
        this.reloadAgain = false;
        ok = await this.reloadOnce();
      } while (this.reloadAgain && !this.stopping);
      return ok;
    } finally {
      this.reloading = false;
    }
  }

  private async reloadOnce(): Promise<boolean> {
    this.log.info({ reason: 'reload' }, 'Reloading');
    this.sd.notify('RELOADING=1');
    try {
      return await this.reloadBody();
    } finally {
      this.sd.notify('READY=1');
    }
  }

  private async reloadBody(): Promise<boolean> {
    const loaded = this.load();
    if (!loaded || loaded.diags.list.some((d) => d.severity === 'error')) {
      this.log.error({ reason: 'reload', configFile: this.o.configFile }, 'Reload refused: the new configuration has errors; the running configuration is kept');
      return false;
    }
    const old = this.loaded!.config;
    const cfg = loaded.config;
    this.loaded = loaded;
    this.reloads++;
    if (!this.o.checkOnly && vrrpChanged(old, cfg)) {
      // Changed VRRP configuration: restart the engine on the new one. Unchanged configs
      // (the common case of a reload for an LVS change) keep state and VIPs untouched.
      await this.engine?.stop(5000, 'reload');
      await this.trackers?.stop();
      await this.notifier?.close();
      this.statsBaseline.clear();
      await this.startVrrp(cfg);
    }
    if (!this.o.vrrpOnly) await this.lvs?.reload(cfg);
    this.log.info({ reason: 'reload', reloads: this.reloads }, 'Reload finished');
    return true;
  }

  /** SIGTERM / SIGINT: graceful stop within a bound. */
  stop(reason = 'signal'): Promise<void> {
    this.stopping ??= (async () => {
      // The engine first, ahead of even the log line: its priority-0 adverts, sent within this
      // call, are what lets a backup take over after Skew_Time (RFC 5798 §6.4.3).
      const engineStopped = this.engine?.stop(5000, reason.startsWith('SIG') ? 'signal' : reason);
      this.log.info({ reason }, 'Stopping');
      this.sd.notify('STOPPING=1');
      this.sd.stop();
      await engineStopped;
      await this.trackers?.stop();
      await this.notifier?.close();
      await this.lvs?.stop(!this.o.dontReleaseIpvs);
      await this.system?.close();
      this.statusServer?.close();
      this.metrics?.server.close();
      clearInterval(this.loopTimer);
      rmSync(this.o.statusSocket ?? DEFAULT_STATUS_SOCKET, { force: true });
      this.removePidFiles();
      this.log.info({ reason }, 'Stopped hacheck');
      closeDaemonLogger(this.log);
    })();
    return this.stopping;
  }
}

/** systemd Type=notify: tell the service manager through systemd-notify (NotifyAccess=all). */
/** Whether the VRRP part of two configurations differs (positions ignored). */
export function vrrpChanged(a: Config, b: Config): boolean {
  const strip = (c: Config) => JSON.stringify({ vrrp: c.vrrp, static: c.static, global: c.global }, (k, v) => (k === 'loc' ? undefined : v));
  return strip(a) !== strip(b);
}

/** Run until SIGTERM/SIGINT; returns the exit code. */
export async function runDaemon(o: CliOptions, hooks: DaemonHooks): Promise<number> {
  const d = new Daemon(o, hooks);
  try {
    await d.start();
  } catch (e) {
    d.log.fatal({ err: (e as Error).message }, `Stopping: ${(e as Error).message}`);
    await d.stop('start failed').catch(() => undefined);
    return 1;
  }
  return new Promise<number>((resolve) => {
    const bye = (sig: string) => {
      const hard = setTimeout(() => resolve(1), 15_000);
      hard.unref();
      void d.stop(sig).then(() => {
        clearTimeout(hard);
        resolve(0);
      });
    };
    process.once('SIGTERM', () => bye('SIGTERM'));
    process.once('SIGINT', () => bye('SIGINT'));
    process.on('SIGHUP', () => void d.reload());
    process.on('SIGUSR1', () => void d.dumpData());
    process.on('SIGUSR2', () => void d.dumpStats());
    // Real-time signals need the addon: keepalived's SIGRTMIN+2 (JSON) and SIGRTMIN+29 (stats, clear).
    try {
      const rtmin = sigrtmin();
      onSignal(rtmin + 2, () => void d.dumpJson());
      onSignal(rtmin + 29, () => void d.dumpStats(true));
    } catch (e) {
      d.log.warn({ err: (e as Error).message }, `JSON and stats-clear signals unavailable: ${(e as Error).message}`);
    }
  });
}
