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
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HACHECK = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'hacheck.js');
const run = (cmd: string, ...args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const ipvsadm = (...args: string[]): string => run('ipvsadm', ...args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PY = '/usr/bin/python3';
const SERVER_PY = `
import http.server, sys
name, ip, port = sys.argv[1:4]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = (name + "\\n").encode()
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer((ip, int(port)), H).serve_forever()
`;

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

function portOpen(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port });
    const t = setTimeout(() => (s.destroy(), resolve(false)), 1000);
    s.once('connect', () => (clearTimeout(t), s.destroy(), resolve(true)));
    s.once('error', () => (clearTimeout(t), resolve(false)));
  });
}

async function until(what: string, cond: () => boolean, timeoutMs: number, stepMs = 100): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
  return performance.now() - t0;
}

/** `ipvsadm -L -n --stats`: Conns per service and per "service dest". */
function conns(): Map<string, number> {
  const out = new Map<string, number>();
  let svc = '';
  for (const line of ipvsadm('-L', '-n', '--stats').split('\n')) {
    let m = /^TCP\s+(\S+)\s+(\d+)/.exec(line);
    if (m) {
      svc = m[1]!;
      out.set(svc, Number(m[2]));
      continue;
    }
    m = /^\s+->\s+(\S+)\s+(\d+)/.exec(line);
    if (m && svc) out.set(`${svc} ${m[1]}`, Number(m[2]));
  }
  return out;
}

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
    try {
      ipvsadm('-C');
      run('ip', 'netns', 'list');
      usable = true;
    } catch (e) {
      console.log(`SKIP: no usable IPVS/netns here (${(e as Error).message.split('\n')[0]}); run scripts/test-kernel.sh`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'hc-restart-'));
    writeFileSync(join(dir, 'keepalived.conf'), CONFIG);
    run('sysctl', '-qw', 'net.ipv4.ip_forward=1');
    run('ip', 'netns', 'add', 'hcrc');
    run('ip', 'link', 'add', 'hcrc0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'hcrc');
    run('ip', 'addr', 'add', '192.168.110.1/24', 'dev', 'hcrc0');
    run('ip', 'addr', 'add', '192.168.110.10/32', 'dev', 'hcrc0');
    run('ip', 'link', 'set', 'hcrc0', 'up');
    run('ip', '-n', 'hcrc', 'addr', 'add', '192.168.110.2/24', 'dev', 'eth0');
    run('ip', '-n', 'hcrc', 'link', 'set', 'lo', 'up');
    run('ip', '-n', 'hcrc', 'link', 'set', 'eth0', 'up');
    run('ip', '-n', 'hcrc', 'route', 'add', 'default', 'via', '192.168.110.1');
    for (const i of [1, 2]) {
      const ns = `hcrrs${i}`;
      run('ip', 'netns', 'add', ns);
      run('ip', 'link', 'add', `hcrrs${i}h`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      run('ip', 'addr', 'add', `10.0.1${i}.1/24`, 'dev', `hcrrs${i}h`);
      run('ip', 'link', 'set', `hcrrs${i}h`, 'up');
      run('ip', '-n', ns, 'addr', 'add', `10.0.1${i}.2/24`, 'dev', 'eth0');
      run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
      run('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
      run('ip', '-n', ns, 'route', 'add', 'default', 'via', `10.0.1${i}.1`);
      spawnIn(ns, [PY, '-c', SERVER_PY, `rs${i}`, `10.0.1${i}.2`, '8080']);
    }
    for (const ip of ['10.0.11.2', '10.0.12.2']) {
      const t0 = performance.now();
      while (!(await portOpen(ip, 8080))) {
        if (performance.now() - t0 > 60_000) throw new Error(`${ip}:8080 did not start`);
        await sleep(200);
      }
    }
  });

  after(async function () {
    for (const c of [...procs]) {
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await Promise.race([gone, sleep(3000)]);
    }
    if (!usable) return;
    for (const ns of ['hcrc', 'hcrrs1', 'hcrrs2']) {
      try {
        run('ip', 'netns', 'del', ns);
      } catch {
        /* absent */
      }
    }
    try {
      run('ip', 'link', 'del', 'hcrc0');
    } catch {
      /* gone with its peer */
    }
    try {
      ipvsadm('-C');
    } catch {
      /* nothing to clean */
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    const out = process.env.HACHECK_KERNEL_OUT;
    if (out) writeFileSync(join(out, 'restart-timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(`      table:\n${save()}\n      hacheck output:\n${hcOut.slice(-4000)}`);
  });

  it('the daemon builds the table and a client reaches both real servers', async () => {
    const t0 = performance.now();
    hc = startHacheck();
    await until('table', () => save() === EXPECTED, 60_000 + VM_SLACK_MS, 200);
    timings['start → table complete'] = performance.now() - t0;
    client = spawnIn('hcrc', ['node', '-e', CLIENT_JS]);
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
