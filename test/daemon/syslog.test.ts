/**
 * syslog as keepalived does it (glibc syslog(): RFC 3164 datagrams to /dev/log), the pure
 * mapping first, then for real: an AF_UNIX datagram socket bound in a temporary directory
 * stands in for /dev/log (HACHECK_SYSLOG_SOCKET / syslogPath), and the daemon itself is run
 * with it. Also keepalived's logging options: -G, -S, -g, --flush-log-file, -l.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from '../../src/cli/args.js';
import {
  FACILITY, SEVERITY, formatSyslog, identOf, parseFacility, recordToSyslog, severityOf, syslogTimestamp, SyslogStream,
} from '../../src/daemon/syslog.js';
import { closeDaemonLogger, consoleTime, createDaemonLogger, prettyLine, resolveLogFile, syslogOf } from '../../src/daemon/logging.js';
import { HACHECK } from '../support/paths.js';

// ---- a stand-in for /dev/log ---------------------------------------------------------------

interface RecvSocket {
  bind(path: string): void;
  close(): void;
}
const unixDgram = createRequire(import.meta.url)('unix-dgram') as {
  createSocket(type: 'unix_dgram', onMessage: (buf: Buffer) => void): RecvSocket;
};

/** A bound AF_UNIX SOCK_DGRAM socket collecting datagrams, as a syslog daemon's /dev/log. */
class FakeDevLog {
  readonly got: string[] = [];
  private sock?: RecvSocket;
  constructor(readonly path: string) {}
  start(): this {
    rmSync(this.path, { force: true });
    this.sock = unixDgram.createSocket('unix_dgram', (b) => this.got.push(b.toString('utf8')));
    this.sock.bind(this.path);
    return this;
  }
  /** as a syslog daemon going away: socket closed and the path removed */
  stop(): void {
    this.sock?.close();
    this.sock = undefined;
    rmSync(this.path, { force: true });
  }
  async waitFor(pred: (got: string[]) => boolean, what: string, ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred(this.got)) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.got.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A stream collecting the logger's main output. */
function sink(): { stream: Writable; text: () => string } {
  let out = '';
  const stream = new Writable({
    write(c: Buffer | string, _e, cb) {
      out += c.toString();
      cb();
    },
  });
  return { stream, text: () => out };
}

const DATAGRAM = /^<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (Keepalived(?:_vrrp|_healthcheckers)?)\[(\d+)\]: (.*)$/s;
function parse(d: string): { pri: number; ident: string; pid: number; msg: string } {
  const m = DATAGRAM.exec(d);
  assert.ok(m, `not a glibc syslog datagram: ${JSON.stringify(d)}`);
  return { pri: Number(m[1]), ident: m[3], pid: Number(m[4]), msg: m[5] };
}

// ---- pure ----------------------------------------------------------------------------------

describe('syslog format (glibc syslog() as keepalived calls it)', function () {
  it('-S facilities as keepalived reads them: 0-7 and local0-7 are LOG_LOCALn, user, daemon; default daemon', function () {
    assert.equal(parseFacility(undefined), FACILITY.daemon);
    assert.equal(parseFacility('daemon'), 3);
    assert.equal(parseFacility('user'), 1);
    for (let n = 0; n <= 7; n++) {
      assert.equal(parseFacility(String(n)), 16 + n);
      assert.equal(parseFacility(`local${n}`), 16 + n);
    }
    for (const bad of ['8', 'local8', 'kern', 'LOCAL1', '', ' 1', 'local']) assert.equal(parseFacility(bad), undefined, bad);
  });

  it('pino levels map to err, warning, info, debug', function () {
    assert.equal(severityOf(60), SEVERITY.err);
    assert.equal(severityOf(50), SEVERITY.err);
    assert.equal(severityOf(40), SEVERITY.warning);
    assert.equal(severityOf(30), SEVERITY.info);
    assert.equal(severityOf(20), SEVERITY.debug);
    assert.equal(severityOf(10), SEVERITY.debug);
  });

  it('picks the keepalived process ident from the record', function () {
    assert.equal(identOf({ instance: 'VI_1', vrid: 51 }), 'Keepalived_vrrp');
    assert.equal(identOf({ group: 'G1' }), 'Keepalived_vrrp');
    assert.equal(identOf({ script: 'chk_x' }), 'Keepalived_vrrp');
    assert.equal(identOf({ trackFile: 'tf' }), 'Keepalived_vrrp');
    assert.equal(identOf({ vs: '10.0.0.1:80', rs: '10.0.1.2:80', script: '/q.sh' }), 'Keepalived_healthcheckers');
    assert.equal(identOf({ component: 'ipvs' }), 'Keepalived_healthcheckers');
    assert.equal(identOf({ checker: 'TCP_CHECK' }), 'Keepalived_healthcheckers');
    assert.equal(identOf({ reason: 'reload' }), 'Keepalived');
    assert.equal(identOf({}), 'Keepalived');
    assert.equal(identOf({ subsystem: 'check', instance: 'VI_1' }), 'Keepalived_healthcheckers');
    assert.equal(identOf({ subsystem: 'core', vs: 'x' }), 'Keepalived');
  });

  it('formats <PRI>Mmm dd hh:mm:ss IDENT[PID]: MSG with the day padded by a space (strftime %e)', function () {
    const d = new Date(2026, 10, 1, 6, 10, 8); // local time, as glibc's localtime_r
    assert.equal(syslogTimestamp(d), 'Nov  1 06:10:08');
    assert.equal(syslogTimestamp(new Date(2026, 0, 21, 23, 5, 9)), 'Jan 21 23:05:09');
    assert.equal(formatSyslog(FACILITY.daemon, SEVERITY.info, d, 'Keepalived_vrrp', 1234, '(VI_1) Entering MASTER STATE'),
      '<30>Nov  1 06:10:08 Keepalived_vrrp[1234]: (VI_1) Entering MASTER STATE');
    assert.equal(formatSyslog(FACILITY.local0 + 7, SEVERITY.err, d, 'Keepalived', 1, 'x'), '<187>Nov  1 06:10:08 Keepalived[1]: x');
  });

  it('is byte for byte what glibc\'s syslog() sends (python3 syslog module in a mount namespace with its own /dev/log)', function () {
    // glibc always sends to /dev/log: a tmpfs over /dev in a private mount namespace gives it one
    const script = [
      'import socket, syslog, subprocess',
      "subprocess.run(['mount', '-t', 'tmpfs', 'none', '/dev'], check=True)",
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind('/dev/log')",
      "syslog.openlog('Keepalived_healthcheckers', syslog.LOG_PID, syslog.LOG_LOCAL3)",
      "syslog.syslog(syslog.LOG_WARNING, 'TCP_CHECK on service [10.0.1.2]:tcp:80 failed.')",
      "syslog.closelog(); syslog.openlog('Keepalived', syslog.LOG_PID, syslog.LOG_DAEMON)",
      "syslog.syslog(syslog.LOG_DEBUG, 'x y')",
      "print(s.recv(4096).decode()); print(s.recv(4096).decode())",
    ].join('\n');
    const r = process.getuid?.() === 0 ? spawnSync('unshare', ['-m', '--propagation', 'private', 'python3', '-c', script], { encoding: 'utf8', timeout: 20_000 }) : undefined;
    if (!r || r.status !== 0) this.skip(); // needs root, unshare and python3
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2, r.stdout);
    const cases: [number, number, string][] = [[FACILITY.local0 + 3, SEVERITY.warning, 'TCP_CHECK on service [10.0.1.2]:tcp:80 failed.'], [FACILITY.daemon, SEVERITY.debug, 'x y']];
    lines.forEach((glibc, i) => {
      const m = /^<\d+>([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) ([^[]+)\[(\d+)\]: /.exec(glibc);
      assert.ok(m, glibc);
      const at = new Date(new Date().getFullYear(), ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].indexOf(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
      const [fac, sev, msg] = cases[i];
      assert.equal(formatSyslog(fac, sev, at, m[6], Number(m[7]), msg), glibc);
    });
  });

  it('turns a pino line into the datagram and ignores what is not one', function () {
    const t = new Date(2026, 10, 21, 6, 10, 8).getTime();
    const line = JSON.stringify({ level: 40, time: t, pid: 9, instance: 'VI_1', vrid: 51, msg: '(VI_1) received lower priority advert' });
    assert.equal(recordToSyslog(line, FACILITY.local0 + 3, 77), '<156>Nov 21 06:10:08 Keepalived_vrrp[77]: (VI_1) received lower priority advert');
    assert.equal(recordToSyslog('not json', 3, 1), undefined);
    assert.equal(recordToSyslog('[1,2]', 3, 1), undefined);
    assert.equal(recordToSyslog('{"msg":"no level"}', 3, 1), undefined);
  });
});

describe('keepalived logging options', function () {
  it('-g with and without FILE, --flush-log-file, -G, -S (an unknown facility is not fatal, as keepalived)', function () {
    const o = parseArgs(['-g', '-G', '--flush-log-file', '-S', 'bogus']);
    assert.ok(typeof o !== 'string');
    assert.equal(o.logFile, '');
    assert.ok(o.noSyslog && o.flushLogFile);
    assert.equal(o.logFacility, 'bogus');
    const f = parseArgs(['-g/var/log/ka.log']);
    assert.ok(typeof f !== 'string');
    assert.equal(f.logFile, '/var/log/ka.log');
    const l = parseArgs(['--log-file=ka.log']);
    assert.ok(typeof l !== 'string');
    assert.equal(l.logFile, 'ka.log');
    const none = parseArgs([]);
    assert.ok(typeof none !== 'string');
    assert.ok(!none.noSyslog && !none.flushLogFile && none.logFile === undefined);
  });

  it('-g FILE: relative names and the default keepalived.log are in $TMPDIR (absolute) or /tmp', function () {
    assert.equal(resolveLogFile(undefined, {}), undefined);
    assert.equal(resolveLogFile('', {}), '/tmp/keepalived.log');
    assert.equal(resolveLogFile('', { TMPDIR: '/var/tmp' }), '/var/tmp/keepalived.log');
    assert.equal(resolveLogFile('ka.log', { TMPDIR: 'relative' }), '/tmp/ka.log');
    assert.equal(resolveLogFile('/var/log/ka.log', { TMPDIR: '/x' }), '/var/log/ka.log');
  });

  it('-l lines carry keepalived\'s console timestamp (strftime %c, C locale)', function () {
    const t = new Date(2026, 10, 1, 6, 10, 8).getTime();
    assert.equal(consoleTime(t), 'Sun Nov  1 06:10:08 2026');
    assert.equal(prettyLine(JSON.stringify({ level: 30, time: t, pid: 1, msg: '(VI_1) Entering MASTER STATE' })), 'Sun Nov  1 06:10:08 2026: (VI_1) Entering MASTER STATE\n');
  });
});

// ---- for real ------------------------------------------------------------------------------

describe('syslog over a real AF_UNIX datagram socket', function () {
  this.timeout(30_000);
  let dir: string;
  let devlog: FakeDevLog;
  const loggers: ReturnType<typeof createDaemonLogger>[] = [];
  const logger = (o: Parameters<typeof createDaemonLogger>[0]) => {
    const l = createDaemonLogger(o);
    loggers.push(l);
    return l;
  };

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'hc-syslog-'));
    devlog = new FakeDevLog(join(dir, 'log')).start();
  });
  afterEach(function () {
    for (const l of loggers.splice(0)) closeDaemonLogger(l);
    devlog.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends keepalived\'s line with facility (-S), severity, ident and pid; the JSON stays on the main output', async function () {
    const out = sink();
    const log = logger({ logConsole: false, logDetail: false, logFacility: 'local3', syslogPath: devlog.path, stream: out.stream });
    log.info({ instance: 'VI_1', vrid: 51, from: 'BACKUP', to: 'MASTER' }, '(VI_1) Entering MASTER STATE');
    log.warn({ vs: '10.0.0.1:80', rs: '[10.0.1.2]:tcp:80', checker: 'TCP_CHECK' }, 'TCP_CHECK on service [10.0.1.2]:tcp:80 failed.');
    log.error('Stopping: broken');
    log.debug('not without -D');
    await devlog.waitFor((g) => g.length >= 3, '3 datagrams');
    const got = devlog.got.map(parse);
    const local3 = 19 * 8;
    assert.deepEqual(got, [
      { pri: local3 + 6, ident: 'Keepalived_vrrp', pid: process.pid, msg: '(VI_1) Entering MASTER STATE' },
      { pri: local3 + 4, ident: 'Keepalived_healthcheckers', pid: process.pid, msg: 'TCP_CHECK on service [10.0.1.2]:tcp:80 failed.' },
      { pri: local3 + 3, ident: 'Keepalived', pid: process.pid, msg: 'Stopping: broken' },
    ]);
    const json = out.text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(json.length, 3);
    assert.equal(json[0].msg, '(VI_1) Entering MASTER STATE');
    assert.equal(json[0].to, 'MASTER');
    assert.deepEqual(syslogOf(log)?.stats, { sent: 3, dropped: 0, pending: 0, lastError: undefined });
  });

  it('default facility is daemon; -D adds debug records at severity debug', async function () {
    const log = logger({ logConsole: false, logDetail: true, syslogPath: devlog.path, stream: sink().stream });
    log.info('Starting');
    log.debug({ instance: 'VI_1' }, '(VI_1) detail');
    await devlog.waitFor((g) => g.length >= 2, '2 datagrams');
    assert.deepEqual(devlog.got.map(parse).map((d) => [d.pri, d.ident, d.msg]), [[3 * 8 + 6, 'Keepalived', 'Starting'], [3 * 8 + 7, 'Keepalived_vrrp', '(VI_1) detail']]);
  });

  it('HACHECK_SYSLOG_SOCKET overrides /dev/log', async function () {
    const old = process.env.HACHECK_SYSLOG_SOCKET;
    process.env.HACHECK_SYSLOG_SOCKET = devlog.path;
    try {
      const log = logger({ logConsole: false, logDetail: false, stream: sink().stream });
      assert.equal(syslogOf(log)?.path, devlog.path);
      log.info('via the variable');
      await devlog.waitFor((g) => g.length >= 1, 'a datagram');
      assert.equal(parse(devlog.got[0]).msg, 'via the variable');
    } finally {
      if (old === undefined) delete process.env.HACHECK_SYSLOG_SOCKET;
      else process.env.HACHECK_SYSLOG_SOCKET = old;
    }
  });

  it('-G sends nothing', async function () {
    const quiet = logger({ logConsole: false, logDetail: true, noSyslog: true, syslogPath: devlog.path, stream: sink().stream });
    assert.equal(syslogOf(quiet), undefined);
    for (let i = 0; i < 20; i++) quiet.error(`quiet ${i}`);
    // datagrams to one socket arrive in send order: once the marker is in, anything earlier would be too
    const marker = logger({ logConsole: false, logDetail: false, syslogPath: devlog.path, stream: sink().stream });
    marker.info('marker');
    await devlog.waitFor((g) => g.length >= 1, 'the marker');
    assert.deepEqual(devlog.got.map((d) => parse(d).msg), ['marker']);
  });

  it('/dev/log absent: no crash, counted drops, one warning; a syslog daemon (re)starting is picked up', async function () {
    devlog.stop();
    const out = sink();
    const log = logger({ logConsole: false, logDetail: false, syslogPath: devlog.path, stream: out.stream });
    for (let i = 0; i < 5; i++) log.info(`lost ${i}`);
    const s = syslogOf(log)!;
    assert.equal(s.stats.dropped, 5);
    assert.equal(s.stats.lastError, 'ENOENT');
    await new Promise((r) => setImmediate(r));
    assert.match(out.text(), /syslog: cannot send to .*\(ENOENT\); dropping messages until it is back/);
    assert.equal(out.text().match(/syslog: cannot send/g)?.length, 1);

    devlog.start();
    log.info('back');
    await devlog.waitFor((g) => g.length >= 1, 'the first message after the restart');
    assert.equal(parse(devlog.got[0]).msg, 'back');
    await new Promise((r) => setImmediate(r));
    assert.match(out.text(), /syslog: sending to .* again after 6 dropped messages/);

    // the syslog daemon restarts while connected: ECONNREFUSED, reconnect, resend
    devlog.stop();
    devlog.got.length = 0;
    devlog.start();
    log.info('after restart');
    await devlog.waitFor((g) => g.some((d) => parse(d).msg === 'after restart'), 'the message after the restart');
    assert.equal(s.stats.dropped, 6); // 5 lost + the note about it, nothing since
  });

  it('a burst larger than the receive queue never blocks: messages wait and arrive in order', async function () {
    const log = logger({ logConsole: false, logDetail: false, syslogPath: devlog.path, stream: sink().stream });
    const N = 2000; // net.unix.max_dgram_qlen is 10 by default, 512 under systemd
    for (let i = 0; i < N; i++) log.info({ vs: 'x' }, `burst ${i}`);
    const s = syslogOf(log)!;
    assert.ok(s.stats.pending > 0, 'some messages had to wait for the queue to drain');
    await devlog.waitFor((g) => g.length >= N, `${N} datagrams`);
    assert.deepEqual(devlog.got.map((d) => parse(d).msg), Array.from({ length: N }, (_, i) => `burst ${i}`));
    assert.equal(s.stats.dropped, 0);
    assert.equal(s.stats.pending, 0);
  });

  it('past maxPending, messages are dropped and counted, not queued without bound', async function () {
    const s = new SyslogStream({ path: devlog.path, maxPending: 50 });
    try {
      for (let i = 0; i < 500; i++) s.send(`<30>Nov  1 06:10:08 Keepalived[1]: m${i}`);
      const { sent, dropped, pending } = s.stats;
      assert.equal(sent + dropped + pending, 500);
      assert.equal(pending, 50);
      assert.ok(dropped > 0);
      await devlog.waitFor((g) => g.length >= sent + pending, 'the sent and pending datagrams');
      assert.equal(s.stats.sent + s.stats.dropped, 500);
    } finally {
      s.close();
    }
  });

  it('close() releases the socket and later messages are dropped', async function () {
    const s = new SyslogStream({ path: devlog.path });
    s.send('<30>Nov  1 06:10:08 Keepalived[1]: one');
    s.close();
    s.send('<30>Nov  1 06:10:08 Keepalived[1]: two');
    assert.deepEqual(s.stats, { sent: 1, dropped: 1, pending: 0, lastError: 'closed' });
  });

  it('-g FILE gets the JSON lines (synchronously with --flush-log-file); an unwritable FILE is a warning', function () {
    const file = join(dir, 'ka.log');
    const out = sink();
    const log = logger({ logConsole: false, logDetail: false, noSyslog: true, logFile: file, flushLogFile: true, stream: out.stream });
    log.info({ instance: 'VI_1' }, '(VI_1) Entering BACKUP STATE');
    const line = JSON.parse(readFileSync(file, 'utf8').trim()) as Record<string, unknown>;
    assert.equal(line.msg, '(VI_1) Entering BACKUP STATE');
    assert.equal(line.instance, 'VI_1');

    const bad = sink();
    logger({ logConsole: false, logDetail: false, noSyslog: true, logFile: join(dir, 'no/such/dir/ka.log'), stream: bad.stream });
    assert.match(bad.text(), /Unable to open log file .*no\/such\/dir\/ka\.log/);
  });
});

