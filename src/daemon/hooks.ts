/** The real subsystems the daemon runs with (tests may substitute their own). */
import type { Config } from '../config/model/types.js';
import type { NotifyFifo as FifoConfig } from '../config/model/global.js';
import type { Logger } from '../log.js';
import { NotifyFifos, type NotifyFifoOptions } from '../scripts/fifo.js';
import { NotifyRunner } from '../scripts/notify.js';
import { TrackFileWatcher } from '../scripts/track-file.js';
import { VrrpScriptTracker } from '../scripts/vrrp-script.js';
import type { VrrpEngine } from '../vrrp/engine.js';
import { loadVrrp } from '../vrrp/load.js';
import type { DaemonHooks, LvsRuntime } from './daemon.js';
import { HealthMonitor, type HealthChange } from '../checkers/monitor.js';
import { WorkerHealthMonitor } from '../checkers/worker-host.js';
import { IpvsManager } from '../ipvs/manager.js';
import { IpvsadmBackend } from '../ipvs/ipvsadm.js';
import { chooseIpvsBackend } from '../ipvs/dry-run.js';
import { realServerId, type RealServerHealth } from '../ipvs/desired.js';
import { toIpvsSpecs, type LvsConfig } from '../config/model/lvs.js';
import type { CliOptions } from '../cli/args.js';

function fifoOptions(f: FifoConfig): Omit<NotifyFifoOptions, 'type' | 'logger' | 'run'> | undefined {
  return f.name ? { path: f.name, script: f.script } : undefined;
}

export async function openFifos(cfg: Config, log: Logger): Promise<NotifyFifos> {
  const g = cfg.global;
  return NotifyFifos.open({
    notifyFifo: fifoOptions(g.notifyFifo),
    vrrpNotifyFifo: fifoOptions(g.vrrpNotifyFifo),
    lvsNotifyFifo: fifoOptions(g.lvsNotifyFifo),
    logger: log,
  });
}

export async function createNotifier(cfg: Config, log: Logger, o?: CliOptions) {
  const fifos = await openFifos(cfg, log);
  const runner = new NotifyRunner({ logger: log, fifos, timeoutMs: o?.notifyTimeoutMs });
  return {
    notify(n: Parameters<NonNullable<import('../vrrp/engine.js').EngineOptions['notify']>>[0]) {
      if (n.state === 'MASTER_RX_LOWER_PRI') {
        void runner.masterRxLowerPri(n.name, n.scripts, n.priority);
        return;
      }
      if (n.kind === 'GROUP') void runner.group(n.name, n.scripts, n.state);
      else void runner.instance(n.name, n.scripts, n.state, n.priority);
    },
    async close() {
      await runner.close();
    },
  };
}

/** vrrp_script and track_file trackers for the objects some instance tracks. */
export function createTrackers(cfg: Config, engine: VrrpEngine, log: Logger) {
  const usedScripts = new Set<string>();
  const usedFiles = new Set<string>();
  for (const list of [cfg.vrrp.instances, cfg.vrrp.syncGroups]) {
    for (const i of list) {
      i.trackScript.forEach((t) => usedScripts.add(t.name));
      i.trackFile.forEach((t) => usedFiles.add(t.name));
    }
  }
  const scripts: VrrpScriptTracker[] = [];
  const files: TrackFileWatcher[] = [];
  for (const s of cfg.vrrp.scripts) {
    if (!usedScripts.has(s.name) || !s.script || s.script.disabled) continue;
    try {
      const t = new VrrpScriptTracker(s, { logger: log });
      // Until its first result a script is in keepalived's "init" state: report it only
      // once known (init_fail starts it down).
      if (t.up !== undefined) engine.setTrack('script', s.name, { up: t.up });
      t.on('change', (up) => engine.setTrack('script', s.name, { up }));
      scripts.push(t);
    } catch (e) {
      log.warn({ script: s.name, err: (e as Error).message }, (e as Error).message);
    }
  }
  for (const f of cfg.vrrp.trackFiles) {
    if (!usedFiles.has(f.name) || !f.file) continue;
    const w = new TrackFileWatcher({ name: f.name, file: f.file, logger: log } as ConstructorParameters<typeof TrackFileWatcher>[0]);
    w.on('change', (value: number) => engine.setTrack('file', f.name, { value }));
    files.push(w);
  }
  return {
    async start() {
      for (const w of files) {
        try {
          await w.start();
          engine.setTrack('file', w.name, { value: w.value });
        } catch (e) {
          log.warn({ trackFile: w.name, err: (e as Error).message }, (e as Error).message);
        }
      }
      for (const t of scripts) t.start();
    },
    async stop() {
      await Promise.all([...scripts.map((t) => t.stop()), ...files.map(async (w) => w.stop())]);
    },
  };
}

