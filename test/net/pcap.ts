/**
 * A byte-exact capture for frame tests: tcpdump writes a pcap file inside a lab namespace,
 * `frames()` returns each captured frame's bytes and `decode()` tcpdump's own reading of the
 * file, an independent decoder for the same frames.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../support/netns.js';

/** Frames of a classic pcap file (either byte order, µs or ns timestamps). */
export function parsePcap(buf: Buffer): Buffer[] {
  if (buf.length < 24) return [];
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error(`not a pcap file (magic ${magic.toString(16)})`);
  }
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const out: Buffer[] = [];
  // A record still being written (tcpdump -U flushes per packet, but a read can race it) is
  // left for the next read.
  for (let o = 24; o + 16 <= buf.length; ) {
    const capLen = u32(o + 8);
    if (o + 16 + capLen > buf.length) break;
    out.push(Buffer.from(buf.subarray(o + 16, o + 16 + capLen)));
    o += 16 + capLen;
  }
  return out;
}

export class PcapCapture {
  private readonly dir = mkdtempSync(join(tmpdir(), 'hacheck-pcap-'));
  readonly file = join(this.dir, 'cap.pcap');
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;

  constructor(lab: Lab, host: string, filter: string) {
    const h = lab.host(host);
    this.child = lab.spawn(host, ['tcpdump', '-Z', 'root', '-i', h.iface, '-n', '-U', '-s', '0', '-w', this.file, filter]);
    this.ready = new Promise((resolve, reject) => {
      let err = '';
      const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10000);
      this.child.stderr!.setEncoding('utf8');
      this.child.stderr!.on('data', (d: string) => {
        err += d;
        if (err.includes('listening on')) {
          clearTimeout(t);
          resolve();
        }
      });
      this.child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`tcpdump exited (${code}): ${err}`));
      });
    });
    // Once started, a later exit must not surface as an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  started(): Promise<void> {
    return this.ready;
  }

  frames(): Buffer[] {
    try {
      return parsePcap(readFileSync(this.file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  /** Poll until `n` frames are captured (or `timeoutMs` passes); returns the frames seen. */
  async waitFrames(n: number, timeoutMs: number): Promise<Buffer[]> {
    const end = Date.now() + timeoutMs;
    let f = this.frames();
    while (f.length < n && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 20));
      f = this.frames();
    }
    return f;
  }

  /** tcpdump's verbose decoding of the capture, one string per frame (continuation lines joined). */
  decode(): string[] {
    const text = execFileSync('tcpdump', ['-r', this.file, '-n', '-e', '-vv', '-t'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const out: string[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      if (/^\s/.test(line) && out.length > 0) out[out.length - 1] += ` ${line.trim()}`;
      else out.push(line);
    }
    return out;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const done = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGINT');
      await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
    }
  }

  /** Stop tcpdump and delete the capture file. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