describe('the daemon logs to syslog', function () {
  this.timeout(60_000);
  let dir: string;
  let devlog: FakeDevLog;
  let child: ChildProcess | undefined;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'hc-syslogd-'));
    devlog = new FakeDevLog(join(dir, 'log')).start();
  });
  afterEach(function () {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
    devlog.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * The daemon answers on its status socket only once its event loop turns after start(),
   * which is after runDaemon installed the SIGTERM handler: only then may the test stop it.
   */
  async function ready(out: () => string): Promise<void> {
    const end = Date.now() + 20_000;
    for (;;) {
      const ok = await new Promise<boolean>((res) => {
        const s = connect(join(dir, 'status.sock'));
        let got = '';
        s.on('data', (b: Buffer) => (got += b.toString()));
        s.on('end', () => res(got.length > 0));
        s.on('error', () => res(false));
      });
      if (ok) return;
      if (Date.now() > end) throw new Error(`the daemon did not answer on its status socket\n${out().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  function run(args: string[]): { exited: Promise<number | null>; out: () => string } {
    const conf = join(dir, 'keepalived.conf');
    if (!existsSync(conf)) writeFileSync(conf, 'global_defs {\n  router_id syslog_test\n}\n');
    let out = '';
    child = spawn(process.execPath, [HACHECK, '-n', '-f', conf, '-p', join(dir, 'pid'), '--status-socket', join(dir, 'status.sock'), ...args], {
      env: { ...process.env, HACHECK_SYSLOG_SOCKET: devlog.path },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const c = child;
    return { exited: new Promise((r) => c.once('close', (code) => r(code))), out: () => out };
  }

  it('starts and stops with Keepalived[pid] lines, facility from -S, and exits (the socket does not hold it)', async function () {
    const r = run(['-S', '5']);
    await ready(r.out);
    child!.kill('SIGTERM');
    assert.equal(await r.exited, 0);
    await devlog.waitFor((g) => g.some((d) => /Stopped hacheck/.test(d)), 'the stop line');
    const start = parse(devlog.got.find((d) => /Starting hacheck/.test(d))!);
    assert.deepEqual([start.pri, start.ident, start.pid], [21 * 8 + 6, 'Keepalived', child!.pid]);
    // the JSON stays on stdout
    assert.match(r.out(), /"msg":"Starting hacheck/);
  });

  it('-G: nothing to syslog; -l: keepalived console lines on stderr instead of JSON', async function () {
    const r = run(['-G', '-l']);
    let err = '';
    child!.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    await ready(r.out);
    child!.kill('SIGTERM');
    assert.equal(await r.exited, 0, err);
    assert.match(err, /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}: Starting hacheck/m);
    assert.doesNotMatch(r.out(), /"msg":/);
    assert.deepEqual(devlog.got, []);
  });

  it('an unknown -S facility is reported and the daemon goes on with daemon, as keepalived', async function () {
    const r = run(['-S', 'bogus']);
    await ready(r.out);
    child!.kill('SIGTERM');
    assert.equal(await r.exited, 0);
    assert.match(r.out(), /Invalid log facility 'bogus'/);
    assert.equal(parse(devlog.got.find((d) => /Starting hacheck/.test(d))!).pri, 3 * 8 + 6);
  });
});
