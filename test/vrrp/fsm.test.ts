import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import { evaluateTracking, initialState, step, trackKey, type VrrpAction } from '../../src/vrrp/fsm.js';
import { masterDownIntervalUs, skewTimeUs, usToTimerMs } from '../../src/vrrp/timing.js';
import { withDefaults, type VrrpInstanceInput } from '../../src/vrrp/types.js';
import { GroupHost, Lan, Router, injectAdvert, type Executed } from './driver.js';

const V2: VrrpInstanceInput = { name: 'VI_1', vrid: 51, priority: 100, vips: ['192.168.200.16'], primaryAddress: '10.0.0.1' };
const V3_100MS: VrrpInstanceInput = { ...V2, version: 3, advertIntervalCs: 10 };

function types(ex: Executed[]): string[] {
  return ex.map((e) => e.action.type);
}

function sent(r: Router | GroupHost, instance?: string): number[] {
  return r.actions({ instance, type: 'sendAdvert' }).map((e) => (e.action as Extract<VrrpAction, { type: 'sendAdvert' }>).priority);
}

describe('vrrp/fsm', () => {
  let clock: sinon.SinonFakeTimers;
  const routers: Array<Router | GroupHost> = [];
  const make = (input: VrrpInstanceInput): Router => {
    const r = new Router(input);
    routers.push(r);
    return r;
  };

  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => {
    for (const r of routers.splice(0)) r.stopTimers();
    clock.restore();
  });

  describe('timing formulas', () => {
    it('v2: Skew_Time = (256-prio)/256 s, Master_Down_Interval = 3×Advertisement_Interval + Skew_Time', () => {
      assert.equal(skewTimeUs(2, 100, 100), 609_375);
      assert.equal(masterDownIntervalUs(2, 100, 100), 3_609_375);
      assert.equal(usToTimerMs(3_609_375), 3610);
      // v2 Skew_Time does not depend on the advert interval.
      assert.equal(skewTimeUs(2, 100, 500), 609_375);
      assert.equal(masterDownIntervalUs(2, 255, 100), 3_003_906);
    });
    it('v3: Skew_Time = ((256-prio)×Master_Adver_Interval)/256 cs', () => {
      assert.equal(skewTimeUs(3, 100, 10), 60_937); // 60.9375 ms, µs resolution
      assert.equal(masterDownIntervalUs(3, 100, 10), 360_937);
      assert.equal(usToTimerMs(masterDownIntervalUs(3, 100, 10)), 361);
      assert.equal(skewTimeUs(3, 100, 100), 609_375);
    });
    it('down_timer_adverts replaces the factor 3', () => {
      assert.equal(masterDownIntervalUs(2, 100, 100, 5), 5_609_375);
      const s = initialState(withDefaults({ ...V2, downTimerAdverts: 1 }));
      const r = step(s, { type: 'startup' }, 0);
      const t = r.actions.find((a) => a.type === 'setTimer' && a.name === 'masterDown');
      assert.deepEqual(t, { type: 'setTimer', name: 'masterDown', ms: 1610, us: 1_609_375 });
    });
  });

  describe('INIT → BACKUP → MASTER', () => {
    it('v2 priority 100, advert_int 1 s: master down after 3.609375 s', () => {
      const r = make(V2);
      r.dispatch({ type: 'startup' });
      assert.equal(r.current, 'BACKUP');
      assert.deepEqual(r.logs(), ['(VI_1) Entering BACKUP STATE (init)']);
      clock.tick(3609);
      assert.equal(r.current, 'BACKUP');
      clock.tick(1);
      assert.equal(r.current, 'MASTER');
      assert.deepEqual(r.logs(), [
        '(VI_1) Entering BACKUP STATE (init)',
        '(VI_1) Receive advertisement timeout',
        '(VI_1) Entering MASTER STATE',
      ]);
      const atMaster = r.executed.filter((e) => e.t === 3610);
      // The advert goes out before the VIPs are added and the GARPs are sent.
      assert.deepEqual(types(atMaster), ['log', 'cancelTimer', 'sendAdvert', 'log', 'addVips', 'garpBurst', 'setTimer', 'runNotify', 'setTimer']);
      assert.deepEqual(atMaster.map((e) => e.action).filter((a) => a.type === 'garpBurst'), [{ type: 'garpBurst', vips: ['192.168.200.16'], count: 5 }]);
      const log = atMaster.map((e) => e.action).find((a) => a.type === 'log' && a.msg.includes('MASTER'));
      assert.deepEqual(log?.type === 'log' && log.fields, { instance: 'VI_1', vrid: 51, from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired', priority: 100 });
      assert.deepEqual(r.actions({ type: 'runNotify' }).map((e) => e.action), [{ type: 'runNotify', state: 'BACKUP' }, { type: 'runNotify', state: 'MASTER' }]);
      // Then one advert per Advertisement_Interval.
      clock.tick(5000);
      assert.deepEqual(r.actions({ type: 'sendAdvert' }).map((e) => e.t), [3610, 4610, 5610, 6610, 7610, 8610]);
      assert.deepEqual(sent(r), [100, 100, 100, 100, 100, 100]);
    });
    it('v3 priority 100, advert_int 100 ms: master down after 360.9 ms', () => {
      const r = make(V3_100MS);
      r.dispatch({ type: 'startup' });
      clock.tick(360);
      assert.equal(r.current, 'BACKUP');
      clock.tick(1);
      assert.equal(r.current, 'MASTER');
      clock.tick(1000);
      assert.equal(sent(r).length, 11);
    });
    it('priority 255 (address owner) becomes MASTER at startup', () => {
      const r = make({ ...V2, priority: 255 });
      r.dispatch({ type: 'startup' });
      assert.equal(r.current, 'MASTER');
      assert.deepEqual(r.logs(), ['(VI_1) Entering MASTER STATE']);
      assert.equal(r.executed.findIndex((e) => e.action.type === 'sendAdvert') < r.executed.findIndex((e) => e.action.type === 'addVips'), true);
      assert.deepEqual(sent(r), [255]);
    });
    it('a backup accepting adverts from a higher priority master stays BACKUP', () => {
      const lan = new Lan();
      const a = lan.attach(make({ ...V2, name: 'A', priority: 200, primaryAddress: '10.0.0.2' }));
      const b = lan.attach(make({ ...V2, name: 'B', priority: 100, primaryAddress: '10.0.0.1' }));
      a.dispatch({ type: 'startup' });
      b.dispatch({ type: 'startup' });
      clock.tick(20_000);
      assert.equal(a.current, 'MASTER');
      assert.equal(b.current, 'BACKUP');
      assert.equal(b.state.masterAddress, '10.0.0.2');
      assert.equal(b.state.masterPriority, 200);
      assert.equal(b.actions({ type: 'addVips' }).length, 0);
    });
  });

  describe('priority 0 and shutdown', () => {
    function pair(input: VrrpInstanceInput): { a: Router; b: Router } {
      const lan = new Lan();
      const a = lan.attach(make({ ...input, name: 'A', priority: 200, primaryAddress: '10.0.0.2' }));
      const b = lan.attach(make({ ...input, name: 'B', priority: 100, primaryAddress: '10.0.0.1' }));
      a.dispatch({ type: 'startup' });
      b.dispatch({ type: 'startup' });
      clock.tick(10_000);
      assert.equal(a.current, 'MASTER');
      assert.equal(b.current, 'BACKUP');
      return { a, b };
    }
    it('v2/1 s: master shutdown sends priority 0, backup takes over after Skew_Time (609.4 ms)', () => {
      const { a, b } = pair(V2);
      const t0 = Date.now();
      a.dispatch({ type: 'shutdown' });
      assert.equal(a.current, 'STOP');
      const stop = a.executed.filter((e) => e.t === t0).map((e) => e.action);
      const order = stop.map((x) => x.type).filter((x) => x === 'sendAdvert' || x === 'removeVips' || x === 'runNotify');
      assert.deepEqual(order, ['sendAdvert', 'removeVips', 'runNotify']);
      assert.deepEqual(stop.find((x) => x.type === 'sendAdvert'), { type: 'sendAdvert', priority: 0, advertIntervalCs: 100 });
      assert.deepEqual(stop.find((x) => x.type === 'runNotify'), { type: 'runNotify', state: 'STOP' });
      clock.tick(609);
      assert.equal(b.current, 'BACKUP');
      assert.ok(b.logs().includes('(B) Backup received priority 0 advertisement'));
      clock.tick(1);
      assert.equal(b.current, 'MASTER');
      assert.equal(Date.now() - t0, 610);
      // A stopped instance ignores everything.
      clock.tick(5000);
      assert.equal(a.current, 'STOP');
      assert.deepEqual(sent(a).slice(-1), [0]);
    });
    it('v3/100 ms: backup takes over 60.9 ms after priority 0', () => {
      const { a, b } = pair(V3_100MS);
      const t0 = Date.now();
      a.dispatch({ type: 'shutdown' });
      clock.tick(60);
      assert.equal(b.current, 'BACKUP');
      clock.tick(1);
      assert.equal(b.current, 'MASTER');
      assert.equal(Date.now() - t0, 61);
    });
    it('a master receiving priority 0 answers with an advert at once', () => {
      const r = make({ ...V2, priority: 255 });
      r.dispatch({ type: 'startup' });
      clock.tick(300);
      injectAdvert(r, 'VI_1', { priority: 0 }, '10.0.0.9');
      assert.deepEqual(sent(r), [255, 255]);
      assert.ok(r.logs().includes('(VI_1) Master received priority 0 message'));
      // The Adver_Timer restarts from the answer.
      clock.tick(999);
      assert.equal(sent(r).length, 2);
      clock.tick(1);
      assert.equal(sent(r).length, 3);
    });
    it('shutdown from BACKUP sends nothing and cancels the master down timer', () => {
      const r = make(V2);
      r.dispatch({ type: 'startup' });
      r.dispatch({ type: 'shutdown' });
      assert.equal(r.current, 'STOP');
      clock.tick(10_000);
      assert.equal(r.current, 'STOP');
      assert.deepEqual(sent(r), []);
      assert.ok(r.logs().includes('(VI_1) Entering STOP STATE'));
    });
  });

  describe('preemption', () => {
    it('a higher priority router preempts a lower priority master', () => {
      const lan = new Lan();
      const low = lan.attach(make({ ...V2, name: 'LOW', priority: 100, primaryAddress: '10.0.0.1' }));
      low.dispatch({ type: 'startup' });
      clock.tick(5000);
      assert.equal(low.current, 'MASTER');
      const high = lan.attach(make({ ...V2, name: 'HIGH', priority: 200, primaryAddress: '10.0.0.2' }));
      const t0 = Date.now();
      high.dispatch({ type: 'startup' });
      clock.tick(1000);
      assert.ok(high.logs().includes('(HIGH) received lower priority (100) advert from 10.0.0.1 - discarding'));
      // Master_Down_Interval for priority 200: 3 s + 56/256 s = 3218.75 ms.
      clock.tick(3218 - 1000);
      assert.equal(high.current, 'BACKUP');
      clock.tick(1);
      assert.equal(high.current, 'MASTER');
      assert.equal(Date.now() - t0, 3219);
      clock.tick(1); // wire delay: the fake clock runs 0 ms timers scheduled during a tick 1 ms later
      assert.equal(low.current, 'BACKUP');
      assert.ok(low.logs().includes('(LOW) Master received advert from 10.0.0.2 with higher priority 200, ours 100'));
      assert.ok(low.logs().includes('(LOW) Entering BACKUP STATE'));
      assert.equal(low.actions({ type: 'removeVips' }).length, 1);
      // No priority 0 advert when yielding to a higher priority master.
      assert.ok(!sent(low).includes(0));
    });
    it('nopreempt: a higher priority backup does not take over', () => {
      const lan = new Lan();
      const low = lan.attach(make({ ...V2, name: 'LOW', priority: 100, primaryAddress: '10.0.0.1' }));
      low.dispatch({ type: 'startup' });
      clock.tick(5000);
      const high = lan.attach(make({ ...V2, name: 'HIGH', priority: 200, nopreempt: true, primaryAddress: '10.0.0.2' }));
      high.dispatch({ type: 'startup' });
      clock.tick(30_000);
      assert.equal(high.current, 'BACKUP');
      assert.equal(low.current, 'MASTER');
    });
    function scriptedLowMaster(r: Router, untilMs: number): void {
      // A priority 50 master at 10.0.0.9 advertising every second from t=500 ms.
      const send = (): void => {
        if (r.current === 'BACKUP') injectAdvert(r, 'VI_1', { priority: 50 }, '10.0.0.9');
        if (Date.now() + 1000 <= untilMs) setTimeout(send, 1000);
      };
      setTimeout(send, 500);
    }
    it('without preempt_delay, lower priority adverts are discarded and the down timer runs out', () => {
      const r = make(V2);
      r.dispatch({ type: 'startup' });
      scriptedLowMaster(r, 20_000);
      clock.tick(3609);
      assert.equal(r.current, 'BACKUP');
      clock.tick(1);
      assert.equal(r.current, 'MASTER');
    });
    it('preempt_delay 2.2 s: lower priority adverts are accepted until the delay has expired', () => {
      const r = make({ ...V2, preemptDelayMs: 2200 });
      r.dispatch({ type: 'startup' });
      scriptedLowMaster(r, 20_000);
      // Adverts at 0.5, 1.5, 2.5 s are accepted (delay ends at 2.7 s); the last resets the
      // master down timer to 2.5 + 3.609375 s.
      clock.tick(6109);
      assert.equal(r.current, 'BACKUP');
      clock.tick(1);
      assert.equal(r.current, 'MASTER');
      const logs = r.logs();
      assert.ok(logs.includes('(VI_1) start preempt delay (2.200000)'));
      assert.ok(logs.includes('(VI_1) received lower priority (50) advert from 10.0.0.9 - discarding'));
      assert.equal(logs.filter((l) => l.includes('discarding')).length, 3); // 3.5, 4.5, 5.5 s
    });
    it('preempt_delay stops when a higher priority master appears', () => {
      const r = make({ ...V2, preemptDelayMs: 2000 });
      r.dispatch({ type: 'startup' });
      injectAdvert(r, 'VI_1', { priority: 50 }, '10.0.0.9');
      injectAdvert(r, 'VI_1', { priority: 150 }, '10.0.0.8');
      assert.equal(r.state.preempt, 'idle');
      assert.ok(r.logs().includes('(VI_1) stop preempt delay'));
      assert.deepEqual(r.actions({ type: 'cancelTimer' }).map((e) => e.action), [{ type: 'cancelTimer', name: 'preemptDelay' }]);
    });
  });

  describe('equal priority and dual master', () => {
    it('equal priority: the higher primary address stays MASTER (RFC 3768 §6.4.3)', () => {
      const lan = new Lan();
      const a = lan.attach(make({ ...V2, name: 'A', primaryAddress: '10.0.0.1' }));
      const b = lan.attach(make({ ...V2, name: 'B', primaryAddress: '10.0.0.10' }));
      a.dispatch({ type: 'startup' });
      b.dispatch({ type: 'startup' });
      clock.tick(3610);
      // Both timed out together and are master for an instant.
      clock.tick(10);
      assert.equal(a.current, 'BACKUP');
      assert.equal(b.current, 'MASTER');
      assert.ok(a.logs().includes('(A) Master received advert from 10.0.0.10 with same priority 100 but higher IP address than ours'));
      assert.ok(b.logs().includes('(B) Received advert from 10.0.0.1 with lower priority 100, ours 100, forcing new election'));
      clock.tick(20_000);
      assert.equal(a.current, 'BACKUP');
      assert.equal(b.current, 'MASTER');
    });
    it('dual master: lower priority adverts are answered each time, logged once per peer', () => {
      const r = make({ ...V2, priority: 150, garpLowerPrioRepeat: 2, garpLowerPrioDelayMs: 1000 });
      r.dispatch({ type: 'startup' });
      clock.tick(4000);
      assert.equal(r.current, 'MASTER');
      const before = sent(r).length;
      injectAdvert(r, 'VI_1', { priority: 90 }, '10.0.0.2');
      injectAdvert(r, 'VI_1', { priority: 90 }, '10.0.0.2');
      injectAdvert(r, 'VI_1', { priority: 80 }, '10.0.0.3');
      assert.equal(r.current, 'MASTER');
      assert.deepEqual(r.logs().filter((l) => l.includes('lower priority')), [
        '(VI_1) Received advert from 10.0.0.2 with lower priority 90, ours 150, forcing new election',
        '(VI_1) Received advert from 10.0.0.3 with lower priority 80, ours 150, forcing new election',
      ]);
      assert.equal(sent(r).length - before, 3);
      assert.equal(r.actions({ type: 'runNotify' }).filter((e) => e.action.type === 'runNotify' && e.action.state === 'MASTER_RX_LOWER_PRI').length, 3);
      const garps = r.actions({ type: 'garpBurst' }).filter((e) => e.action.type === 'garpBurst' && e.action.count === 2);
      assert.equal(garps.length, 3);
      clock.tick(1000);
      // The delayed second lower-priority GARP burst.
      assert.equal(r.actions({ type: 'garpBurst' }).filter((e) => e.action.type === 'garpBurst' && e.action.count === 2).length, 4);
    });
    it('lower_prio_no_advert: no answering advert and no "forcing new election"', () => {
      const r = make({ ...V2, priority: 150, lowerPrioNoAdvert: true });
      r.dispatch({ type: 'startup' });
      clock.tick(4000);
      const before = sent(r).length;
      injectAdvert(r, 'VI_1', { priority: 90 }, '10.0.0.2');
      assert.equal(sent(r).length, before);
      assert.ok(r.logs().includes('(VI_1) Received advert from 10.0.0.2 with lower priority 90, ours 150'));
    });
    it('higher_prio_send_advert: master advertises once more before yielding', () => {
      const r = make({ ...V2, priority: 100, higherPrioSendAdvert: true });
      r.dispatch({ type: 'startup' });
      clock.tick(4000);
      const before = sent(r).length;
      injectAdvert(r, 'VI_1', { priority: 200 }, '10.0.0.2');
      assert.equal(r.current, 'BACKUP');
      assert.deepEqual(sent(r).slice(before), [100]);
    });
    it('equal priority advert from our own address is only warned about', () => {
      const r = make({ ...V2 });
      r.dispatch({ type: 'startup' });
      clock.tick(4000);
      injectAdvert(r, 'VI_1', { priority: 100 }, '10.0.0.1');
      assert.equal(r.current, 'MASTER');
      assert.ok(r.logs().includes('(VI_1) WARNING - equal priority advert received from remote host with our IP address.'));
    });
    it('adverts for a foreign VRID are ignored and logged once per peer', () => {
      const r = make(V2);
      r.dispatch({ type: 'startup' });
      injectAdvert(r, 'VI_1', { priority: 200, vrid: 52 }, '10.0.0.7');
      injectAdvert(r, 'VI_1', { priority: 200, vrid: 52 }, '10.0.0.7');
      injectAdvert(r, 'VI_1', { priority: 200, vrid: 53 }, '10.0.0.8');
      assert.deepEqual(r.logs().filter((l) => l.startsWith('Unknown VRID')), [
        'Unknown VRID(52) received on interface(eth0) from 10.0.0.7. ignoring...',
        'Unknown VRID(53) received on interface(eth0) from 10.0.0.8. ignoring...',
      ]);
      assert.equal(r.state.masterAddress, undefined);
      clock.tick(3610);
      assert.equal(r.current, 'MASTER');
    });
    it('invalid packets do not reach the state machine', () => {
      const r = make({ ...V2, authType: 'PASS', authPass: 'secret' });
      r.dispatch({ type: 'startup' });
      const before = r.state;
      injectAdvert(r, 'VI_1', { priority: 200, authType: 'NONE' }, '10.0.0.7');
      assert.equal(r.state, before);
      assert.deepEqual(r.logs().slice(-1), ['(VI_1) received a 0 auth from 10.0.0.7, expecting 1!']);
      clock.tick(3610);
      assert.equal(r.current, 'MASTER');
    });
  });

  describe('VRRPv3 Master_Adver_Interval', () => {
    it('a backup adopts the master advert interval and recomputes Master_Down_Interval', () => {
      const r = make({ ...V2, version: 3 });
      r.dispatch({ type: 'startup' });
      injectAdvert(r, 'VI_1', { priority: 200, advertIntervalCs: 50 }, '10.0.0.2');
      assert.equal(r.state.masterAdverIntCs, 50);
      assert.ok(r.logs().includes('(VI_1) advertisement interval updated from 1000ms to 500ms by master'));
      assert.ok(r.logs().includes("(VI_1) advertisement interval mismatch ours = 100 centi-sec rcv'd=50 centi-sec"));
      // 3 × 500 ms + (156 × 50 cs)/256 = 1804.6875 ms
      clock.tick(1804);
      assert.equal(r.current, 'BACKUP');
      clock.tick(1);
      assert.equal(r.current, 'MASTER');
      // As master it advertises its own interval again.
      assert.equal(r.state.masterAdverIntCs, 100);
      assert.deepEqual(r.actions({ type: 'setTimer' }).slice(-1).map((e) => e.action), [{ type: 'setTimer', name: 'advert', ms: 1000, us: 1_000_000 }]);
    });
    it('v2 drops adverts with another interval', () => {
      const r = make(V2);
      r.dispatch({ type: 'startup' });
      clock.tick(1000);
      injectAdvert(r, 'VI_1', { priority: 200, advertIntervalCs: 200 }, '10.0.0.2');
      clock.tick(2610);
      assert.equal(r.current, 'MASTER');
    });
  });

  describe('tracking', () => {
    it('weights: effective priority = base + weights, clamped to 1..254; owner never changes', () => {
      const base = withDefaults({ ...V2, tracked: [
        { kind: 'script', name: 'chk', weight: -30, reverse: false },
        { kind: 'interface', name: 'eth1', weight: 20, reverse: false },
        { kind: 'file', name: 'f', weight: 10, reverse: false },
        { kind: 'script', name: 'rev', weight: 5, reverse: true },
      ] });
      assert.deepEqual(evaluateTracking(base, {}), { total: 100 + 20 - 5, effective: 115, faults: [] });
      const down = { [trackKey('script', 'chk')]: { up: false, value: 0 }, [trackKey('interface', 'eth1')]: { up: false, value: 0 },
        [trackKey('file', 'f')]: { up: true, value: 5 }, [trackKey('script', 'rev')]: { up: false, value: 0 } };
      assert.deepEqual(evaluateTracking(base, down), { total: 100 - 30 + 50, effective: 120, faults: [] });
      assert.equal(evaluateTracking({ ...base, priority: 250 }, {}).effective, 254);
      assert.equal(evaluateTracking({ ...base, priority: 10 }, down).effective, 30);
      assert.equal(evaluateTracking({ ...base, priority: 2 }, { ...down, [trackKey('file', 'f')]: { up: true, value: -3 } }).effective, 1);
      assert.equal(evaluateTracking({ ...base, priority: 255 }, down).effective, 255);
      // A weighted file whose contribution reaches -254 is a fault.
      assert.deepEqual(evaluateTracking(base, { [trackKey('file', 'f')]: { up: true, value: -100 } }).faults, ['file f']);
    });
    it('a priority change moves the pending master down timer by the Skew_Time change', () => {
      const r = make({ ...V2, tracked: [{ kind: 'script', name: 'chk', weight: -50, reverse: false }] });
      r.dispatch({ type: 'startup' });
      clock.tick(1000);
      r.dispatch({ type: 'trackChanged', kind: 'script', name: 'chk', up: false });
      assert.equal(r.state.effectivePriority, 50);
      assert.ok(r.logs().includes('(VI_1) Changing effective priority from 100 to 50'));
      // 3609.375 ms + (804.6875 − 609.375) ms = 3804.6875 ms
      clock.tick(2804);
      assert.equal(r.current, 'BACKUP');
      clock.tick(1);
      assert.equal(r.current, 'MASTER');
      assert.deepEqual(sent(r), [50]);
    });
    it('a master whose priority drops below the backup is preempted', () => {
      const lan = new Lan();
      const a = lan.attach(make({ ...V2, name: 'A', priority: 150, primaryAddress: '10.0.0.2',
        tracked: [{ kind: 'interface', name: 'eth1', weight: -100, reverse: false }] }));
      const b = lan.attach(make({ ...V2, name: 'B', priority: 100, primaryAddress: '10.0.0.1' }));
      a.dispatch({ type: 'startup' });
      b.dispatch({ type: 'startup' });
      clock.tick(10_000);
      assert.equal(a.current, 'MASTER');
      a.dispatch({ type: 'trackChanged', kind: 'interface', name: 'eth1', up: false });
      clock.tick(10_000);
      assert.equal(a.current, 'BACKUP');
      assert.equal(b.current, 'MASTER');
    });
    it('an unweighted tracked script failing puts a master in FAULT, recovery returns to BACKUP', () => {
      const r = make({ ...V2, tracked: [{ kind: 'script', name: 'chk', weight: 0, reverse: false }] });
      r.dispatch({ type: 'startup' });
      clock.tick(4000);
      assert.equal(r.current, 'MASTER');
      const t0 = Date.now();
      r.dispatch({ type: 'trackChanged', kind: 'script', name: 'chk', up: false });
      assert.equal(r.current, 'FAULT');
      const seq = r.executed.filter((e) => e.t === t0 && ['log', 'sendAdvert', 'removeVips', 'runNotify'].includes(e.action.type)).map((e) => e.action);
      assert.deepEqual(seq, [
        { type: 'log', msg: '(VI_1) Entering FAULT STATE', fields: { instance: 'VI_1', vrid: 51, from: 'MASTER', to: 'FAULT', reason: 'script chk' } },
        { type: 'sendAdvert', priority: 0, advertIntervalCs: 100 },
        { type: 'removeVips', vips: ['192.168.200.16'] },
        { type: 'runNotify', state: 'FAULT' },
      ]);
      const adverts = sent(r).length;
      clock.tick(10_000);
      assert.equal(r.current, 'FAULT');
      assert.equal(sent(r).length, adverts, 'no adverts in FAULT');
      injectAdvert(r, 'VI_1', { priority: 10 }, '10.0.0.5');
      assert.equal(r.current, 'FAULT');
      r.dispatch({ type: 'trackChanged', kind: 'script', name: 'chk', up: true });
      assert.equal(r.current, 'BACKUP');
      assert.equal(r.logs().slice(-1)[0], '(VI_1) Entering BACKUP STATE');
      clock.tick(3610);
      assert.equal(r.current, 'MASTER');
    });
    it('reverse unweighted tracking faults when the object is up', () => {
      const r = make({ ...V2, tracked: [{ kind: 'script', name: 'maint', weight: 0, reverse: true }] });
      r.dispatch({ type: 'startup', track: { [trackKey('script', 'maint')]: { up: false } } });
      assert.equal(r.current, 'BACKUP');
      r.dispatch({ type: 'trackChanged', kind: 'script', name: 'maint', up: true });
      assert.equal(r.current, 'FAULT');
    });
    it('unweighted track_file: non-zero value is a fault', () => {
      const r = make({ ...V2, tracked: [{ kind: 'file', name: 'state', weight: 0, reverse: false }] });
      r.dispatch({ type: 'startup', track: { [trackKey('file', 'state')]: { value: 1 } } });
      assert.equal(r.current, 'FAULT');
      assert.deepEqual(r.logs(), ['(VI_1) Entering FAULT STATE (init)']);
      r.dispatch({ type: 'trackChanged', kind: 'file', name: 'state', value: 0 });
      assert.equal(r.current, 'BACKUP');
    });
    it('the instance interface is tracked unless dont_track_primary', () => {
      const r = make(V2);
      r.dispatch({ type: 'startup' });
      r.dispatch({ type: 'trackChanged', kind: 'interface', name: 'eth0', up: false });
      assert.equal(r.current, 'FAULT');
      const d = make({ ...V2, name: 'VI_2', dontTrackPrimary: true });
      d.dispatch({ type: 'startup' });
      d.dispatch({ type: 'trackChanged', kind: 'interface', name: 'eth0', up: false });
      assert.equal(d.current, 'BACKUP');
    });
    it('an address owner leaving FAULT goes straight to MASTER', () => {
      const r = make({ ...V2, priority: 255 });
      r.dispatch({ type: 'startup', track: { [trackKey('interface', 'eth0')]: { up: false } } });
      assert.equal(r.current, 'FAULT');
      r.dispatch({ type: 'trackChanged', kind: 'interface', name: 'eth0', up: true });
      assert.equal(r.current, 'MASTER');
    });
  });

  describe('gratuitous ARP scheduling', () => {
    it('garp_master_delay 5 s, garp_master_repeat 5, garp_master_refresh', () => {
      const r = make({ ...V2, garpMasterRefreshMs: 60_000, garpMasterRefreshRepeat: 2 });
      r.dispatch({ type: 'startup' });
      clock.tick(3610 + 5000 + 60_000 + 60_000);
      const bursts = r.actions({ type: 'garpBurst' }).map((e) => [e.t, e.action.type === 'garpBurst' ? e.action.count : -1]);
      assert.deepEqual(bursts, [[3610, 5], [8610, 5], [68_610, 2], [128_610, 2]]);
    });
    it('garp_master_delay 0 sends only the first burst; leaving MASTER cancels the timers', () => {
      const r = make({ ...V2, garpMasterDelayMs: 0 });
      r.dispatch({ type: 'startup' });
      clock.tick(20_000);
      assert.equal(r.actions({ type: 'garpBurst' }).length, 1);
      const q = make({ ...V2, name: 'VI_2', garpMasterDelayMs: 1000 });
      q.dispatch({ type: 'startup' });
      clock.tick(4000);
      injectAdvert(q, 'VI_2', { priority: 200 }, '10.0.0.2');
      assert.equal(q.current, 'BACKUP');
      // The garp_master_delay burst would have been due 1 s after becoming master.
      clock.tick(3500);
      assert.equal(q.current, 'BACKUP');
      assert.equal(q.actions({ type: 'garpBurst' }).length, 1);
    });
  });

  describe('vrrp_sync_group', () => {
    const members: VrrpInstanceInput[] = [
      { ...V2, name: 'VI_1', vrid: 51, tracked: [{ kind: 'script', name: 'chk1', weight: 0, reverse: false }] },
      { ...V2, name: 'VI_2', vrid: 52, vips: ['192.168.201.16'], tracked: [{ kind: 'script', name: 'chk2', weight: 0, reverse: false }] },
    ];
    function group(): GroupHost {
      const g = new GroupHost('G1', members);
      routers.push(g);
      return g;
    }
    it('members become MASTER together, only when all want to', () => {
      const g = group();
      g.dispatch('VI_1', { type: 'startup' });
      g.dispatch('VI_2', { type: 'startup' });
      assert.equal(g.group.state, 'BACKUP');
      // A master keeps advertising for VI_2 only: VI_1 times out but may not go MASTER alone.
      const keepVi2 = (): void => {
        injectAdvert(g, 'VI_2', { priority: 200 }, '10.0.0.9');
        if (Date.now() < 9000) setTimeout(keepVi2, 1000);
      };
      keepVi2();
      clock.tick(8000);
      assert.equal(g.current('VI_1'), 'BACKUP');
      assert.equal(g.stateOf('VI_1').wantState, 'MASTER');
      assert.equal(g.current('VI_2'), 'BACKUP');
      clock.tick(6000);
      assert.equal(g.current('VI_1'), 'MASTER');
      assert.equal(g.current('VI_2'), 'MASTER');
      assert.equal(g.group.state, 'MASTER');
      assert.ok(g.logs().includes('VRRP_Group(G1) Syncing instances to MASTER state'));
      assert.deepEqual(g.actions({ instance: 'group:G1', type: 'runNotify' }).map((e) => e.action), [
        { type: 'runNotify', state: 'BACKUP', group: 'G1' }, { type: 'runNotify', state: 'MASTER', group: 'G1' },
      ]);
    });
    it('one member to FAULT → all FAULT; all recover → BACKUP together', () => {
      const g = group();
      g.dispatch('VI_1', { type: 'startup' });
      g.dispatch('VI_2', { type: 'startup' });
      clock.tick(4000);
      assert.equal(g.group.state, 'MASTER');
      g.dispatch('VI_2', { type: 'trackChanged', kind: 'script', name: 'chk2', up: false });
      assert.equal(g.current('VI_1'), 'FAULT');
      assert.equal(g.current('VI_2'), 'FAULT');
      assert.ok(g.logs().includes('VRRP_Group(G1) Syncing instances to FAULT state'));
      assert.deepEqual(sent(g, 'VI_1').slice(-1), [0]);
      // VI_1's own script fails and recovers while VI_2 is still down: VI_1 stays in FAULT.
      g.dispatch('VI_1', { type: 'trackChanged', kind: 'script', name: 'chk1', up: false });
      g.dispatch('VI_1', { type: 'trackChanged', kind: 'script', name: 'chk1', up: true });
      assert.equal(g.current('VI_1'), 'FAULT');
      clock.tick(10_000);
      assert.equal(g.current('VI_1'), 'FAULT');
      g.dispatch('VI_2', { type: 'trackChanged', kind: 'script', name: 'chk2', up: true });
      assert.equal(g.current('VI_1'), 'BACKUP');
      assert.equal(g.current('VI_2'), 'BACKUP');
      assert.ok(g.logs().includes('VRRP_Group(G1) Syncing instances to BACKUP state'));
      clock.tick(3610);
      assert.equal(g.current('VI_1'), 'MASTER');
      assert.equal(g.current('VI_2'), 'MASTER');
    });
    it('one member yielding to a higher priority master takes the others to BACKUP', () => {
      const g = group();
      g.dispatch('VI_1', { type: 'startup' });
      g.dispatch('VI_2', { type: 'startup' });
      clock.tick(4000);
      injectAdvert(g, 'VI_1', { priority: 200 }, '10.0.0.9');
      assert.equal(g.current('VI_1'), 'BACKUP');
      assert.equal(g.current('VI_2'), 'BACKUP');
      assert.equal(g.actions({ instance: 'VI_2', type: 'removeVips' }).length, 1);
    });
    it('a member failing at startup holds the whole group in FAULT', () => {
      const g = group();
      g.dispatch('VI_1', { type: 'startup', track: { [trackKey('script', 'chk1')]: { up: false } } });
      g.dispatch('VI_2', { type: 'startup' });
      assert.equal(g.current('VI_1'), 'FAULT');
      assert.equal(g.current('VI_2'), 'FAULT');
      clock.tick(10_000);
      assert.equal(g.current('VI_2'), 'FAULT');
    });
  });
});
