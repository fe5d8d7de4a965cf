// SIGKILL then restart of the hacheck daemon, IPVS side (issue 5, reliability), in the IPVS
// VM (scripts/test-kernel.sh). A daemon killed with SIGKILL leaves its IPVS table in the
// kernel; restarted on the same file it must adopt the entries, not delete and re-add them:
// the table afterwards equals the expected one with no duplicate, the service's connection
// counter keeps counting (a deleted and re-created service starts again from 0), and a
// client polling the VIP keeps getting answers across the kill and the restart.
//
//   client ns hcrc 192.168.110.2 ── 192.168.110.1 director (root ns, VIP 192.168.110.10)
//   hcrrs1 ns     10.0.11.2       ── 10.0.11.1
//   hcrrs2 ns     10.0.12.2       ── 10.0.12.1
// Real servers answer HTTP on :8080 with their name and route via the director (LVS-NAT).

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { HACHECK } from '../support/paths.js';
import { NatLab, PY, SERVER_PY, conns, ipvsadm, run, skipUnlessKernel, sleep, until, waitPort, writeTimings } from './support.js';

/** A client in the client namespace: one GET through the VIP every 100 ms, a JSON line per answer. */
const CLIENT_JS = `
const http = require('node:http');
const tick = () => {
  const t = Date.now();
  const req = http.get({ host: '192.168.110.10', port: 80, path: '/', agent: false, timeout: 3000 }, (res) => {
    let b = ''; res.on('data', (d) => (b += d));
    res.on('end', () => { console.log(JSON.stringify({ t, ok: true, who: b.trim() })); setTimeout(tick, 100); });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => { console.log(JSON.stringify({ t, ok: false, err: e.message })); setTimeout(tick, 100); });
};
tick();
`;

// Checker timing: delay_loop 1, connect_timeout 1, retry 1, delay_before_retry 1 (s).
const CHECK = 'TCP_CHECK {\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }';
/** A dead real server would be out within delay_loop + connect_timeout×(retry+1) + delay_before_retry×retry. */
const DETECT_BOUND_MS = 1000 + 1000 * 2 + 1000 * 1;
/** The VM is emulated (~30× slower process start: node takes seconds to start there). */
const VM_SLACK_MS = 30_000;

const CONFIG = `
virtual_server 192.168.110.10 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.11.2 8080 {
    ${CHECK}
  }
  real_server 10.0.12.2 8080 {
    ${CHECK}
  }
}
`;

const EXPECTED = `-A -t 192.168.110.10:80 -s rr
-a -t 192.168.110.10:80 -r 10.0.11.2:8080 -m -w 1
-a -t 192.168.110.10:80 -r 10.0.12.2:8080 -m -w 1
`;

const timings: Record<string, number> = {};

