// The messages between the daemon's main thread and its checker worker (worker-host.ts ↔
// worker.ts). Everything here is plain data: it crosses the thread boundary by structured clone.

import type { LvsConfig } from '../config/model/lvs.js';

/** workerData: what the worker runs. */
export interface WorkerInit {
  /** the configuration the main thread validated (its model is plain data) */
  lvs: LvsConfig;
  /** the main logger's level: records below it are not sent at all */
  level: string;
  /** [health key, up]: the health the main thread holds (a restarted worker resumes from it) */
  knownUp?: [string, boolean][];
  /** keepalived's BOOTSTRAP_DELAY before the first run, in ms (tests shorten it) */
  bootstrapDelayMs?: number;
  /** a bound on waiting for in-flight checks to end after 'stop', in ms */
  drainMs?: number;
  /** nice steps this thread runs below the main thread (0 = the same priority) */
  niceIncrement?: number;
  /** accept the 'crash' message (tests) */
  testHooks?: boolean;
}

export type ToWorker =
  | { t: 'stop' }
  /** the reply to a 'ping' */
  | { t: 'pong'; id: number; ok: boolean; reason?: string }
  /** test hook: throw from the worker's event loop */
  | { t: 'crash' };

export type FromWorker =
  /** a real server's aliveness or weight changed: the index of its virtual server and of it there */
  | { t: 'change'; vi: number; ri: number; up: boolean; weight?: number; reason: string; latencyMs?: number }
  /** a log record for the main logger: pino level label, fields, keepalived's text */
  | { t: 'log'; level: string; fields: Record<string, unknown>; msg: string }
  /** a PING_CHECK echo request for the main thread's raw socket (src/checkers/ping.ts) */
  | { t: 'ping'; id: number; v6: boolean; ip: string; timeoutMs: number }
  | { t: 'ping-abort'; id: number }
  /** the monitor is stopped; the worker exits next */
  | { t: 'stopped' };
