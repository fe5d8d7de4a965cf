/**
 * notify_fifo, vrrp_notify_fifo, lvs_notify_fifo (keepalived.conf(5) global_defs): state
 * changes written as text lines to named pipes, for a reader such as the `*_fifo_script`
 * keepalived starts (keepalived lib/notify.c fifo_open, vrrp_notify.c notify_fifo,
 * check/ipwrapper.c notify_fifo_vs / notify_fifo_rs).
 *
 * Lines (each ends with "\n"):
 *   INSTANCE "VI_1" MASTER 100        (state: MASTER BACKUP FAULT STOP DELETED, or the events
 *                                      MASTER_RX_LOWER_PRI MASTER_PRIORITY BACKUP_PRIORITY;
 *                                      the number is the effective priority)
 *   GROUP "G1" BACKUP 0               (a sync group: the priority is always 0)
 *   VS [10.0.0.1]:tcp:80 UP           (quorum up/down; a group VS is [GROUPNAME]:PORT,
 *                                      a fwmark VS is FWM N)
 *   RS [10.0.0.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN
 * The global notify_fifo gets every line; vrrp_notify_fifo the VRRP lines; lvs_notify_fifo
 * the VS/RS lines.
 *
 * Opening: the FIFO is created mode 0644 if missing (Node has no mkfifo(3), so the
 * coreutils `mkfifo` command is run once, at setup) and chowned to the configured user;
 * the `_script` is started with the FIFO path as an added last argument; then the FIFO is
 * opened O_RDWR|O_NONBLOCK|O_NOFOLLOW, as keepalived does: holding a read side ourselves
 * means the open never waits for a reader and writes never fail with EPIPE. A path that
 * is not a FIFO owned by us or the configured user is refused.
 *
 * Writing never blocks the event loop: each line is one write(2) on the non-blocking fd
 * (lines are shorter than PIPE_BUF, so a line is written whole or not at all). When no one
 * reads and the pipe is full the write fails with EAGAIN and the line is dropped and
 * counted (keepalived drops it silently).
 *
 * Closing: the FIFO is unlinked first if we created it (so a reader looping on reopen
 * cannot reopen it), then the fd closed, then the script is sent SIGTERM (keepalived kills
 * its children when it stops).
 */
