/**
 * --metrics ADDR:PORT: Prometheus metrics (prom-client) computed from the daemon's status at
 * scrape time, so nothing on the VRRP path ever waits for metrics.
 */
import { createServer, type Server } from 'node:http';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { DaemonStatus } from './daemon.js';

const STATE_CODE: Record<string, number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3, STOP: 4 };

export interface RealServerMetric {
  vs: string;
  rs: string;
  up: boolean;
  weight: number;
  latencyMs?: number;
}

export function buildRegistry(status: () => DaemonStatus, loop: IntervalHistogram): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hacheck_' });
  const inst = ['instance', 'vrid'] as const;
  const g = (name: string, help: string, labelNames: readonly string[], collect: (this: Gauge<string>) => void) =>
    new Gauge({ name, help, labelNames, registers: [registry], collect });
  g('hacheck_vrrp_state', 'VRRP state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 4 STOP', inst, function () {
    this.reset();
    for (const i of status().vrrp) this.set({ instance: i.name, vrid: String(i.vrid) }, STATE_CODE[i.state] ?? -1);
  });
  g('hacheck_vrrp_effective_priority', 'priority advertised (base priority plus tracking weights)', inst, function () {
    this.reset();
    for (const i of status().vrrp) this.set({ instance: i.name, vrid: String(i.vrid) }, i.effectivePriority);
  });
  g('hacheck_vrrp_adverts_sent_total', 'adverts sent', inst, function () {
    this.reset();
    for (const i of status().vrrp) this.set({ instance: i.name, vrid: String(i.vrid) }, i.stats.advertSent);
  });
  g('hacheck_vrrp_adverts_received_total', 'valid adverts received', inst, function () {
    this.reset();
    for (const i of status().vrrp) this.set({ instance: i.name, vrid: String(i.vrid) }, i.stats.advertRcvd);
  });
  g('hacheck_vrrp_transitions_total', 'transitions to and from MASTER', [...inst, 'direction'], function () {
    this.reset();
    for (const i of status().vrrp) {
      this.set({ instance: i.name, vrid: String(i.vrid), direction: 'become_master' }, i.stats.becomeMaster);
      this.set({ instance: i.name, vrid: String(i.vrid), direction: 'release_master' }, i.stats.releaseMaster);
    }
  });
  g('hacheck_vrrp_packet_errors_total', 'adverts rejected, by keepalived counter (auth_failure, ip_ttl_err, …)', [...inst, 'counter'], function () {
    this.reset();
    for (const i of status().vrrp) {
      for (const [counter, n] of Object.entries(i.stats.errors)) this.set({ instance: i.name, vrid: String(i.vrid), counter }, n);
    }
  });
  // Situations keepalived only logs, as series an alert can watch: one per peer.
  g('hacheck_vrrp_dual_master_peers', 'peers that advertised as master with a lower priority since this node last became master (dual master)', [...inst, 'peer'], function () {
    this.reset();
    for (const i of status().vrrp) for (const peer of i.dualMasterPeers ?? []) this.set({ instance: i.name, vrid: String(i.vrid), peer }, 1);
  });
  g('hacheck_vrrp_foreign_vrid_peers', 'peers seen (since start) sending adverts for a VRID this instance does not have', [...inst, 'peer'], function () {
    this.reset();
    for (const i of status().vrrp) for (const peer of i.foreignVridPeers ?? []) this.set({ instance: i.name, vrid: String(i.vrid), peer }, 1);
  });
  const rs = (): RealServerMetric[] => {
    const l = status().lvs as { realServers?: RealServerMetric[] } | undefined;
    return l?.realServers ?? [];
  };
  g('hacheck_real_server_up', 'real server alive (all its checkers pass)', ['vs', 'rs'], function () {
    this.reset();
    for (const r of rs()) this.set({ vs: r.vs, rs: r.rs }, r.up ? 1 : 0);
  });
  g('hacheck_real_server_weight', 'weight in the IPVS table', ['vs', 'rs'], function () {
    this.reset();
    for (const r of rs()) this.set({ vs: r.vs, rs: r.rs }, r.weight);
  });
  g('hacheck_real_server_check_latency_seconds', 'duration of the last check', ['vs', 'rs'], function () {
    this.reset();
    for (const r of rs()) if (r.latencyMs !== undefined) this.set({ vs: r.vs, rs: r.rs }, r.latencyMs / 1000);
  });
  g('hacheck_event_loop_delay_seconds', 'event-loop delay over the last interval', ['quantile'], function () {
    this.set({ quantile: '0.5' }, loop.percentile(50) / 1e9);
    this.set({ quantile: '0.99' }, loop.percentile(99) / 1e9);
    this.set({ quantile: '1' }, loop.max / 1e9);
  });
  return registry;
}

export async function serveMetrics(addr: string, status: () => DaemonStatus): Promise<{ server: Server; loop: IntervalHistogram; port: number }> {
  const m = /^(.*):(\d+)$/.exec(addr);
  if (!m) throw new Error(`--metrics needs ADDR:PORT, got '${addr}'`);
  const host = m[1].replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const registry = buildRegistry(status, loop);
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('see /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (e: Error) => res.writeHead(500).end(`${e.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), host, () => resolve());
  });
  const a = server.address();
  return { server, loop, port: typeof a === 'object' && a ? a.port : Number(m[2]) };
}