/** What createLvs needs of a health monitor (HealthMonitor in-process, WorkerHealthMonitor in a worker thread). */
export interface LvsHealthMonitor {
  on(event: 'change', listener: (c: HealthChange) => void): unknown;
  off(event: 'change', listener: (c: HealthChange) => void): unknown;
  health(): Map<string, RealServerHealth>;
  start(): void;
  stop(): void | Promise<void>;
}

export type MonitorFactory = (lvs: LvsConfig, log: Logger) => LvsHealthMonitor;

/** The checkers run in a worker thread, so their load cannot make VRRP adverts late. */
export const workerMonitor: MonitorFactory = (lvs, log) => new WorkerHealthMonitor(lvs, { log });
/** The checkers run on the main event loop. */
export const inProcessMonitor: MonitorFactory = (lvs, log) => new HealthMonitor(lvs, { log });

/**
 * The LVS half: checkers feeding the IPVS manager, which applies diffs through ipvsadm,
 * or, on a kernel without IPVS, logs them (src/ipvs/dry-run.ts).
 */
export async function createLvs(cfg: Config, o: CliOptions, log: Logger, makeMonitor: MonitorFactory = workerMonitor): Promise<LvsRuntime | undefined> {
  if (cfg.lvs.virtualServers.length === 0) return undefined;
  const { backend } = await chooseIpvsBackend({ log, real: () => new IpvsadmBackend() });
  let monitor = makeMonitor(cfg.lvs, log);
  const last = new Map<string, { reason: string; latencyMs?: number }>();
  const track = (m: LvsHealthMonitor) =>
    m.on('change', (c: HealthChange) => last.set(realServerId(c.vs.id, c.rs), { reason: c.reason, latencyMs: c.latencyMs }));
  track(monitor);
  const manager = new IpvsManager({ lvs: cfg.lvs, health: monitor, backend, log, keepOnStop: o.dontReleaseIpvs });
  let lvs = cfg.lvs;
  return {
    async start() {
      // The table from the configuration alone first (real servers alive until a checker
      // says otherwise, alpha ones down), then the checkers: the IPVS table is complete
      // before the checker worker boots.
      await manager.start();
      monitor.start();
    },
    async reload(next: Config) {
      const m = makeMonitor(next.lvs, log);
      track(m);
      await monitor.stop();
      monitor = m;
      lvs = next.lvs;
      await manager.reload(next.lvs, m);
      m.start();
    },
    async stop(release: boolean) {
      await monitor.stop();
      await manager.stop({ keep: !release });
    },
    status() {
      const health = monitor.health();
      const specs = toIpvsSpecs(lvs);
      const realServers = specs.flatMap((spec) =>
        spec.realServers.map((rs) => {
          const id = realServerId(spec.id, rs);
          const h = health.get(id);
          const info = last.get(id);
          return { vs: spec.id, rs: `${rs.ip}:${rs.port ?? 0}`, up: h?.up ?? false, weight: h?.weight ?? rs.weight ?? 1, reason: info?.reason, latencyMs: info?.latencyMs };
        }),
      );
      return { realServers, quorum: Object.fromEntries(manager.quorumStates()) };
    },
  };
}

export function defaultHooks(): DaemonHooks {
  return {
    // the VRRP I/O modules are loaded (eagerly compiled) only when VRRP runs
    createSystem: async (log) => (await loadVrrp()).createSystemIo(log),
    createNotifier,
    createTrackers,
    createLvs,
  };
}
