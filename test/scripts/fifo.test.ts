import { strict as assert } from 'node:assert';
import { createReadStream, existsSync, lstatSync, readFileSync, writeFileSync, type ReadStream } from 'node:fs';
import type { ScriptSpec } from '../../src/config/model/scripts.js';
import { NotifyFifo, NotifyFifos, formatVs, rsFifoLine, trio, vrrpFifoLine, vsFifoLine } from '../../src/scripts/fifo.js';
import { NotifyRunner } from '../../src/scripts/notify.js';
import { TmpDir, captureLogger, sleep } from './support.js';

describe('scripts/fifo line formats (pure)', () => {
  it('VRRP lines', () => {
    assert.equal(vrrpFifoLine('INSTANCE', 'VI_1', 'MASTER', 100), 'INSTANCE "VI_1" MASTER 100\n');
    assert.equal(vrrpFifoLine('GROUP', 'G1', 'BACKUP', 77), 'GROUP "G1" BACKUP 0\n');
    assert.equal(vrrpFifoLine('INSTANCE', 'VI_1', 'MASTER_RX_LOWER_PRI', 90), 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 90\n');
  });
  it('LVS lines and keepalived VS/RS formats', () => {
    const vs = trio('10.0.0.1', 'tcp', 80);
    assert.equal(vs, '[10.0.0.1]:tcp:80');
    assert.equal(vsFifoLine(vs, true), 'VS [10.0.0.1]:tcp:80 UP\n');
    assert.equal(rsFifoLine(trio('10.0.0.2', 'tcp', 80), vs, false), 'RS [10.0.0.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN\n');
    assert.equal(formatVs({ fwmark: 7 }), 'FWM 7');
    assert.equal(formatVs({ group: 'web', port: 0 }), '[web]:0');
    assert.equal(formatVs({ addr: '2001:db8::1', protocol: 'udp', port: 53 }), '[2001:db8::1]:udp:53');
  });
});

describe('scripts/fifo NotifyFifo on real FIFOs', function () {
  this.timeout(30000);
  let tmp: TmpDir;
  const opened: { close(): Promise<void> }[] = [];
  const readers: ReadStream[] = [];
  beforeEach(() => {
    tmp = new TmpDir();
  });
  afterEach(async () => {
    for (const r of readers.splice(0)) r.destroy();
    await Promise.all(opened.splice(0).map((f) => f.close()));
    tmp.cleanup();
  });

  function reader(path: string): { text: () => string } {
    let buf = '';
    const rs = createReadStream(path, { encoding: 'utf8' });
    rs.on('data', (d) => (buf += d));
    rs.on('error', () => undefined);
    readers.push(rs);
    return { text: () => buf };
  }
  async function waitFor(pred: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await sleep(10);
    }
  }

  it('creates the FIFO (mode 0644) and removes it at close', async () => {
    const p = tmp.path('fifo');
    const f = await NotifyFifo.open({ path: p });
    assert.ok(f);
    const st = lstatSync(p);
    assert.ok(st.isFIFO());
    assert.equal(st.mode & 0o777, 0o644);
    await f.close();
    assert.equal(existsSync(p), false);
  });

  it('a reader gets the exact lines, VRRP and LVS, global and per subsystem', async () => {
    const fifos = await NotifyFifos.open({ notifyFifo: { path: tmp.path('all') }, vrrpNotifyFifo: { path: tmp.path('vrrp') }, lvsNotifyFifo: { path: tmp.path('lvs') } });
    opened.push(fifos);
    const all = reader(tmp.path('all'));
    const vr = reader(tmp.path('vrrp'));
    const lv = reader(tmp.path('lvs'));
    await sleep(50);
    fifos.instance('VI_1', 'MASTER', 100);
    fifos.group('G1', 'BACKUP');
    fifos.virtualServer('[10.0.0.1]:tcp:80', true);
    fifos.realServer('[10.0.0.2]:tcp:80', '[10.0.0.1]:tcp:80', false);
    const allExpected = 'INSTANCE "VI_1" MASTER 100\nGROUP "G1" BACKUP 0\nVS [10.0.0.1]:tcp:80 UP\nRS [10.0.0.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN\n';
    await waitFor(() => all.text() === allExpected && vr.text().length > 0 && lv.text().length > 0);
    await waitFor(() => vr.text() === 'INSTANCE "VI_1" MASTER 100\nGROUP "G1" BACKUP 0\n');
    await waitFor(() => lv.text() === 'VS [10.0.0.1]:tcp:80 UP\nRS [10.0.0.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN\n');
    assert.equal(fifos.global!.written, 4);
    assert.equal(fifos.global!.dropped, 0);
  });

  it('NotifyRunner writes the FIFO line for each event', async () => {
    const fifos = await NotifyFifos.open({ vrrpNotifyFifo: { path: tmp.path('vrrp') } });
    opened.push(fifos);
    const r = reader(tmp.path('vrrp'));
    const runner = new NotifyRunner({ fifos });
    await runner.instance('VI_1', {}, 'DELETED', 120);
    await runner.instance('VI_2', {}, 'DELETED', 120, true);
    await runner.masterRxLowerPri('VI_1', {}, 120);
    runner.priorityChange('VI_1', false, 90);
    await waitFor(() => r.text().split('\n').length >= 5);
    assert.equal(r.text(), 'INSTANCE "VI_1" FAULT 120\nINSTANCE "VI_2" DELETED 120\nINSTANCE "VI_1" MASTER_RX_LOWER_PRI 120\nINSTANCE "VI_1" BACKUP_PRIORITY 90\n');
  });

  it('with no reader, writes never block: lines are dropped and counted, the event loop keeps ticking', async () => {
    const f = await NotifyFifo.open({ path: tmp.path('fifo') });
    assert.ok(f);
    opened.push(f);
    let ticks = 0;
    const iv = setInterval(() => ticks++, 5);
    try {
      const line = vrrpFifoLine('INSTANCE', 'VI_1', 'MASTER', 100);
      // far more than a pipe holds (64 KiB default): the writes must start failing with EAGAIN
      let maxWriteMs = 0;
      for (let round = 0; round < 20; round++) {
        const t0 = performance.now();
        for (let i = 0; i < 1000; i++) f.write(line);
        maxWriteMs = Math.max(maxWriteMs, performance.now() - t0);
        await sleep(10);
      }
      assert.ok(f.dropped > 0, 'some lines were dropped');
      assert.equal(f.written + f.dropped, 20000);
      assert.ok(f.written * line.length <= 1024 * 1024, 'no more than a pipe buffer was accepted');
      assert.ok(ticks >= 10, `event loop kept running (${ticks} ticks)`);
      assert.ok(maxWriteMs < 2000, `1000 writes took ${maxWriteMs} ms`);
    } finally {
      clearInterval(iv);
    }
  });

  it('opens an existing FIFO without removing it at close', async () => {
    const p = tmp.path('fifo');
    const a = await NotifyFifo.open({ path: p });
    assert.ok(a);
    assert.equal(a.created, true);
    const b = await NotifyFifo.open({ path: p });
    assert.ok(b);
    assert.equal(b.created, false);
    await b.close();
    assert.ok(existsSync(p));
    await a.close();
  });

  it('refuses a path that is not a FIFO', async () => {
    const p = tmp.path('plain');
    writeFileSync(p, '');
    const cap = captureLogger();
    const f = await NotifyFifo.open({ path: p, type: 'vrrp_', logger: cap.logger });
    assert.equal(f, undefined);
    assert.ok(cap.msgs().includes(`vrrp_notify fifo ${p} is not a fifo we own - not using`));
    assert.equal(readFileSync(p, 'utf8'), '');
  });

  it('a missing directory: logged, no FIFO', async () => {
    const cap = captureLogger();
    const p = tmp.path('no/such/fifo');
    const f = await NotifyFifo.open({ path: p, type: 'lvs_', logger: cap.logger });
    assert.equal(f, undefined);
    assert.ok(cap.msgs().includes(`Unable to create lvs_notify fifo ${p}`));
  });

  it('starts the fifo script with the FIFO path as last argument; it reads the lines', async () => {
    const out = tmp.path('got');
    const sh = tmp.script('reader.sh', `echo "$1 $2" > ${out}.args\nwhile read -r line; do echo "$line" >> ${out}; done < "$2"`);
    const script: ScriptSpec = { kind: 'notify_fifo', argv: [sh, 'first'], raw: sh, loc: { file: 't', line: 1, col: 1 }, owner: 'vrrp_notify_fifo_script' };
    const cap = captureLogger();
    const f = await NotifyFifo.open({ path: tmp.path('fifo'), type: 'vrrp_', script, logger: cap.logger });
    assert.ok(f);
    opened.push(f);
    f.write('INSTANCE "VI_1" BACKUP 100\n');
    await waitFor(() => existsSync(out) && readFileSync(out, 'utf8') === 'INSTANCE "VI_1" BACKUP 100\n');
    assert.equal(readFileSync(`${out}.args`, 'utf8'), `first ${tmp.path('fifo')}\n`);
    await f.close();
    assert.ok(cap.msgs().includes('vrrp notify fifo script terminated'));
  });
});
