import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { runScript } from '../../src/scripts/exec.js';
import { TmpDir, groupGone, sleep } from './support.js';

describe('scripts/exec runScript', function () {
  this.timeout(30000);
  let tmp: TmpDir;
  beforeEach(() => {
    tmp = new TmpDir();
  });
  afterEach(() => tmp.cleanup());

  it('exit status, output kept up to captureBytes', async () => {
    const s = tmp.script('s.sh', 'echo hello; exit 3');
    const r = await runScript({ argv: [s], captureBytes: 3 });
    assert.equal(r.code, 3);
    assert.equal(r.output, 'hel');
    assert.equal(r.timedOut, false);
  });

  it('argv words are passed as is (no shell)', async () => {
    const out = tmp.path('out');
    const s = tmp.script('s.sh', `printf '%s|' "$@" > ${out}`);
    const r = await runScript({ argv: [s, 'a b', '$HOME', "it's"] });
    assert.equal(r.code, 0);
    assert.equal(readFileSync(out, 'utf8'), "a b|$HOME|it's|");
  });

  it('a missing program is an error, not a throw', async () => {
    const r = await runScript({ argv: [tmp.path('missing')] });
    assert.equal(r.errorCode, 'ENOENT');
    assert.equal(r.code, undefined);
  });

  it('"</path" tests that the file can be opened, through /bin/sh as keepalived', async () => {
    writeFileSync(tmp.path('there'), '');
    assert.equal((await runScript({ argv: [`<${tmp.path('there')}`] })).code, 0);
    assert.notEqual((await runScript({ argv: [`<${tmp.path('absent')}`] })).code, 0);
  });

  it('timeout: SIGTERM to the group, the children too; timedOut and the group gone', async () => {
    const s = tmp.script('s.sh', 'sleep 60 &\nsleep 60');
    let pid = 0;
    let timeoutCalled = false;
    const r = await runScript({ argv: [s], timeoutMs: 150, onSpawn: (p) => (pid = p), onTimeout: () => (timeoutCalled = true) });
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGTERM');
    assert.ok(timeoutCalled);
    assert.ok(await groupGone(pid));
  });

  it('abort kills the group; the result says aborted', async () => {
    const s = tmp.script('s.sh', 'sleep 60');
    const ac = new AbortController();
    let pid = 0;
    const p = runScript({ argv: [s], signal: ac.signal, onSpawn: (x) => (pid = x) });
    await sleep(100);
    ac.abort();
    const r = await p;
    assert.equal(r.aborted, true);
    assert.ok(await groupGone(pid));
  });
});
