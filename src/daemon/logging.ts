/**
 * The daemon's logger: pino JSON lines on stdout by default (asynchronous destination, so a
 * slow terminal or pipe never delays an advert); with -l (keepalived's --log-console) readable
 * lines in keepalived's console form `Sat Nov 21 06:10:08 2026: (VI_1) Entering MASTER STATE`,
 * with the structured fields appended.
 */
import { Writable } from 'node:stream';
import { createWriteStream } from 'node:fs';
import { pino, multistream, type Logger, type DestinationStream } from 'pino';

export interface LoggingOptions {
  logConsole: boolean;
  logDetail: boolean;
  logFile?: string;
  /** where lines go (default stdout); tests pass their own stream */
  stream?: NodeJS.WritableStream;
}

const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

/** keepalived console timestamp: `Sat Nov 21 06:10:08 2026`. */
function consoleTime(ms: number): string {
  const d = new Date(ms);
  const s = d.toString(); // "Sat Nov 21 2026 06:10:08 GMT+0000 (…)"
  const [wd, mon, day, year, time] = s.split(' ');
  return `${wd} ${mon} ${day} ${time} ${year}`;
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

export function createDaemonLogger(o: LoggingOptions): Logger {
  const level = o.logDetail ? 'debug' : 'info';
  const base: DestinationStream = o.stream
    ? (o.stream as unknown as DestinationStream)
    : o.logConsole
      ? (new PrettyStream(process.stdout) as unknown as DestinationStream)
      : pino.destination({ dest: 1, sync: false });
  const streams: { stream: DestinationStream; level: string }[] = [{ stream: o.logConsole && o.stream ? (new PrettyStream(o.stream) as unknown as DestinationStream) : base, level }];
  if (o.logFile) streams.push({ stream: createWriteStream(o.logFile, { flags: 'a' }) as unknown as DestinationStream, level });
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.epochTime }, streams.length === 1 ? streams[0].stream : multistream(streams));
}
