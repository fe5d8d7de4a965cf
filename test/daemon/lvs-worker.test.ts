// createLvs with its default monitor (checkers in a worker thread), in a network namespace of
// its own (IPVS, where the kernel has it, is per namespace): the table from the configuration
// is applied before the checker worker boots, a failing real server reaches the IPVS manager
// and status(), reload brings a new worker, stop ends everything.

import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canNetns, until } from '../support/netns.js';
import { ROOT } from '../support/paths.js';

const FIXTURE = join(ROOT, 'dist/test/daemon/fixtures/lvs-runtime.js');
const LISTEN = 18080;
const REFUSED = 18081;

function conf(secondPort: number): string {
  return `
virtual_server 10.90.0.1 80 {
  delay_loop 0.2
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 127.0.0.1 ${LISTEN} {
    TCP_CHECK {
      connect_timeout 1
      retry 1
      delay_before_retry 0.2
      warmup 0
    }
  }
  real_server 127.0.0.2 ${secondPort} {
    TCP_CHECK {
      connect_ip 127.0.0.1
      connect_timeout 1
      retry 1
      delay_before_retry 0.2
      warmup 0
    }
  }
}
`;
}

interface Rec {
  msg?: string;
  fixture?: string;
  status?: { realServers: { rs: string; up: boolean; reason?: string }[] };
  [k: string]: unknown;
}

describe('daemon/hooks createLvs with the checker worker (netns)', function () {
  this.timeout(60_000);
  const ns = `hclw${process.pid % 100000}`;
  let dir = '';
  let child: ChildProcess | undefined;

  before(function () {
    if (!canNetns) this.skip(); // needs root and ip netns
    dir = mkdtempSync(join(tmpdir(), 'hc-lvs-worker-'));
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  });
  after(() => {
    child?.kill('SIGKILL');
    if (canNetns) execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('table first, then the checkers; a refused real server goes down through the main thread; reload; stop', async () => {
    const c1 = join(dir, 'one.conf');
    const c2 = join(dir, 'two.conf');
    writeFileSync(c1, conf(REFUSED));
    writeFileSync(c2, conf(LISTEN));
    const recs: Rec[] = [];
    let buf = '';
    child = spawn('ip', ['netns', 'exec', ns, process.execPath, FIXTURE, c1], { env: { ...process.env, LISTEN_PORT: String(LISTEN) }, stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          recs.push(JSON.parse(line) as Rec);
        } catch {
          recs.push({ msg: line });
        }
      }
    });
    const find = (re: RegExp, from = 0) => recs.findIndex((r, k) => k >= from && re.test(r.msg ?? ''));
    const send = (s: string) => child!.stdin!.write(`${s}\n`);
    const dump = () => recs.map((r) => r.msg ?? JSON.stringify(r)).join('\n');

    assert.ok(await until(() => recs.some((r) => r.fixture === 'started'), 20_000), dump());
    // the worker boots after start() has applied the table
    assert.ok(await until(() => find(/^Activating healthchecker for service/) >= 0, 20_000), dump());
    const firstActivating = find(/^Activating healthchecker for service/);
    // keepalived's checker lines come from the worker through the main logger, with their fields
    assert.equal(recs[firstActivating].checker, 'TCP_CHECK');
    const dry = find(/^IPVS dry run, not applied:/);
    if (dry >= 0) {
      // no IPVS in this kernel: the manager logs what it applies; the whole table came before the checkers
      assert.ok(dry < firstActivating, dump());
      assert.match(recs[dry].msg!, new RegExp(`127\\.0\\.0\\.2:${REFUSED}`));
    }

    const failed = `TCP_CHECK on service [127.0.0.2]:tcp:${REFUSED} failed after 1 retries.`;
    assert.ok(await until(() => find(/^Removing service \[127\.0\.0\.2\]:tcp:/) >= 0, 20_000), dump());
    assert.ok(find(new RegExp(failed.replace(/[[\].]/g, '\\$&'))) >= 0, dump());
    send('status');
    assert.ok(await until(() => recs.some((r) => r.status), 10_000), dump());
    const st = recs.find((r) => r.status)!.status!;
    const byRs = Object.fromEntries(st.realServers.map((r) => [r.rs, r]));
    assert.equal(byRs[`127.0.0.1:${LISTEN}`]?.up, true, JSON.stringify(st));
    assert.equal(byRs[`127.0.0.2:${REFUSED}`]?.up, false, JSON.stringify(st));
    assert.equal(byRs[`127.0.0.2:${REFUSED}`]?.reason, 'TCP_CHECK connect ECONNREFUSED');

    // reload: the second real server now answers; a new worker checks it
    const mark = recs.length;
    send(`reload ${c2}`);
    assert.ok(await until(() => recs.some((r, k) => k >= mark && r.fixture === 'reloaded'), 20_000), dump());
    assert.ok(await until(() => find(new RegExp(`^Activating healthchecker for service \\[127\\.0\\.0\\.2\\]:tcp:${LISTEN}`), mark) >= 0, 10_000), dump());
    assert.ok(await until(() => find(new RegExp(`^TCP connection to \\[127\\.0\\.0\\.2\\]:tcp:${LISTEN} success\\.`), mark) >= 0, 10_000), dump());

    const t0 = Date.now();
    send('stop');
    const code = await Promise.race([exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 15_000))]);
    assert.equal(code, 0, `fixture did not exit by itself after stop (${Date.now() - t0} ms)\n${dump()}`);
    assert.ok(recs.some((r) => r.fixture === 'stopped'));
    child = undefined;
  });
});
