// The checker worker: runs the HealthMonitor of the configuration it is given in a worker
// thread (node:worker_threads), so that thousands of checks a second cannot delay the VRRP
// adverts on the main event loop (keepalived runs its checkers in a child process for the
// same reason). It reports to the main thread (worker-host.ts) by postMessage:
//  - each real server health change, with the index of its virtual/real server, the
//    reason and the latency;
//  - each log record (level, fields, keepalived's text), written by the main logger so the
//    log lines and syslog idents are those of an in-process monitor;
//  - PING_CHECK echo requests, which the main thread's raw socket sends (see ping.ts).

import { readlinkSync } from 'node:fs';
import os from 'node:os';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import type { RealServer } from '../config/model/lvs.js';
import { timeoutReason } from './common.js';
import { HealthMonitor, type HealthChange } from './monitor.js';
import { setEchoTransport } from './ping.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

/**
 * Lower this thread's scheduling priority by `inc` nice steps (Linux: setpriority() on a
 * thread id applies to that thread only). On a busy machine the kernel then runs the main
 * thread, which sends the adverts, before the checks (keepalived's checker_priority does the
 * same for its checker process). Scripts this thread starts inherit the value.
 */
function lowerPriority(inc: number): void {
  if (!(inc > 0)) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return;
    os.setPriority(tid, Math.min(19, os.getPriority(tid) + inc));
  } catch {
    /* not Linux, or not allowed: the checks run at the process's priority */
  }
}

function run(port: NonNullable<typeof parentPort>, init: WorkerInit): void {
  lowerPriority(init.niceIncrement ?? 0);
  const post = (m: FromWorker) => port.postMessage(m);

  // Records are sent, not written: the main logger adds its bindings, time and pid, and the
  // destination (stdout, syslog) lives there. Levels below the main logger's cost nothing.
  const log = pino(
    {
      level: init.level,
      hooks: {
        logMethod(args, _method, level) {
          const [a, b] = args as unknown[];
          const fields = typeof a === 'object' && a !== null ? (a as Record<string, unknown>) : {};
          const msg = typeof a === 'string' ? a : typeof b === 'string' ? b : '';
          const label = pino.levels.labels[level] ?? 'info';
          try {
            post({ t: 'log', level: label, fields, msg });
          } catch {
            // a field that structured clone refuses: send its JSON form
            post({ t: 'log', level: label, fields: JSON.parse(JSON.stringify(fields)) as Record<string, unknown>, msg });
          }
        },
      },
    },
    { write() {} },
  );

  // PING_CHECK: the echo goes out through the main thread's raw socket
  let nextPing = 1;
  const pings = new Map<number, (r: { ok: boolean; reason?: string }) => void>();
  setEchoTransport(
    (v6, ip, timeoutMs, signal) =>
      new Promise((resolve) => {
        const id = nextPing++;
        const done = (r: { ok: boolean; reason?: string }) => {
          if (!pings.delete(id)) return;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        };
        const onAbort = () => {
          post({ t: 'ping-abort', id });
          done({ ok: false, reason: 'aborted' });
        };
        // the main thread's timer decides; this one only covers a reply that never comes back
        const timer = setTimeout(() => done({ ok: false, reason: `echo ${timeoutReason(timeoutMs)}` }), timeoutMs + 1000);
        pings.set(id, done);
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        post({ t: 'ping', id, v6, ip, timeoutMs });
      }),
  );

  const index = new Map<RealServer, [number, number]>();
  init.lvs.virtualServers.forEach((vs, vi) => vs.realServers.forEach((rs, ri) => index.set(rs, [vi, ri])));

  const monitor = new HealthMonitor(init.lvs, {
    log,
    knownUp: init.knownUp ? new Map(init.knownUp) : undefined,
    scheduler: init.bootstrapDelayMs === undefined ? undefined : { bootstrapDelayMs: init.bootstrapDelayMs },
  });
  monitor.on('change', (c: HealthChange) => {
    const at = index.get(c.rs);
    if (!at) return;
    const m: FromWorker = { t: 'change', vi: at[0], ri: at[1], up: c.up, reason: c.reason };
    if (c.weight !== undefined) m.weight = c.weight;
    if (c.latencyMs !== undefined) m.latencyMs = c.latencyMs;
    post(m);
  });

  let stopping = false;
  port.on('message', (m: ToWorker) => {
    switch (m?.t) {
      case 'pong':
        pings.get(m.id)?.(m.reason === undefined ? { ok: m.ok } : { ok: m.ok, reason: m.reason });
        break;
      case 'stop':
        if (stopping) return;
        stopping = true;
        monitor.stop();
        void drain(init.drainMs ?? 3000).then(() => {
          post({ t: 'stopped' });
          // messages posted before exit are delivered to the main thread first
          process.exit(0);
        });
        break;
      case 'crash':
        if (init.testHooks)
          setImmediate(() => {
            throw new Error('checker worker crash (test hook)');
          });
        break;
    }
  });

  monitor.start();
}

/**
 * Wait for the scripts of aborted MISC_CHECKs to end (they get SIGKILL 2 s after SIGTERM, from
 * a timer of this thread: ending the thread sooner would leave them running), at most `ms`.
 */
async function drain(ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (process.getActiveResourcesInfo().includes('ProcessWrap') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

if (!isMainThread && parentPort) run(parentPort, workerData as WorkerInit);
