/**
 * track_file (keepalived.conf(5) "Track file(s)"; keepalived trackers/track_file.c): a file
 * holding a number, watched for changes. The caller applies the weight.
 *
 * keepalived's reading, kept here:
 * - the first 127 bytes are read and parsed as C strtol(…, base 0) does: leading blanks,
 *   optional sign, 0x… hex, 0… octal, else decimal, up to the first character that does not
 *   fit; text that is not a number reads as 0;
 * - a missing, unreadable or empty file reads as 0; a file deleted or moved away is 0;
 * - a number outside [-2147483648, 2147483648] is ignored ("Invalid number N read from PATH
 *   - ignoring"): the previous value stays;
 * - the directory is watched (so the file may be created, replaced by rename, or deleted);
 *   the path is resolved first (realpath of the file, or of its directory when the file does
 *   not exist yet); a directory that does not exist removes the track file.
 * - `init_file [VALUE] [overwrite]` writes "VALUE\n" at startup when the file does not exist,
 *   or with overwrite whenever it is a regular file (but never at reload).
 *
 * Watching: fs.watch on the directory (inotify; Node reports writes as they happen, where
 * keepalived waits for close, so an event is read after a short settle delay, and a
 * half-written value is corrected by the next event), plus a poll every `pollMs` in case
 * the watch misses events or cannot be set up (NFS, some container filesystems).
 */
import { EventEmitter } from 'node:events';
import { watch, promises as fsp, constants as fsc, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';

/* ------------------------------------------------------------------ functional core */

const INT32_MIN = -2147483648;
const INT32_MAX_PLUS_1 = 2147483648;
const LONG_MAX = 2n ** 63n - 1n;

/**
 * C strtol(s, NULL, 0) on a 64-bit long. Returns the value, or `{ overflow }` when it does
 * not fit a long (strtol sets ERANGE and returns LONG_MIN/LONG_MAX).
 */
export function strtol0(s: string): number | { overflow: true } {
  let i = 0;
  while (i < s.length && ' \t\n\v\f\r'.includes(s[i])) i++;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') {
    neg = s[i] === '-';
    i++;
  }
  let base = 10;
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && /[0-9a-fA-F]/.test(s[i + 2] ?? '')) {
    base = 16;
    i += 2;
  } else if (s[i] === '0') base = 8;
  let v = 0n;
  const digits = base === 16 ? '0123456789abcdef' : base === 8 ? '01234567' : '0123456789';
  let over = false;
  for (; i < s.length; i++) {
    const d = digits.indexOf(s[i].toLowerCase());
    if (d < 0) break;
    v = v * BigInt(base) + BigInt(d);
    if (v > LONG_MAX + 1n) over = true;
  }
  if (over || (!neg && v > LONG_MAX)) return { overflow: true };
  return Number(neg ? -v : v);
}

export type TrackFileRead = { value: number } | { invalid: string };

/** The value of a track file's contents (`undefined`: missing or unreadable → 0). */
export function parseTrackFile(contents: string | undefined): TrackFileRead {
  if (contents === undefined || contents.length === 0) return { value: 0 };
  const v = strtol0(contents.slice(0, 127));
  if (typeof v !== 'number') return { invalid: contents.trim().slice(0, 40) };
  if (v < INT32_MIN || v > INT32_MAX_PLUS_1) return { invalid: String(v) };
  return { value: v };
}

/* ------------------------------------------------------------------ I/O */

