/**
 * Run one script (vrrp_script, notify_*, MISC_CHECK, notify_up/down) as keepalived does:
 * argv executed directly (no shell), as the configured uid/gid, in its own process group,
 * never blocking the event loop. A script still running at its timeout gets SIGTERM to its
 * whole process group, then SIGKILL after `killGraceMs` (keepalived: child_killed_thread).
 */
import { spawn } from 'node:child_process';

export interface RunScriptOptions {
  argv: readonly string[];
  uid?: number;
  gid?: number;
  /** 0 or undefined: no timeout (notify scripts in keepalived have none; use one anyway) */
  timeoutMs?: number;
  /** SIGTERM → SIGKILL grace, ms (default 1000) */
  killGraceMs?: number;
  env?: NodeJS.ProcessEnv;
  /** keep at most this many bytes of stdout+stderr (default 4096); keepalived discards it */
  captureBytes?: number;
}

export interface ScriptResult {
  /** exit status, or undefined when killed by a signal or not started */
  code?: number;
  signal?: NodeJS.Signals;
  timedOut: boolean;
  /** spawn failed (ENOENT, EACCES, …) */
  error?: string;
  durationMs: number;
  output: string;
  pid?: number;
}

export function runScript(opts: RunScriptOptions): Promise<ScriptResult> {
  const started = performance.now();
  const cap = opts.captureBytes ?? 4096;
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    let done = false;
    let termTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const finish = (r: Omit<ScriptResult, 'timedOut' | 'durationMs' | 'output'>) => {
      if (done) return;
      done = true;
      clearTimeout(termTimer);
      clearTimeout(killTimer);
      resolve({ ...r, timedOut, durationMs: performance.now() - started, output });
    };
    let child;
    try {
      child = spawn(opts.argv[0], opts.argv.slice(1), {
        uid: opts.uid,
        gid: opts.gid,
        env: opts.env ?? process.env,
        detached: true, // own process group, so a timeout kills the script's children too
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      finish({ error: (e as Error).message });
      return;
    }
    const collect = (d: Buffer) => {
      if (output.length < cap) output += d.toString('utf8', 0, Math.min(d.length, cap - output.length));
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const pid = child.pid;
    const killGroup = (sig: NodeJS.Signals) => {
      if (pid === undefined) return;
      try {
        process.kill(-pid, sig);
      } catch {
        /* already gone */
      }
    };
    child.on('error', (e) => finish({ error: `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`.trim(), pid }));
    child.on('exit', (code, signal) => finish({ code: code ?? undefined, signal: signal ?? undefined, pid }));
    if (opts.timeoutMs && opts.timeoutMs > 0) {
      termTimer = setTimeout(() => {
        timedOut = true;
        killGroup('SIGTERM');
        killTimer = setTimeout(() => killGroup('SIGKILL'), opts.killGraceMs ?? 1000);
      }, opts.timeoutMs);
    }
  });
}
