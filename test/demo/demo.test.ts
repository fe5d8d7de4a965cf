// `npm run demo` end to end: the whole story in real namespaces, and an interrupted run, both
// leaving no hcdemo-* namespace and no process behind.

import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { canNetns, until } from '../support/netns.js';
import { ROOT } from '../support/paths.js';

const PREFIX = 'hcdemo-';
const DEMO = join(ROOT, 'dist/demo/demo.js');

function demoNamespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(PREFIX));
}

/** Processes (other than the test runner) whose command line names the demo's files. */
function demoProcesses(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes('/hcdemo-') || cmd.includes('dist/demo/demo.js')) found.push(`${pid}: ${cmd}`);
    } catch {
      /* gone */
    }
  }
  return found;
}

class Run {
  readonly child: ChildProcess;
  out = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  constructor() {
    this.child = spawn(process.execPath, [DEMO], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    this.exited = new Promise((r) => this.child.once('exit', (code, signal) => r({ code, signal })));
  }
  async exit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeoutMs)));
    try {
      return await Promise.race([this.exited, timedOut]);
    } finally {
      clearTimeout(timer); // a pending bound must not keep mocha alive after the run
    }
  }
}

describe('npm run demo', function () {
  this.timeout(300_000);
  let run: Run | undefined;

  before(function () {
    if (!canNetns) this.skip(); // needs root and ip netns
  });

  afterEach(async () => {
    // Whatever happened: no demo process, no namespace left for the next test.
    if (run && run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGTERM');
      if (!(await run.exit(15_000))) run.child.kill('SIGKILL');
    }
    run = undefined;
    for (const ns of demoNamespaces()) {
      try {
        for (const p of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean)) process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        /* gone */
      }
    }
  });

  it('runs the whole story: election, failover, real server removed and re-added; exits 0 and leaves nothing', async () => {
    run = new Run();
    const r = await run.exit(240_000);
    const out = run.out;
    assert.ok(r, `the demo did not end within 240 s:\n${out}`);
    assert.deepEqual(r, { code: 0, signal: null }, out);
    assert.match(out, /== 1\. Election/);
    assert.match(out, /ELECTION: d1 is MASTER and holds 10\.77\.0\.100/);
    assert.match(out, /client: GET http:\/\/10\.77\.0\.100:8080\/ → "director d1"/);
    assert.match(out, /FAILOVER: d2 became MASTER \d+\.\d+ s after the kill/);
    assert.match(out, /client: GET http:\/\/10\.77\.0\.100:8080\/ → "director d2"/);
    assert.match(out, /d1 MASTER again/);
    assert.match(out, /Removing service \[10\.77\.0\.22\]:tcp:80 from VS \[10\.77\.0\.100\]:tcp:80/);
    assert.match(out, /rs2 removed from the virtual server on both directors/);
    assert.match(out, /Adding service \[10\.77\.0\.22\]:tcp:80 to VS \[10\.77\.0\.100\]:tcp:80/);
    if (/THIS KERNEL HAS NO IPVS/.test(out)) {
      // Said plainly, by the demo and by hacheck, and the changes shown as ipvsadm lines.
      assert.match(out, /d1 │ Kernel has no IPVS \(.*\): IPVS changes will be logged, not applied/);
      assert.match(out, /^\s+-d -t 10\.77\.0\.100:80 -r 10\.77\.0\.22:80$/m);
      assert.match(out, /^\s+-a -t 10\.77\.0\.100:80 -r 10\.77\.0\.22:80 -g -w 1$/m);
    } else {
      assert.match(out, /ipvsadm -L -n/);
    }
    assert.match(out, /cleaned up: no hcdemo-\* namespace or process left/);
    assert.doesNotMatch(out, /DEMO FAILED|ERROR/);
    assert.deepEqual(demoNamespaces(), []);
    assert.deepEqual(demoProcesses(), []);
  });

  it('SIGINT midway stops every process and removes the namespaces', async () => {
    run = new Run();
    const r0 = run;
    const reached = await until(() => /ELECTION: d1 is MASTER/.test(r0.out) || r0.child.exitCode !== null, 180_000, 50);
    assert.ok(reached && r0.child.exitCode === null, `the demo did not reach the election:\n${r0.out}`);
    assert.ok(demoNamespaces().length >= 6, 'the lab is up');
    run.child.kill('SIGINT');
    const r = await run.exit(30_000);
    assert.ok(r, `the demo did not stop within 30 s of SIGINT:\n${run.out}`);
    assert.deepEqual(r, { code: 130, signal: null }, run.out);
    assert.match(run.out, /SIGINT: stopping every process and removing the hcdemo-\* namespaces/);
    assert.match(run.out, /cleaned up/);
    assert.deepEqual(demoNamespaces(), []);
    // The daemons were SIGKILLed with their process groups: give the kernel a moment to reap them.
    assert.ok(await until(() => demoProcesses().length === 0, 5000), demoProcesses().join('\n'));
  });
});
