// systemd's notify protocol, against a real AF_UNIX datagram socket standing in for
// $NOTIFY_SOCKET: the notifier alone, then the daemon (READY, WATCHDOG, RELOADING, STOPPING).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SdNotifier, watchdogIntervalMs } from '../../src/daemon/sd-notify.js';
import { until } from '../support/netns.js';
import { HACHECK } from '../support/paths.js';

interface RecvSocket {
  bind(path: string): void;
  close(): void;
}
const unixDgram = createRequire(import.meta.url)('unix-dgram') as {
  createSocket(type: 'unix_dgram', onMessage: (buf: Buffer) => void): RecvSocket;
};

describe('systemd notify (sd_notify protocol)', function () {
  this.timeout(60_000);
  let dir: string;
  let path: string;
  let sock: RecvSocket;
  let got: string[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hc-sdnotify-'));
    path = join(dir, 'notify');
    got = [];
    sock = unixDgram.createSocket('unix_dgram', (b) => got.push(b.toString()));
    sock.bind(path);
  });
  afterEach(() => {
    sock.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('watchdog interval: half of WATCHDOG_USEC, only for the named pid', () => {
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000' }), 5000);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: String(process.pid) }), 5000);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '1' }, 2), undefined);
    assert.equal(watchdogIntervalMs({}), undefined);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: 'x' }), undefined);
  });

  it('sends states and watchdog pings as datagrams; a missing socket is counted, not thrown', async () => {
    const n = new SdNotifier({ NOTIFY_SOCKET: path, WATCHDOG_USEC: '100000' });
    n.notify('READY=1');
    assert.equal(n.startWatchdog(), 50);
    assert.ok(await until(() => got.filter((g) => g === 'WATCHDOG=1').length >= 3, 10_000), JSON.stringify(got));
    n.stop();
    assert.equal(got[0], 'READY=1');
    const errs: string[] = [];
    const lost = new SdNotifier({ NOTIFY_SOCKET: join(dir, 'nobody') }, (s) => errs.push(s));
    lost.notify('READY=1');
    assert.ok(await until(() => lost.failures === 1, 5000));
    assert.deepEqual(errs, ['READY=1']);
    assert.equal(new SdNotifier({}).startWatchdog(), undefined); // not under systemd: nothing
  });

  it('the daemon: READY=1 after start, WATCHDOG=1 pings, RELOADING=1/READY=1 on SIGHUP, STOPPING=1 on SIGTERM', async () => {
    const conf = join(dir, 'k.conf');
    writeFileSync(conf, 'global_defs {\n  router_id sdtest\n}\n');
    const child = spawn(
      process.execPath,
      [HACHECK, '-n', '-G', '-f', conf, '-p', join(dir, 'p.pid'), '--status-socket', join(dir, 's.sock')],
      { env: { ...process.env, NOTIFY_SOCKET: path, WATCHDOG_USEC: '400000', WATCHDOG_PID: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    try {
      assert.ok(await until(() => got.includes('READY=1'), 30_000), `READY=1: ${JSON.stringify(got)}\n${out}`);
      assert.ok(await until(() => got.filter((g) => g === 'WATCHDOG=1').length >= 2, 10_000), JSON.stringify(got));
      const before = got.length;
      child.kill('SIGHUP');
      assert.ok(await until(() => got.slice(before).includes('RELOADING=1') && got.slice(before).lastIndexOf('READY=1') > got.slice(before).indexOf('RELOADING=1'), 10_000), JSON.stringify(got));
      child.kill('SIGTERM');
      assert.equal(await exited, 0, out);
      assert.ok(got.includes('STOPPING=1'), JSON.stringify(got));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
