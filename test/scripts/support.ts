// Helpers for the script tests: temp dirs with shell scripts, a pino logger that keeps its
// lines, and a /proc probe for live members of a process group (zombies don't count: PID 1
// here may not reap orphans).
import { mkdtempSync, rmSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';

export class TmpDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'hacheck-scriptrt-'));
  path(name: string): string {
    return join(this.dir, name);
  }
  /** Write an executable shell script; returns its path. */
  script(name: string, body: string): string {
    const p = this.path(name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return p;
  }
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export function captureLogger(): { logger: Logger; lines: LogLine[]; msgs: () => string[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines, msgs: () => lines.map((l) => l.msg) };
}

/** pids of live (not zombie) processes in process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp …; comm may hold spaces and parens: split after the last ')'
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = rest[0];
    const pgrp = Number(rest[2]);
    if (pgrp === pgid && state !== 'Z' && state !== 'X') out.push(Number(d));
  }
  return out;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * True once process group `pgid` has no live member, polled for up to `timeoutMs`: a SIGKILL
 * is delivered asynchronously, so members may linger for a moment after it is sent.
 */
export async function groupGone(pgid: number, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (groupMembers(pgid).length === 0) return true;
    if (Date.now() >= end) return false;
    await sleep(10);
  }
}
