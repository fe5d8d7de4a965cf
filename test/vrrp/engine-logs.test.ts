// The engine's failover log (issue 5.3) and its wire order at a transition, driven through a
// fake VrrpSystem under sinon fake timers: the unit under test is the engine's own logic (the
// real sockets and netlink are covered by test/vrrp/namespace.test.ts).
import { strict as assert } from 'node:assert';
import { pino } from 'pino';
import sinon from 'sinon';
import { loadConfigText } from '../../src/config/index.js';
import { encodeAdvert, encodeIpv4Header } from '../../src/vrrp/codec.js';
import { DeadlineTimer, VrrpEngine } from '../../src/vrrp/engine.js';
import type { AddressOwner, LinkState, RxPacket, VrrpSystem } from '../../src/vrrp/io.js';

const PEER = '10.0.0.1';
const US = '10.0.0.2';

function config(extra = '') {
  const { config: cfg, diags } = loadConfigText(`
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  version 3
  ${extra}
  virtual_ipaddress {
    10.0.0.50/24
  }
}
`);
  assert.deepEqual(diags.list.filter((d) => d.severity === 'error'), []);
  return cfg;
}

type Op = { t: number; op: 'advert' | 'addVips' | 'removeVips' | 'garp'; priority?: number };

/** A VrrpSystem that records what the engine asks for; VIP changes complete when the test says. */
class FakeSystem implements VrrpSystem {
  readonly ops: Op[] = [];
  /** priorities of the adverts the engine built and did not send (its warm-up) */
  readonly prepared: number[] = [];
  onPacket?: (p: RxPacket) => void;
  linkCb?: (s: LinkState) => void;
  private readonly vipDone: (() => void)[] = [];
  constructor(private readonly clock: sinon.SinonFakeTimers) {}

  async openTransport(_o: unknown, onPacket: (p: RxPacket) => void) {
    this.onPacket = onPacket;
    return {
      send: (payload: Buffer) => {
        this.ops.push({ t: this.clock.now, op: 'advert', priority: payload[2] });
      },
      prepare: (payload: Buffer) => {
        this.prepared.push(payload[2]);
      },
      close: () => undefined,
    };
  }
  async primaryAddress() {
    return US;
  }
  async linkUp() {
    return true;
  }
  onLinkChange(cb: (s: LinkState) => void) {
    this.linkCb = cb;
  }
  addAddresses(_o: AddressOwner) {
    this.ops.push({ t: this.clock.now, op: 'addVips' });
    return new Promise<void>((r) => this.vipDone.push(r));
  }
  /** false during start(): the stale-VIP cleanup completes at once */
  running = false;
  removeAddresses(_o: AddressOwner) {
    if (!this.running) return Promise.resolve();
    this.ops.push({ t: this.clock.now, op: 'removeVips' });
    return new Promise<void>((r) => this.vipDone.push(r));
  }
  garp() {
    this.ops.push({ t: this.clock.now, op: 'garp' });
  }
  async close() {}
  /** complete every VIP change asked for so far */
  finishVips() {
    for (const r of this.vipDone.splice(0)) r();
  }
  advert(priority: number, from = PEER, receivedAt?: number) {
    const payload = encodeAdvert({ version: 3, vrid: 51, priority, addresses: ['10.0.0.50'], advertIntervalCs: 100 },
      { family: 'inet', source: from, destination: '224.0.0.18' });
    const header = encodeIpv4Header({ source: from, destination: '224.0.0.18', payloadLength: payload.length });
    this.onPacket!({ packet: Buffer.concat([header, payload]), family: 'inet', from, receivedAt });
  }
}

type Entry = Record<string, unknown> & { msg: string };