import { execFile } from 'node:child_process';
import { promises as fsp, constants as fsc, closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { ScriptSpec } from '../config/model/scripts.js';
import { runScript, type RunScriptOptions, type ScriptResult } from './exec.js';

const execFileP = promisify(execFile);

/* ------------------------------------------------------------------ line formats (pure) */

export type VrrpFifoState =
  | 'MASTER'
  | 'BACKUP'
  | 'FAULT'
  | 'STOP'
  | 'DELETED'
  | 'MASTER_RX_LOWER_PRI'
  | 'MASTER_PRIORITY'
  | 'BACKUP_PRIORITY';

/** `INSTANCE "VI_1" MASTER 100\n` / `GROUP "G1" BACKUP 0\n` */
export function vrrpFifoLine(type: 'INSTANCE' | 'GROUP', name: string, state: VrrpFifoState, priority: number): string {
  return `${type} "${name}" ${state} ${type === 'GROUP' ? 0 : priority}\n`;
}

export type LvsProtocol = 'tcp' | 'udp' | 'sctp' | 'none';

/** keepalived inet_sockaddrtotrio: `[ADDR]:PROTO:PORT` (IPv6 without extra brackets inside). */
export function trio(addr: string, protocol: LvsProtocol | string, port: number): string {
  return `[${addr}]:${protocol}:${port}`;
}

/** keepalived format_vs: a group VS is `[NAME]:PORT`, a fwmark VS `FWM N`, else the trio. */
export function formatVs(vs: { group?: string; fwmark?: number; addr?: string; protocol?: string; port?: number }): string {
  if (vs.group !== undefined) return `[${vs.group}]:${vs.port ?? 0}`;
  if (vs.fwmark !== undefined) return `FWM ${vs.fwmark}`;
  return trio(vs.addr ?? '', vs.protocol ?? 'none', vs.port ?? 0);
}

/** `VS [10.0.0.1]:tcp:80 UP\n` */
export function vsFifoLine(vs: string, up: boolean): string {
  return `VS ${vs} ${up ? 'UP' : 'DOWN'}\n`;
}

/** `RS [10.0.0.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN\n` */
export function rsFifoLine(rs: string, vs: string, up: boolean): string {
  return `RS ${rs} ${vs} ${up ? 'UP' : 'DOWN'}\n`;
}

/* ------------------------------------------------------------------ one FIFO */

/** '' for notify_fifo, 'vrrp_' / 'lvs_' for the subsystem FIFOs (keepalived's message prefix). */
export type FifoType = '' | 'vrrp_' | 'lvs_';

export interface NotifyFifoOptions {
  path: string;
  type?: FifoType;
  /** owner for a FIFO we create (`notify_fifo NAME USER [GROUP]`), resolved ids */
  uid?: number;
  gid?: number;
  /** `*_notify_fifo_script`: started with the FIFO path appended */
  script?: ScriptSpec;
  logger?: Logger;
  run?: (o: RunScriptOptions) => Promise<ScriptResult>;
}

export class NotifyFifo {
  /** lines written / dropped because the pipe was full (no reader) or the write failed */
  written = 0;
  dropped = 0;
  private scriptAbort?: AbortController;
  /** resolves when the fifo script has exited */
  scriptDone?: Promise<ScriptResult>;

  private constructor(
    readonly path: string,
    readonly type: FifoType,
    private fd: number | undefined,
    readonly created: boolean,
    private readonly log: Logger,
  ) {}

  /**
   * Create (if missing), start the script, open. Returns undefined (with keepalived's log
   * line) when the FIFO cannot be used; hacheck then runs without it, as keepalived does.
   */
  static async open(opts: NotifyFifoOptions): Promise<NotifyFifo | undefined> {
    const type = opts.type ?? '';
    const log = (opts.logger ?? silentLogger()).child({ fifo: opts.path });
    const ourUid = process.getuid?.() ?? 0;
    const ourGid = process.getgid?.() ?? 0;
    let created = false;
    let exists = false;
    try {
      await fsp.lstat(opts.path);
      exists = true;
    } catch {
      /* create it below */
    }
    if (!exists) {
      try {
        // mode 0644: S_IRUSR|S_IWUSR|S_IRGRP|S_IROTH, as keepalived
        await execFileP('mkfifo', ['-m', '0644', '--', opts.path], { timeout: 10_000 });
        created = true;
      } catch (e) {
        // another process may have created it meanwhile (keepalived: EEXIST is fine)
        const raced = await fsp.lstat(opts.path).then(
          () => true,
          () => false,
        );
        if (!raced) {
          log.warn({ err: String((e as Error).message ?? e) }, `Unable to create ${type}notify fifo ${opts.path}`);
          return undefined;
        }
      }
      if (created && ((opts.uid !== undefined && opts.uid !== ourUid) || (opts.gid !== undefined && opts.gid !== ourGid))) {
        try {
          await fsp.chown(opts.path, opts.uid !== undefined && opts.uid !== ourUid ? opts.uid : -1, opts.gid !== undefined && opts.gid !== ourGid ? opts.gid : -1);
        } catch {
          log.info(`Failed to set uid:gid for fifo ${opts.path}`);
        }
      }
    }

    const fifo = new NotifyFifo(opts.path, type, undefined, created, log);
    // keepalived starts the reader before opening its own side
    if (opts.script && !opts.script.disabled && opts.script.argv.length > 0) fifo.startScript(opts.script, opts.run ?? runScript);

    let fd: number;
    try {
      fd = openSync(opts.path, fsc.O_RDWR | fsc.O_NONBLOCK | fsc.O_NOFOLLOW);
    } catch (e) {
      log.warn(`Unable to open ${type}notify fifo ${opts.path} - errno ${(e as NodeJS.ErrnoException).errno !== undefined ? -(e as NodeJS.ErrnoException).errno! : '?'}`);
      if (created) await fsp.unlink(opts.path).catch(() => undefined);
      fifo.stopScript();
      return undefined;
    }
    // an existing path could be a file someone planted: only a FIFO owned by us or the user
    const st = fstatSync(fd);
    if (!st.isFIFO() || (st.uid !== ourUid && st.uid !== opts.uid)) {
      log.warn(`${type}notify fifo ${opts.path} is not a fifo we own - not using`);
      closeSync(fd);
      fifo.stopScript();
      return undefined;
    }
    fifo.fd = fd;
    return fifo;
  }

  get isOpen(): boolean {
    return this.fd !== undefined;
  }

  /** Write one line (it should end with "\n"); false when dropped. Never blocks. */
  write(line: string): boolean {
    if (this.fd === undefined) return false;
    const buf = Buffer.from(line);
    try {
      const n = writeSync(this.fd, buf);
      if (n < buf.length) {
        // only possible for lines over PIPE_BUF: the rest is dropped rather than wait
        this.dropped++;
        return false;
      }
      this.written++;
      return true;
    } catch (e) {
      this.dropped++;
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') this.log.info({ err: (e as Error).message }, `${this.type}notify fifo write error: ${(e as Error).message}`);
      return false;
    }
  }

  private startScript(spec: ScriptSpec, run: (o: RunScriptOptions) => Promise<ScriptResult>): void {
    this.scriptAbort = new AbortController();
    const who = this.type === 'lvs_' ? 'lvs ' : this.type === 'vrrp_' ? 'vrrp ' : '';
    this.scriptDone = run({ argv: [...spec.argv, this.path], uid: spec.uid, gid: spec.gid, signal: this.scriptAbort.signal, captureBytes: 0 }).then((r) => {
      if (r.error) this.log.error({ error: r.error }, `Error exec-ing command '${spec.argv[0]}': ${r.error}`);
      this.log.info({ exitCode: r.code, signal: r.signal }, `${who}notify fifo script terminated`);
      return r;
    });
  }

  private stopScript(): void {
    this.scriptAbort?.abort();
  }

  /** Unlink (if we created it), close, stop the script. Resolves once the script is gone. */
  async close(): Promise<void> {
    if (this.created) await fsp.unlink(this.path).catch(() => undefined);
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    this.stopScript();
    await this.scriptDone;
  }
}

/* ------------------------------------------------------------------ the three FIFOs */

export interface NotifyFifosOptions {
  notifyFifo?: Omit<NotifyFifoOptions, 'type' | 'logger' | 'run'>;
  vrrpNotifyFifo?: Omit<NotifyFifoOptions, 'type' | 'logger' | 'run'>;
  lvsNotifyFifo?: Omit<NotifyFifoOptions, 'type' | 'logger' | 'run'>;
  logger?: Logger;
  run?: (o: RunScriptOptions) => Promise<ScriptResult>;
}

/** The global, VRRP and LVS FIFOs; each line goes to the global one and its subsystem's. */
export class NotifyFifos {
  private constructor(
    readonly global?: NotifyFifo,
    readonly vrrp?: NotifyFifo,
    readonly lvs?: NotifyFifo,
  ) {}

  static async open(o: NotifyFifosOptions): Promise<NotifyFifos> {
    const common = { logger: o.logger, run: o.run };
    const g = o.notifyFifo?.path ? await NotifyFifo.open({ ...o.notifyFifo, type: '', ...common }) : undefined;
    const v = o.vrrpNotifyFifo?.path ? await NotifyFifo.open({ ...o.vrrpNotifyFifo, type: 'vrrp_', ...common }) : undefined;
    const l = o.lvsNotifyFifo?.path ? await NotifyFifo.open({ ...o.lvsNotifyFifo, type: 'lvs_', ...common }) : undefined;
    return new NotifyFifos(g, v, l);
  }

  writeVrrp(line: string): void {
    this.global?.write(line);
    this.vrrp?.write(line);
  }

  writeLvs(line: string): void {
    this.global?.write(line);
    this.lvs?.write(line);
  }

  instance(name: string, state: VrrpFifoState, priority: number): void {
    this.writeVrrp(vrrpFifoLine('INSTANCE', name, state, priority));
  }

  group(name: string, state: VrrpFifoState): void {
    this.writeVrrp(vrrpFifoLine('GROUP', name, state, 0));
  }

  virtualServer(vs: string, up: boolean): void {
    this.writeLvs(vsFifoLine(vs, up));
  }

  realServer(rs: string, vs: string, up: boolean): void {
    this.writeLvs(rsFifoLine(rs, vs, up));
  }

  async close(): Promise<void> {
    await Promise.all([this.global?.close(), this.vrrp?.close(), this.lvs?.close()]);
  }
}
