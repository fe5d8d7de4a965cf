/**
 * Run one script (vrrp_script, notify_*, MISC_CHECK, notify_up/down) as keepalived does
 * (lib/notify.c system_call_script): argv executed directly (no shell), as the configured
 * uid/gid, in its own process group, never blocking the event loop. A script still running
 * at its timeout gets SIGTERM to its whole process group, then SIGKILL after `killGraceMs`
 * (keepalived: vrrp_script_child_thread / child_killed_thread). Once a timed-out or aborted
 * script's leader has exited, the rest of its group gets SIGKILL, so nothing it started is
 * left behind.
 *
 * A first word starting with `<` or `>` (keepalived's "redirection only" script, e.g.
 * `</path/file` to test that a file can be opened) is run through `/bin/sh -c`, as keepalived
 * runs it through system(3).
 *
 * Differences from keepalived, by necessity: Node cannot set PR_SET_PDEATHSIG, so a script
 * outlives hacheck if hacheck is SIGKILLed; with a uid set, libuv clears the supplementary
 * groups instead of setting the user's.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface RunScriptOptions {
  argv: readonly string[];
  uid?: number;
  gid?: number;
  /** 0 or undefined: no timeout (notify scripts in keepalived have none; use one anyway) */
  timeoutMs?: number;
  /** SIGTERM → SIGKILL grace, ms (default 1000) */
  killGraceMs?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * keep at most this many bytes of stdout+stderr (default 4096). 0: stdout and stderr are
   * /dev/null, as keepalived gives its scripts — use it for scripts that may leave a daemon
   * running (notify_master starting a service), which would otherwise hold our pipe open,
   * or die of SIGPIPE once we close it.
   */
  captureBytes?: number;
  /** abort: the script's process group gets SIGTERM, then SIGKILL after killGraceMs */
  signal?: AbortSignal;
  /** called when the timeout fires (before SIGTERM is sent) */
  onTimeout?: () => void;
  /** called once the child is started, with its pid (= its process group id) */
  onSpawn?: (pid: number) => void;
}

export interface ScriptResult {
  /** exit status, or undefined when killed by a signal or not started */
  code?: number;
  signal?: NodeJS.Signals;
  timedOut: boolean;
  /** the run was aborted through `signal` */
  aborted?: boolean;
  /** spawn failed (ENOENT, EACCES, …) */
  error?: string;
  /** errno name of the spawn failure (ENOENT, EACCES, …) */
  errorCode?: string;
  durationMs: number;
  output: string;
  pid?: number;
}

/** keepalived cmd_str: each word in '…' (an embedded ' as '\''); a leading </> word as is. */
function shellCommand(argv: readonly string[]): string {
  return argv.map((w, i) => (i === 0 && (w[0] === '<' || w[0] === '>') ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export function runScript(opts: RunScriptOptions): Promise<ScriptResult> {
  const started = performance.now();
  const cap = opts.captureBytes ?? 4096;
  const grace = opts.killGraceMs ?? 1000;
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    let aborted = false;
    let done = false;
    let termTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let pid: number | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      if (pid === undefined) return;
      try {
        process.kill(-pid, sig);
      } catch {
        /* already gone */
      }
    };
    const onAbort = () => terminate(true);
    const finish = (r: Omit<ScriptResult, 'timedOut' | 'durationMs' | 'output' | 'aborted'>) => {
      if (done) return;
      done = true;
      clearTimeout(termTimer);
      clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      // the leader is gone; whatever else it started in its group goes too (keepalived
      // kills the group after a script it terminated has died)
      if (timedOut || aborted) killGroup('SIGKILL');
      resolve({ ...r, timedOut, ...(aborted ? { aborted } : {}), durationMs: performance.now() - started, output });
    };
    const terminate = (byAbort: boolean) => {
      if (done || timedOut || aborted) return;
      if (byAbort) aborted = true;
      else {
        timedOut = true;
        opts.onTimeout?.();
      }
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), grace);
    };
    if (opts.signal?.aborted) {
      aborted = true;
      finish({ error: 'aborted before start' });
      return;
    }
    const argv = opts.argv;
    if (argv.length === 0 || !argv[0]) {
      finish({ error: 'empty command', errorCode: 'EINVAL' });
      return;
    }
    const viaShell = argv[0][0] === '<' || argv[0][0] === '>';
    const file = viaShell ? '/bin/sh' : argv[0];
    const args = viaShell ? ['-c', shellCommand(argv)] : argv.slice(1);
    // only change identity when it differs: a non-root hacheck may still run scripts as itself
    const uid = opts.uid !== undefined && opts.uid !== process.getuid?.() ? opts.uid : undefined;
    const gid = opts.gid !== undefined && opts.gid !== process.getgid?.() ? opts.gid : undefined;
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        uid,
        gid,
        env: opts.env ?? process.env,
        detached: true, // own process group, so a timeout kills the script's children too
        stdio: cap > 0 ? ['ignore', 'pipe', 'pipe'] : 'ignore',
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      finish({ error: err.message, errorCode: err.code });
      return;
    }
    pid = child.pid;
    const collect = (d: Buffer) => {
      if (output.length < cap) output += d.toString('utf8', 0, Math.min(d.length, cap - output.length));
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('error', (e: NodeJS.ErrnoException) => finish({ error: `${e.code ?? ''} ${e.message}`.trim(), errorCode: e.code, pid }));
    child.on('exit', (code, signal) => finish({ code: code ?? undefined, signal: signal ?? undefined, pid }));
    if (pid !== undefined) opts.onSpawn?.(pid);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.timeoutMs && opts.timeoutMs > 0) termTimer = setTimeout(() => terminate(false), opts.timeoutMs);
  });
}