describe('VrrpEngine failover log and transition order', () => {
  let clock: sinon.SinonFakeTimers;
  let sys: FakeSystem;
  let engine: VrrpEngine;
  let entries: Entry[];

  async function start(extra = '', clockOpts: { performanceClock?: boolean } = {}): Promise<void> {
    entries = [];
    const log = pino({ level: 'debug' }, { write: (s: string) => entries.push(JSON.parse(s) as Entry) });
    sys = new FakeSystem(clock);
    // performanceClock: the engine's default clock, performance.now() (faked by sinon too)
    const now = clockOpts.performanceClock ? undefined : () => clock.now;
    engine = new VrrpEngine(config(extra), { system: sys, log, now, timerSlackMs: 0, toEpochMs: (t) => t });
    await engine.start();
    sys.running = true;
  }
  const transitions = () => entries.filter((e) => e.event === 'transition');
  const byMsg = (m: string) => entries.filter((e) => e.msg === m);

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(async () => {
    try {
      const stopping = engine?.stop(100);
      sys?.finishVips();
      await clock.tickAsync(200);
      await stopping;
    } finally {
      clock.restore();
    }
  });

  it('advert timeout: one entry with keepalived\'s line, reason, priorities, peer and timestamps; then the VIP follow-up', async () => {
    await start();
    const t0 = clock.now;
    assert.equal(transitions()[0].msg, '(VI_1) Entering BACKUP STATE (init)');
    assert.equal(transitions()[0].reason, 'startup');
    await clock.tickAsync(500);
    sys.advert(150);
    const heard = clock.now;
    // RFC 5798 §6.1: Master_Down_Interval = 3 × 1 s + (256 − 100) × 1 s / 256 = 3609.375 ms
    await clock.tickAsync(3609);
    assert.equal(engine.status()[0].state, 'BACKUP');
    await clock.tickAsync(1);
    assert.equal(engine.status()[0].state, 'MASTER');
    const fired = clock.now;
    assert.equal(fired - heard, 3610); // 3609.375 rounded up to the fake clock's ms

    // wire order: advert first (keepalived vrrp_state_master_tx), then the GARP burst, with the
    // (asynchronous) netlink VIP add asked for in the same instant
    const after = sys.ops.filter((o) => o.t === fired);
    assert.deepEqual(after.map((o) => o.op), ['advert', 'garp', 'garp', 'garp', 'garp', 'garp', 'addVips']);
    assert.equal(after[0].priority, 100);

    assert.equal(byMsg('(VI_1) Receive advertisement timeout').length, 1);
    const [e] = byMsg('(VI_1) Entering MASTER STATE');
    assert.ok(e, 'transition logged');
    assert.equal(e.instance, 'VI_1');
    assert.equal(e.vrid, 51);
    assert.equal(e.from, 'BACKUP');
    assert.equal(e.to, 'MASTER');
    assert.equal(e.reason, 'advert timeout');
    assert.equal(e.priority, 100);
    assert.equal(e.peer, PEER);
    assert.equal(e.peerPriority, 150);
    assert.equal(e.lastAdvert, heard);
    assert.equal(e.detection, fired);
    assert.equal(e.advertSent, fired);
    assert.equal(e.firstGarp, fired);
    assert.equal(e.vipAdded, undefined, 'the netlink add has not completed yet');
    assert.ok(t0 <= heard);

    await clock.tickAsync(3);
    sys.finishVips();
    await clock.tickAsync(0);
    const [f] = byMsg('(VI_1) setting VIPs.');
    assert.ok(f, 'follow-up entry');
    assert.equal(f.event, 'vipsAdded');
    assert.equal(f.instance, 'VI_1');
    assert.equal(f.reason, 'advert timeout');
    assert.equal(f.detection, fired);
    assert.equal(f.firstGarp, fired);
    assert.equal(f.vipAdded, fired + 3);
    assert.equal(f.sinceDetectionMs, 3);
    assert.deepEqual(f.vips, ['10.0.0.50']);
    assert.equal(engine.status()[0].lastTransitionReason, 'advert timeout');
  });

  it('priority 0 received: detection is the arrival of the priority-0 advert, takeover Skew_Time later', async () => {
    await start();
    sys.advert(150);
    await clock.tickAsync(200);
    sys.advert(0);
    const heard = clock.now;
    await clock.tickAsync(610); // Skew_Time = 609.375 ms
    const [e] = byMsg('(VI_1) Entering MASTER STATE');
    assert.ok(e);
    assert.equal(e.reason, 'priority 0 received');
    assert.equal(e.peer, PEER);
    assert.equal(e.peerPriority, 0);
    assert.equal(e.detection, heard);
    assert.equal(e.advertSent, heard + 610);
    assert.equal(byMsg('(VI_1) Backup received priority 0 advertisement').length, 1);
  });

  it('preempt: a lower-priority master is taken over, reason preempt', async () => {
    await start();
    for (let i = 0; i < 5; i++) {
      sys.advert(50);
      await clock.tickAsync(1000);
    }
    const [e] = byMsg('(VI_1) Entering MASTER STATE');
    assert.ok(e);
    assert.equal(e.reason, 'preempt');
    assert.equal(e.peerPriority, 50);
  });

  it('higher-priority advert while MASTER: BACKUP with the peer, then the VIP removal follow-up', async () => {
    await start();
    await clock.tickAsync(3610);
    sys.finishVips();
    await clock.tickAsync(10);
    sys.advert(200, '10.0.0.9');
    const heard = clock.now;
    const [e] = byMsg('(VI_1) Entering BACKUP STATE');
    assert.ok(e);
    assert.equal(e.from, 'MASTER');
    assert.equal(e.reason, 'higher-priority advert');
    assert.equal(e.peer, '10.0.0.9');
    assert.equal(e.peerPriority, 200);
    assert.equal(e.priority, 100);
    assert.equal(e.detection, heard);
    await clock.tickAsync(2);
    sys.finishVips();
    await clock.tickAsync(0);
    const [f] = byMsg('(VI_1) removing VIPs.');
    assert.ok(f);
    assert.equal(f.event, 'vipsRemoved');
    assert.equal(f.vipRemoved, heard + 2);
  });

  it('tracked interface down: FAULT, reason tracked interface down; stop by signal logs reason signal', async () => {
    await start();
    await clock.tickAsync(3610);
    sys.linkCb!({ ifname: 'eth0', up: false });
    const [e] = byMsg('(VI_1) Entering FAULT STATE');
    assert.ok(e);
    assert.equal(e.from, 'MASTER');
    assert.equal(e.reason, 'tracked interface down');
    assert.equal(e.detail, 'interface eth0');
    // the priority-0 advert of a master that leaves (RFC 3768 §6.4.3)
    assert.ok(sys.ops.some((o) => o.op === 'advert' && o.priority === 0));
    sys.linkCb!({ ifname: 'eth0', up: true });
    assert.equal(byMsg('(VI_1) Entering BACKUP STATE').at(-1)?.reason, 'tracking recovered');
    sys.finishVips();
    await engine.stop(100, 'signal');
    const [s] = byMsg('(VI_1) Entering STOP STATE');
    assert.ok(s);
    assert.equal(s.reason, 'signal');
    assert.equal(s.from, 'BACKUP');
  });

  it('start warms the takeover and shutdown sends up dry: adverts built for both priorities, none sent', async () => {
    await start();
    assert.ok(sys.prepared.includes(100), 'the takeover advert was built');
    assert.ok(sys.prepared.includes(0), 'the priority-0 advert was built');
    assert.deepEqual(sys.ops.filter((o) => o.op === 'advert' || o.op === 'garp'), [], 'a BACKUP at start sends nothing');
    sys.advert(150);
    await clock.tickAsync(1000);
    assert.equal(engine.status()[0].state, 'BACKUP');
    assert.deepEqual(sys.ops.filter((o) => o.op === 'advert'), []);
  });

  it('on the performance.now() clock the Master_Down_Timer counts from the socket\'s receipt time', async () => {
    await start('', { performanceClock: true });
    await clock.tickAsync(500);
    // the socket read the packet 7 ms before the engine got to it (e.g. a busy loop)
    const receivedAt = performance.now() - 7;
    sys.advert(150, PEER, receivedAt);
    await clock.tickAsync(3609 - 7 - 1);
    assert.equal(engine.status()[0].state, 'BACKUP');
    await clock.tickAsync(2);
    assert.equal(engine.status()[0].state, 'MASTER', 'Master_Down_Interval (3609.375 ms) after the receipt');
    assert.equal(byMsg('(VI_1) Entering MASTER STATE')[0]?.lastAdvert, receivedAt);
  });

  it('a receipt time is ignored when the engine runs on an injected clock', async () => {
    await start();
    sys.advert(150, PEER, 1); // another clock's value
    const heard = clock.now;
    await clock.tickAsync(3610);
    const [e] = byMsg('(VI_1) Entering MASTER STATE');
    assert.equal(e?.lastAdvert, heard);
  });

  it('stop by signal while MASTER: priority-0 advert time and the VIP removal are logged', async () => {
    await start();
    await clock.tickAsync(3610);
    sys.finishVips();
    await clock.tickAsync(0);
    const at = clock.now;
    const stopping = engine.stop(1000, 'signal');
    sys.finishVips();
    await stopping;
    const [s] = byMsg('(VI_1) Entering STOP STATE');
    assert.equal(s.reason, 'signal');
    assert.equal(s.advertSent, at);
    assert.equal(byMsg('(VI_1) sent 0 priority').length, 1);
    assert.equal(byMsg('(VI_1) removing VIPs.')[0]?.vipRemoved, at);
  });
});

describe('DeadlineTimer (real timers)', () => {
  it('never fires before its deadline, and cancel() stops it', async () => {
    const now = () => performance.now();
    const fired: number[] = [];
    const deadlines: number[] = [];
    await Promise.all(
      [0.3, 1.7, 5.2, 12.9].map(
        (ms) =>
          new Promise<void>((resolve) => {
            const d = now() + ms;
            deadlines.push(d);
            new DeadlineTimer(d, now, 2, (at) => {
              fired.push(at - d);
              resolve();
            });
          }),
      ),
    );
    assert.ok(fired.every((late) => late >= 0), `fired early: ${fired.join(', ')}`);
    let cancelledFired = false;
    const t = new DeadlineTimer(now() + 3, now, 2, () => (cancelledFired = true));
    t.cancel();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(cancelledFired, false);
  });
});