/** Read the file as keepalived does: non-blocking open (a FIFO does not hang us), ≤127 bytes. */
export async function readTrackFile(path: string): Promise<TrackFileRead> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
    const buf = Buffer.alloc(127);
    const { bytesRead } = await fh.read(buf, 0, 127, null);
    return parseTrackFile(buf.toString('latin1', 0, bytesRead));
  } catch {
    return { value: 0 };
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/**
 * init_file: write "VALUE\n" when the file does not exist, or with `overwrite` when it is a
 * regular file (never at `reload`). Returns keepalived's message when it cannot.
 */
export async function initTrackFile(name: string, path: string, init: { value: number; overwrite: boolean }, reload = false): Promise<string | undefined> {
  const st = await fsp.stat(path).catch(() => undefined);
  if (st) {
    if (!init.overwrite) return undefined;
    if (!st.isFile()) return `Cannot initialise track file ${name} - it is not a regular file`;
    if (reload) return undefined;
  }
  try {
    // O_NOFOLLOW as keepalived's fopen_safe: do not write through a planted symlink
    const fh = await fsp.open(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC | fsc.O_NOFOLLOW, 0o644);
    try {
      await fh.writeFile(`${init.value}\n`);
    } finally {
      await fh.close();
    }
    return undefined;
  } catch {
    return `Unable to initialise track file ${name}`;
  }
}

export interface TrackFileWatcherOptions {
  name: string;
  file: string;
  logger?: Logger;
  /** poll period, ms (default 1000; 0: no polling) */
  pollMs?: number;
  /** delay between a watch event and the read, ms (default 20) */
  settleMs?: number;
}

export interface TrackFileWatcherEvents {
  change: [value: number, previous: number];
}

/**
 * Watches one track file. After `start()`, `value` is the file's value (0 when missing);
 * `change(value, previous)` is emitted whenever it changes.
 */
export class TrackFileWatcher extends EventEmitter<TrackFileWatcherEvents> {
  readonly name: string;
  /** the path after resolving symlinks (set by start) */
  path: string;
  value = 0;
  private readonly log: Logger;
  private readonly pollMs: number;
  private readonly settleMs: number;
  private watcher?: FSWatcher;
  private pollTimer?: NodeJS.Timeout;
  private settleTimer?: NodeJS.Timeout;
  private reading?: Promise<void>;
  private again = false;
  private stopped = true;

  constructor(opts: TrackFileWatcherOptions) {
    super();
    this.name = opts.name;
    this.path = opts.file;
    this.log = (opts.logger ?? silentLogger()).child({ trackFile: opts.name, file: opts.file });
    this.pollMs = opts.pollMs ?? 1000;
    this.settleMs = opts.settleMs ?? 20;
  }

  /**
   * Resolve the path, read the initial value, start watching. Throws (with keepalived's
   * message) when the directory does not exist: the track file is then unusable.
   */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.path = await this.resolve();
    this.stopped = false;
    const first = await readTrackFile(this.path);
    if ('value' in first) this.value = first.value;
    else this.log.info(`Invalid number ${first.invalid} read from ${this.path} - ignoring`);
    const base = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: true }, (_ev, filename) => {
        if (filename === null || filename.toString() === base) this.schedule();
      });
      this.watcher.on('error', (e) => {
        this.log.warn({ err: e.message }, `Unable to monitor track file ${this.name}: ${e.message}`);
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, `Unable to monitor track files`);
    }
    if (this.pollMs > 0) this.pollTimer = setInterval(() => this.schedule(0), this.pollMs);
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.pollTimer);
    clearTimeout(this.settleTimer);
  }

  private async resolve(): Promise<string> {
    try {
      return await fsp.realpath(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`track file ${this.name} is not accessible - ignoring`);
    }
    const dir = await fsp.realpath(dirname(this.path)).catch(() => undefined);
    const st = dir ? await fsp.stat(dir).catch(() => undefined) : undefined;
    if (!dir || !st?.isDirectory()) throw new Error(`Track file directory for ${this.name} does not exist - removing`);
    return join(dir, basename(this.path));
  }

  private schedule(delay = this.settleMs): void {
    if (this.stopped) return;
    if (this.settleTimer) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      void this.readNow();
    }, delay);
  }

  /** Read the file now; emits `change` when the value changed. */
  async readNow(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        const r = await readTrackFile(this.path);
        if (this.stopped) return;
        if ('invalid' in r) {
          this.log.info(`Invalid number ${r.invalid} read from ${this.path} - ignoring`);
          continue;
        }
        if (r.value !== this.value) {
          const prev = this.value;
          this.value = r.value;
          this.log.debug({ value: r.value, previous: prev }, `Track file ${this.name} value ${r.value}`);
          this.emit('change', r.value, prev);
        }
      } while (this.again);
    })().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }
}