describe('kernel: hacheck SIGKILLed and restarted adopts its IPVS table', function () {
  const procs = new Set<ChildProcess>();
  let dir = '';
  let hc: ChildProcess | undefined;
  let hcOut = '';
  let client: ChildProcess | undefined;
  const answers: { t: number; ok: boolean; who?: string; err?: string }[] = [];
  let usable = false;
  const save = () => ipvsadm('-S', '-n');
  const net = new NatLab('hcr', '192.168.110', ['10.0.11', '10.0.12']);

  const startHacheck = (): ChildProcess => {
    hcOut = '';
    const c = spawn('node', [HACHECK, '-n', '-l', '-f', join(dir, 'keepalived.conf'), '-p', join(dir, 'pid'), '--status-socket', join(dir, 'status.sock')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    c.stdout!.setEncoding('utf8').on('data', (d: string) => (hcOut += d));
    c.stderr!.setEncoding('utf8').on('data', (d: string) => (hcOut += d));
    procs.add(c);
    c.once('exit', () => procs.delete(c));
    return c;
  };
  const spawnIn = (ns: string, argv: string[]): ChildProcess => {
    const c = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'ignore'] });
    procs.add(c);
    c.once('exit', () => procs.delete(c));
    return c;
  };

  before(async function () {
    skipUnlessKernel(this);
    usable = true;
    dir = mkdtempSync(join(tmpdir(), 'hc-restart-'));
    writeFileSync(join(dir, 'keepalived.conf'), CONFIG);
    net.up();
    for (const i of [1, 2]) spawnIn(net.rsNs(i), [PY, '-c', SERVER_PY, `rs${i}`, `10.0.1${i}.2`, '8080']);
    for (const ip of ['10.0.11.2', '10.0.12.2']) await waitPort(ip, 8080);
  });

  after(async function () {
    for (const c of [...procs]) {
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await Promise.race([gone, sleep(3000)]);
    }
    if (!usable) return;
    net.down();
    if (dir) rmSync(dir, { recursive: true, force: true });
    writeTimings('restart-timings.json', timings);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(`      table:\n${save()}\n      hacheck output:\n${hcOut.slice(-4000)}`);
  });

  it('the daemon builds the table and a client reaches both real servers', async () => {
    const t0 = performance.now();
    hc = startHacheck();
    await until('table', () => save() === EXPECTED, 60_000 + VM_SLACK_MS, 200);
    timings['start → table complete'] = performance.now() - t0;
    client = spawnIn(net.clientNs, ['node', '-e', CLIENT_JS]);
    let buf = '';
    client.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        try {
          answers.push(JSON.parse(buf.slice(0, i)) as (typeof answers)[number]);
        } catch {
          /* partial line */
        }
        buf = buf.slice(i + 1);
      }
    });
    await until('both real servers answer', () => new Set(answers.filter((a) => a.ok).map((a) => a.who)).size === 2, 30_000 + VM_SLACK_MS, 200);
  });

  it('SIGKILL: the table stays; restart: the table is adopted (counters keep counting), no duplicate, the client keeps its answers', async () => {
    // The estimator folds per-CPU counters every ~2 s: wait for a non-zero service count.
    await until('counters', () => (conns().get('192.168.110.10:80') ?? 0) >= 4, 30_000, 500);
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8').trim());
    const gone = new Promise((r) => hc!.once('exit', r));
    const tKill = Date.now();
    process.kill(pid, 'SIGKILL');
    await gone;
    assert.equal(save(), EXPECTED, 'SIGKILL leaves the table in the kernel');
    const before = conns();

    const tStart = Date.now();
    hc = startHacheck();
    // Ready: the status socket answers once start() (which includes the IPVS adopt pass) is done.
    await until('restarted daemon ready', () => /Starting hacheck/.test(hcOut) && (() => {
      try {
        run('node', HACHECK, 'status', '--status-socket', join(dir, 'status.sock'));
        return true;
      } catch {
        return false;
      }
    })(), 60_000 + VM_SLACK_MS, 500);
    timings['restart → daemon ready'] = Date.now() - tStart;
    // Let the checkers run a few rounds and a reconcile pass happen on the adopted table.
    await sleep(DETECT_BOUND_MS + 2000);
    const tEnd = Date.now();
    const table = save();
    assert.equal(table, EXPECTED, 'the expected table after the restart');
    const lines = table.split('\n').filter(Boolean);
    assert.equal(new Set(lines).size, lines.length, 'no duplicate entry');
    // Traffic during the restart counted on the same service: it was not re-created.
    await sleep(3000);
    const after = conns();
    for (const k of ['192.168.110.10:80', '192.168.110.10:80 10.0.11.2:8080', '192.168.110.10:80 10.0.12.2:8080']) {
      assert.ok((before.get(k) ?? 0) > 0 && (after.get(k) ?? 0) > (before.get(k) ?? 0), `${k}: ${before.get(k)} → ${after.get(k)} (a re-created entry restarts from 0)`);
    }
    assert.ok(!/Removing service|Deleting|-D -t/.test(hcOut), 'nothing removed at the restart');

    // The client across [kill, end]: the longest time without an answer.
    const during = answers.filter((a) => a.t >= tKill - 500 && a.t <= tEnd);
    const ok = during.filter((a) => a.ok).map((a) => a.t);
    const failed = during.filter((a) => !a.ok);
    let maxGap = 0;
    for (let i = 1; i < ok.length; i++) maxGap = Math.max(maxGap, ok[i]! - ok[i - 1]!);
    maxGap = Math.max(maxGap, tEnd - (ok.at(-1) ?? tKill));
    timings['client longest gap across kill+restart'] = maxGap;
    console.log(`      kill → end ${tEnd - tKill} ms: ${ok.length} answers, ${failed.length} failures (${[...new Set(failed.map((f) => f.err))].join(', ')}), longest gap ${maxGap} ms`);
    console.log(`      conns before restart ${JSON.stringify([...before])}, after ${JSON.stringify([...after])}`);
    assert.ok(ok.length > 0, 'the client got answers during the restart');
    assert.ok(maxGap < DETECT_BOUND_MS + VM_SLACK_MS, `longest gap ${maxGap} ms`);
  });

  it('control: a service deleted and re-created does restart its counter (what the adoption check relies on)', async () => {
    await sleep(3000);
    const before = conns().get('192.168.110.10:80') ?? 0;
    execFileSync('ipvsadm', ['-R'], { input: `-D -t 192.168.110.10:80\n${EXPECTED}` });
    await sleep(3000);
    const after = conns().get('192.168.110.10:80') ?? 0;
    console.log(`      re-created service: Conns ${before} → ${after}`);
    assert.ok(after < before, `${before} → ${after}`);
    assert.equal(save(), EXPECTED);
  });

  it('SIGTERM then removes what it manages', async () => {
    client?.kill('SIGKILL');
    const gone = new Promise((r) => hc!.once('exit', r));
    hc!.kill('SIGTERM');
    await Promise.race([gone, sleep(30_000)]);
    assert.equal(save(), '', 'services removed at a graceful stop');
  });
});
