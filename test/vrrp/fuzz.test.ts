import { strict as assert } from 'node:assert';
import {
  FAILURE_COUNTERS,
  decodeIpv4Packet,
  encodeAdvert,
  encodeIpv4Header,
  expectationsFor,
  internetChecksum,
  ipv4PseudoHeader,
  ipv6PseudoHeader,
  type DecodeResult,
  type RxInfo,
} from '../../src/vrrp/codec.js';
import { initialState, receiveAdvert, step, type TimerName, type VrrpState } from '../../src/vrrp/fsm.js';
import { withDefaults, type VrrpInstanceConfig } from '../../src/vrrp/types.js';
import { mulberry32 } from '../../src/util/prng.js';

const PACKETS = 100_000;
const VALID_STATES = new Set(['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP']);
const TIMERS: TimerName[] = ['masterDown', 'advert', 'preemptDelay', 'garpDelay', 'garpRefresh', 'garpLowerPrio'];

interface Profile {
  cfg: VrrpInstanceConfig;
  source: string;
  destination: string;
}

const PROFILES: Profile[] = [
  { cfg: withDefaults({ name: 'V2', vrid: 51, vips: ['192.168.200.16', '192.168.200.17'], primaryAddress: '10.0.0.1', preemptDelayMs: 1500 }),
    source: '10.0.0.2', destination: '224.0.0.18' },
  { cfg: withDefaults({ name: 'V2PASS', vrid: 52, vips: ['192.168.201.16'], authType: 'PASS', authPass: 'secret', primaryAddress: '10.0.0.1' }),
    source: '10.0.0.3', destination: '224.0.0.18' },
  { cfg: withDefaults({ name: 'V3', vrid: 53, version: 3, advertIntervalCs: 50, vips: ['192.168.202.16'], primaryAddress: '10.0.0.1', nopreempt: true }),
    source: '10.0.0.4', destination: '224.0.0.18' },
  { cfg: withDefaults({ name: 'V3U', vrid: 54, version: 3, vips: ['192.168.203.16'], primaryAddress: '10.0.0.1',
    unicastPeers: [{ address: '10.0.0.5' }], checkUnicastSrc: true }),
    source: '10.0.0.5', destination: '10.0.0.1' },
  { cfg: withDefaults({ name: 'V6', vrid: 55, family: 'inet6', vips: ['2001:db8::1', 'fe80::1:2'], primaryAddress: 'fe80::1',
    tracked: [{ kind: 'script', name: 'chk', weight: -20, reverse: false }] }),
    source: 'fe80::2', destination: 'ff02::12' },
];

function fixChecksum(buf: Buffer, p: Profile): void {
  if (buf.length < 8) return;
  const version = (buf[0] ?? 0) >> 4;
  buf.writeUInt16BE(0, 6);
  let ck: number;
  if (p.cfg.family === 'inet6') ck = internetChecksum(ipv6PseudoHeader(p.source, p.destination, buf.length), buf);
  else if (version === 3) ck = internetChecksum(ipv4PseudoHeader(p.source, p.destination, buf.length), buf);
  else ck = internetChecksum(buf);
  buf.writeUInt16BE(ck, 6);
}

