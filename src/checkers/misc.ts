// MISC_CHECK (keepalived check_misc.c): run misc_path; exit 0 = up. With misc_dynamic an exit
// of 2..255 is also up and sets the real server's weight to exit - 2; 1 (and any other exit
// without misc_dynamic) is down. A script still running at misc_timeout (default: the
// virtual server's delay_loop) gets SIGTERM to its process group, SIGKILL 2 s later
// (keepalived's SCRIPT_STATE_REQUESTING_TERMINATION → FORCING_TERMINATION), and counts as a
// failure ("timed out").

import { constants } from 'node:os';
import type { MiscCheck } from '../config/model/checkers.js';
import { runScript, type ScriptResult } from '../scripts/exec.js';
import { secs, type CheckFn, type CheckResult } from './common.js';

/** keepalived waits 2 s between SIGTERM and SIGKILL of a timed-out misc script. */
const KILL_GRACE_MS = 2000;

/** Map a script's end onto a check result (pure). */
export function miscResult(r: ScriptResult, dynamic: boolean, timeoutMs: number): CheckResult {
  if (r.error !== undefined) return { ok: false, reason: `exec ${r.errorCode ?? r.error}` };
  if (r.timedOut) return { ok: false, reason: `timeout ${secs(timeoutMs)}` };
  if (r.code === undefined) {
    const sig = r.signal ?? 'SIGKILL';
    const num = (constants.signals as Record<string, number>)[sig] ?? 0;
    return { ok: false, reason: `signal ${sig}`, detail: `due to signal ${num}` };
  }
  const code = r.code;
  if (code === 0) return { ok: true };
  if (dynamic && code >= 2 && code <= 255) return { ok: true, weight: code - 2 };
  return { ok: false, reason: `exit ${code}`, detail: `exited with status ${code}` };
}

export function miscCheck(chk: MiscCheck): CheckFn {
  return async (signal) => {
    const spec = chk.script;
    const argv = spec?.argv.length ? spec.argv : chk.miscPath.split(/\s+/).filter(Boolean);
    if (!argv.length) return { ok: false, reason: 'no script' };
    const opts: Parameters<typeof runScript>[0] = { argv, timeoutMs: chk.timeoutMs, killGraceMs: KILL_GRACE_MS, signal };
    if (spec?.uid !== undefined) opts.uid = spec.uid;
    if (spec?.gid !== undefined) opts.gid = spec.gid;
    const r = await runScript(opts);
    if (r.aborted) return { ok: false, reason: 'aborted' };
    return miscResult(r, chk.dynamic, chk.timeoutMs);
  };
}
