// Health source for the kernel tests: the real HealthMonitor
// (src/checkers/monitor.ts) when it exists, else a minimal TCP_CHECK poller
// with keepalived's timing (delay_loop, connect_timeout, retry,
// delay_before_retry) so the IPVS manager can be tested end to end.

import { EventEmitter } from 'node:events';
import { connect } from 'node:net';

import type { LvsConfig } from '../../src/config/model/lvs.js';
import type { RealServerHealth } from '../../src/ipvs/desired.js';
import { realServerId } from '../../src/ipvs/desired.js';
import type { HealthChange, HealthSource } from '../../src/ipvs/manager.js';

export interface StartableHealth extends HealthSource {
  start(): void;
  stop(): void;
}

/** One TCP connect; resolves true when it connects within timeoutMs. */
function tcpProbe(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port });
    const done = (ok: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** TCP_CHECK only: every delay_loop, connect; down after retry+1 consecutive failures, up on one success. */
export class TcpHealth extends EventEmitter implements StartableHealth {
  private readonly map = new Map<string, RealServerHealth>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly lvs: LvsConfig) {
    super();
  }

  health(): ReadonlyMap<string, RealServerHealth> {
    return this.map;
  }

  start(): void {
    for (const vs of this.lvs.virtualServers) {
      for (const rs of vs.realServers) {
        const c = rs.checkers.find((k) => k.type === 'TCP_CHECK');
        if (!c || c.type !== 'TCP_CHECK') continue;
        const id = realServerId(vs.id, rs);
        let failures = 0;
        const check = async (): Promise<void> => {
          if (this.stopped) return;
          const ok = await tcpProbe(c.conn.connectIp, c.conn.connectPort, c.conn.connectTimeoutMs);
          if (this.stopped) return;
          const prev = this.map.get(id);
          let next = c.delayLoopMs;
          if (ok) {
            failures = 0;
            if (!prev || !prev.up) this.report(vs, rs, id, true, 'connected');
          } else if (++failures > c.retry) {
            failures = 0;
            if (!prev || prev.up) this.report(vs, rs, id, false, 'connection failed');
          } else next = c.delayBeforeRetryMs;
          this.after(next, check);
        };
        this.after(0, check);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private after(ms: number, f: () => Promise<void>): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void f();
    }, ms);
    this.timers.add(t);
  }

  private report(vs: LvsConfig['virtualServers'][number], rs: { ip: string; port: number }, id: string, up: boolean, reason: string): void {
    this.map.set(id, { up });
    this.emit('change', { vs, rs, up, reason } satisfies HealthChange);
  }
}

/** The real HealthMonitor when src/checkers/monitor.ts is built, else TcpHealth. */
export async function healthSourceFor(lvs: LvsConfig, log: unknown): Promise<{ source: StartableHealth; kind: string }> {
  const path = '../../src/checkers/monitor.js';
  try {
    const m = (await import(path)) as { HealthMonitor?: new (lvs: LvsConfig, o: { log: unknown }) => StartableHealth };
    if (m.HealthMonitor) return { source: new m.HealthMonitor(lvs, { log }), kind: 'HealthMonitor' };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
  }
  return { source: new TcpHealth(lvs), kind: 'TcpHealth (test fallback)' };
}