describe('vrrp/fuzz', function () {
  this.timeout(20_000);

  it(`${PACKETS} random and mutated packets: no throw, state changes only on valid adverts, counters add up`, () => {
    const rnd = mulberry32(0x5eed_cafe);
    const int = (n: number): number => Math.floor(rnd() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;

    const states: VrrpState[] = PROFILES.map((p, i) => step(initialState(p.cfg), { type: 'startup' }, i).state);
    const counters: Record<string, number> = { ok: 0 };
    for (const c of FAILURE_COUNTERS) counters[c] = 0;
    let warnings = 0;
    let transitions = 0;
    const seenStates = new Set<string>();
    const count = (r: DecodeResult): void => {
      if (r.ok) {
        counters.ok = (counters.ok ?? 0) + 1;
        warnings += r.warnings.length;
      } else {
        assert.ok(FAILURE_COUNTERS.includes(r.counter), `unknown counter ${r.counter}`);
        counters[r.counter] = (counters[r.counter] ?? 0) + 1;
        assert.equal(typeof r.msg, 'string');
      }
    };

    for (let i = 0; i < PACKETS; i++) {
      const now = 1000 + i * 7;
      const pi = int(PROFILES.length);
      const p = PROFILES[pi] as Profile;
      const cfg = p.cfg;

      // Occasionally let a timer fire so that MASTER-side handling is exercised too.
      if (rnd() < 0.05) {
        const r = step(states[pi] as VrrpState, { type: 'timer', name: pick(TIMERS) }, now);
        states[pi] = r.state;
      }
      if (rnd() < 0.003) {
        const r = step(states[pi] as VrrpState, { type: 'trackChanged', kind: 'script', name: 'chk', up: rnd() < 0.5 }, now);
        states[pi] = r.state;
      }

      // A valid advert for this profile as the starting point.
      const vips = rnd() < 0.9 ? cfg.vips : cfg.vips.slice(0, int(cfg.vips.length + 1));
      const intervalCs = rnd() < 0.9 ? cfg.advertIntervalCs : (cfg.version === 2 ? 100 * (1 + int(4)) : 1 + int(4095));
      let buf = encodeAdvert(
        { version: cfg.version, vrid: rnd() < 0.97 ? cfg.vrid : int(256), priority: int(256), addresses: vips,
          advertIntervalCs: intervalCs, authType: cfg.authType },
        { family: cfg.family, source: p.source, destination: p.destination, authPass: rnd() < 0.95 ? cfg.authPass : 'wrong' },
      );
      const rx: RxInfo = {
        family: cfg.family, source: p.source, destination: p.destination, ttl: 255,
        multicast: cfg.unicastPeers.length === 0,
      };

      switch (int(9)) {
        case 0: // valid
          break;
        case 1: { // bit flips
          const flips = 1 + int(3);
          for (let f = 0; f < flips; f++) {
            const at = int(buf.length);
            buf[at] = (buf[at] ?? 0) ^ (1 << int(8));
          }
          break;
        }
        case 2: // truncation
          buf = buf.subarray(0, int(buf.length));
          break;
        case 3: // extension
          buf = Buffer.concat([buf, Buffer.from(Array.from({ length: 1 + int(24) }, () => int(256)))]);
          break;
        case 4: { // header field change, checksum repaired half the time
          buf[int(8)] = int(256);
          if (rnd() < 0.5) fixChecksum(buf, p);
          break;
        }
        case 5: // random garbage
          buf = Buffer.from(Array.from({ length: int(64) }, () => int(256)));
          break;
        case 6: // what the IP layer reports
          rx.ttl = rnd() < 0.5 ? int(256) : -1;
          if (rnd() < 0.3) rx.multicast = !rx.multicast;
          if (rnd() < 0.3) {
            rx.source = cfg.family === 'inet' ? `10.0.0.${1 + int(250)}` : `fe80::${(1 + int(250)).toString(16)}`;
            // A well-formed advert from another sender (e.g. not a configured unicast peer).
            if (rnd() < 0.5) fixChecksum(buf, { ...p, source: rx.source });
          }
          break;
        case 7: { // version/type nibble change with repaired checksum: reaches the deeper checks
          buf[0] = (int(4) << 4) | int(4);
          fixChecksum(buf, p);
          break;
        }
        case 8: { // whole IPv4 packet path, IP header mutated sometimes
          if (cfg.family !== 'inet') break;
          const ip = encodeIpv4Header({ source: p.source, destination: p.destination, payloadLength: buf.length });
          let pkt = Buffer.concat([ip, buf]);
          if (rnd() < 0.5) {
            const at = int(pkt.length);
            pkt[at] = int(256);
          }
          if (rnd() < 0.2) pkt = pkt.subarray(0, int(pkt.length));
          const before = states[pi] as VrrpState;
          const r = decodeIpv4Packet(pkt, expectationsFor(cfg));
          count(r);
          if (r.ok) states[pi] = step(before, { type: 'advertReceived', advert: r.advert, from: p.source }, now).state;
          continue;
        }
      }

      const before = states[pi] as VrrpState;
      const r = receiveAdvert(before, buf, rx, now);
      count(r.decode);
      if (!r.decode.ok) {
        assert.equal(r.state, before, 'a rejected packet must not change the state');
        assert.deepEqual(r.actions.map((a) => a.type), ['log']);
      } else if (r.state.state !== before.state) {
        transitions++;
      }
      const s = r.state;
      assert.ok(VALID_STATES.has(s.state), s.state);
      assert.ok(s.effectivePriority >= 1 && s.effectivePriority <= 255);
      if (s.state === 'MASTER') assert.equal(s.vipsSet, true);
      if (s.state !== 'MASTER') assert.equal(s.vipsSet, false);
      seenStates.add(s.state);
      states[pi] = s;
    }

    const total = Object.values(counters).reduce((a, b) => a + b, 0);
    assert.equal(total, PACKETS, JSON.stringify(counters));
    // The mutations reach every stage of the validation.
    for (const c of ['ok', 'packet_len_err', 'ip_ttl_err', 'vers_err', 'invalid_authtype', 'authtype_mismatch', 'auth_failure',
      'advert_interval_err', 'invalid_type_rcvd', 'chk_err', 'addr_list_err', 'unicast_src_err']) {
      assert.ok((counters[c] ?? 0) > 0, `no packet hit ${c}: ${JSON.stringify(counters)}`);
    }
    assert.ok(warnings > 0);
    assert.ok(transitions > 0, 'valid adverts moved some instance between states');
    assert.ok(seenStates.has('BACKUP') && seenStates.has('MASTER'), [...seenStates].join());
  });
});
