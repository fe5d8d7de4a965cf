/**
 * The daemon's logger, with keepalived's logging options (keepalived(8)):
 * - pino JSON lines on stdout, the primary output (asynchronous destination, so a slow
 *   terminal or pipe never delays an advert);
 * - -l/--log-console: readable lines on stderr instead, as keepalived -l -n writes its console
 *   lines there: `Sat Nov 21 06:10:08 2026: (VI_1) Entering MASTER STATE`, structured fields
 *   appended;
 * - syslog, on unless -G/--no-syslog: keepalived's text to /dev/log with facility -S (default
 *   daemon) and ident Keepalived / Keepalived_vrrp / Keepalived_healthcheckers[pid]
 *   (src/daemon/syslog.ts);
 * - -g/--log-file[=FILE]: the JSON lines also appended to FILE; a relative FILE (and the
 *   default keepalived.log) is in $TMPDIR or /tmp as keepalived makes it; --flush-log-file
 *   writes each line at once (synchronously) instead of through the asynchronous buffer;
 * - -D/--log-detail: debug records too, on every output including syslog (severity debug).
 */
import { Writable } from 'node:stream';
import { openSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { pino, multistream, type Logger, type DestinationStream, type Level } from 'pino';
import { FACILITY, parseFacility, SyslogStream } from './syslog.js';

export interface LoggingOptions {
  logConsole: boolean;
  logDetail: boolean;
  logFile?: string;
  /** --flush-log-file: write -g lines synchronously */
  flushLogFile?: boolean;
  /** -G/--no-syslog */
  noSyslog?: boolean;
  /** -S/--log-facility (0-7, local0-7, user, daemon); default daemon */
  logFacility?: string;
  /** syslog socket (default $HACHECK_SYSLOG_SOCKET or /dev/log); for tests */
  syslogPath?: string;
  /** where JSON (or with logConsole, readable) lines go instead of stdout/stderr; for tests */
  stream?: NodeJS.WritableStream;
}

const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

const two = (n: number) => String(n).padStart(2, '0');
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** keepalived's console timestamp, strftime("%c") in the C locale, local time: `Sat Nov  1 06:10:08 2026`. */
export function consoleTime(ms: number): string {
  const d = new Date(ms);
  return `${WEEKDAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`;
}

/** One readable line from a pino JSON line. */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const fields = Object.entries(o)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const level = typeof o.level === 'number' && o.level >= 50 ? 'ERROR - ' : typeof o.level === 'number' && o.level >= 40 ? 'WARNING - ' : '';
  return `${consoleTime(typeof o.time === 'number' ? o.time : Date.now())}: ${level}${String(o.msg ?? '')}${fields.length ? `  [${fields.join(' ')}]` : ''}\n`;
}

class PrettyStream extends Writable {
  constructor(private readonly out: NodeJS.WritableStream) {
    super({ decodeStrings: false });
  }
  override _write(chunk: string | Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let out = '';
    for (const line of text.split('\n')) if (line) out += prettyLine(line);
    this.out.write(out);
    cb();
  }
}

/** keepalived's -g file name: relative names (and the default) live in $TMPDIR (absolute) or /tmp. */
export function resolveLogFile(name: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (name === undefined) return undefined;
  const file = name === '' ? 'keepalived.log' : name;
  if (isAbsolute(file)) return file;
  const tmp = env.TMPDIR && env.TMPDIR.startsWith('/') ? env.TMPDIR : '/tmp';
  return join(tmp, file);
}

const syslogs = new WeakMap<Logger, SyslogStream>();

/** The logger's syslog sender (undefined with -G); for its counters. */
export function syslogOf(log: Logger): SyslogStream | undefined {
  return syslogs.get(log);
}

/** Release what the logger holds open (the syslog socket); a no-op for other loggers. */
export function closeDaemonLogger(log: Logger): void {
  syslogs.get(log)?.close();
}

export function createDaemonLogger(o: LoggingOptions): Logger {
  const level: Level = o.logDetail ? 'debug' : 'info';
  const streams: { stream: DestinationStream; level: Level }[] = [];
  const main: DestinationStream = o.logConsole
    ? (new PrettyStream(o.stream ?? process.stderr) as unknown as DestinationStream)
    : o.stream
      ? (o.stream as unknown as DestinationStream)
      : pino.destination({ dest: 1, sync: false });
  streams.push({ stream: main, level });

  const notes: { level: 'warn' | 'info'; fields: object; msg: string }[] = [];
  const file = resolveLogFile(o.logFile);
  if (file) {
    try {
      // fopen(FILE, "a") as keepalived: append, created with 0666 & ~umask
      const fd = openSync(file, 'a');
      const dest = pino.destination({ fd, sync: o.flushLogFile === true });
      dest.on('error', () => undefined); // a full disk must not stop the daemon
      streams.push({ stream: dest, level });
    } catch (e) {
      notes.push({ level: 'warn', fields: { file, err: (e as Error).message }, msg: `Unable to open log file ${file}: ${(e as Error).message}` });
    }
  }

  let logger: Logger | undefined;
  // a note about syslog itself is logged on the next turn, never from inside a write
  const later = (lvl: 'warn' | 'info', fields: object, msg: string) => setImmediate(() => logger?.[lvl](fields, msg));
  let syslog: SyslogStream | undefined;
  if (!o.noSyslog) {
    syslog = new SyslogStream({
      facility: parseFacility(o.logFacility) ?? FACILITY.daemon,
      path: o.syslogPath,
      onDown: (path, err) => later('warn', { syslog: path, err }, `syslog: cannot send to ${path} (${err}); dropping messages until it is back`),
      onUp: (path, dropped) => later('info', { syslog: path, dropped }, `syslog: sending to ${path} again after ${dropped} dropped messages`),
    });
    streams.push({ stream: syslog as unknown as DestinationStream, level });
  }

  logger = pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.epochTime }, streams.length === 1 ? streams[0].stream : multistream(streams));
  if (syslog) syslogs.set(logger, syslog);
  for (const n of notes) logger[n.level](n.fields, n.msg);
  return logger;
}
