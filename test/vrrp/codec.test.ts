import { strict as assert } from 'node:assert';
import {
  AH_HEADER_LEN,
  IPPROTO_AH,
  computeAhIcv,
  decodeAdvert,
  decodeIpv4Header,
  decodeIpv4Packet,
  encodeAdvert,
  encodeAhHeader,
  encodeIpv4Header,
  internetChecksum,
  stripAhHeader,
  type CodecExpectations,
  type DecodeContext,
  type DecodeResult,
} from '../../src/vrrp/codec.js';
import { canonicalAddress, compareAddresses, formatAddress, parseAddress } from '../../src/vrrp/addr.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function v2ctx(over: Partial<DecodeContext> = {}): DecodeContext {
  return {
    family: 'inet', source: '10.0.0.2', destination: '224.0.0.18', ttl: 255, multicast: true,
    instanceName: 'VI_1', version: 2, authType: 'NONE', authPass: '', advertIntervalCs: 100,
    vips: ['192.168.200.16'], unicastPeers: [],
    ...over,
  };
}

function v3ctx(over: Partial<DecodeContext> = {}): DecodeContext {
  return v2ctx({ version: 3, source: '10.0.0.1', ...over });
}

function v6ctx(over: Partial<DecodeContext> = {}): DecodeContext {
  return v2ctx({
    family: 'inet6', version: 3, source: 'fe80::1', destination: 'ff02::12', vips: ['2001:db8::1'], ...over,
  });
}

function expectFail(r: DecodeResult, counter: string, reason: string, msg?: string): void {
  assert.equal(r.ok, false, `expected failure ${counter}`);
  if (r.ok) return;
  assert.equal(r.counter, counter);
  assert.equal(r.reason, reason);
  if (msg !== undefined) assert.equal(r.msg, msg);
}

function expectOk(r: DecodeResult): Extract<DecodeResult, { ok: true }> {
  if (!r.ok) assert.fail(`expected ok, got ${r.counter}: ${r.msg}`);
  return r;
}

/** Rewrite the checksum after editing a v2 packet, so that the edit is what gets tested. */
function fixV2(buf: Buffer): Buffer {
  buf.writeUInt16BE(0, 6);
  buf.writeUInt16BE(internetChecksum(buf), 6);
  return buf;
}

// Hand-computed vectors (RFC 3768 §5.1 / RFC 5798 §5.1 layouts, RFC 1071 sums).
// v2: 21 33 64 01 | 00 01 | ck | c0a8c810 | 8 zero auth bytes
//   0x2133+0x6401+0x0001+0xc0a8+0xc810 = 0x20ded → 0x0def → ~ = 0xf210
const V2_NONE = hex('21 33 64 01 00 01 f2 10 c0 a8 c8 10 00 00 00 00 00 00 00 00');
// v2 PASS "secret": 0x2101+0xc802+0x0101+0x0a00+0x0001+0x0a00+0x0002+0x7365+0x6372+0x6574
//   = 0x23a52 → 0x3a54 → ~ = 0xc5ab
const V2_PASS = hex('21 01 c8 02 01 01 c5 ab 0a 00 00 01 0a 00 00 02 73 65 63 72 65 74 00 00');
// v3/IPv4 10.0.0.1 → 224.0.0.18: pseudo 0a00+0001+e000+0012+0070+000c = 0xea8f,
//   VRRP 3133+6401+0064+c0a8+c810 = 0x21e50; total 0x308df → 0x08e2 → ~ = 0xf71d
const V3_V4 = hex('31 33 64 01 00 64 f7 1d c0 a8 c8 10');
// v3_checksum_as_v2: 0x21e50 → 0x1e52 → ~ = 0xe1ad
const V3_V4_AS_V2 = hex('31 33 64 01 00 64 e1 ad c0 a8 c8 10');
// v3/IPv6 fe80::1 → ff02::12, VIP 2001:db8::1; pseudo-header sum fe80+0001+ff02+0012+0018+0070
//   + VRRP 3101+6401+0064+2001+0db8+0001 → ~ = 0x3ec0
const V3_V6 = hex('31 01 64 01 00 64 3e c0 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01');

describe('vrrp/codec', () => {
  describe('internetChecksum', () => {
    it('matches the RFC 1071 §3 worked example', () => {
      // Words 0001 f203 f4f5 f6f7 sum to 0x2ddf0 → 0xddf2; checksum is its complement.
      assert.equal(internetChecksum(hex('0001f203f4f5f6f7')), 0x220d);
    });
    it('handles odd lengths and parts split at odd offsets', () => {
      const whole = hex('0001f203f4f5f6f7aa');
      assert.equal(internetChecksum(whole), internetChecksum(whole.subarray(0, 3), whole.subarray(3, 4), whole.subarray(4)));
      assert.equal(internetChecksum(hex('aa')), ~0xaa00 & 0xffff);
    });
  });

  describe('addresses', () => {
    it('parses and formats IPv4 and IPv6 (RFC 5952)', () => {
      assert.equal(parseAddress('192.168.200.16', 'inet').toString('hex'), 'c0a8c810');
      assert.equal(parseAddress('2001:db8::1', 'inet6').toString('hex'), '20010db8000000000000000000000001');
      assert.equal(parseAddress('::ffff:1.2.3.4', 'inet6').toString('hex'), '00000000000000000000ffff01020304');
      assert.equal(formatAddress(hex('20010db8000000010000000000000001')), '2001:db8:0:1::1');
      assert.equal(canonicalAddress('2001:DB8:0:0::1'), '2001:db8::1');
      assert.throws(() => parseAddress('300.1.1.1', 'inet'), TypeError);
    });
    it('compares addresses numerically, not as text', () => {
      assert.ok(compareAddresses('10.0.0.10', '10.0.0.9') > 0);
      assert.ok(compareAddresses('fe80::2', 'fe80::10') < 0);
      assert.equal(compareAddresses('10.0.0.1', '10.0.0.1'), 0);
    });
  });

  describe('encodeAdvert: known byte vectors', () => {
    it('VRRPv2, no authentication', () => {
      const b = encodeAdvert({ version: 2, vrid: 51, priority: 100, addresses: ['192.168.200.16'], advertIntervalCs: 100 }, { family: 'inet' });
      assert.equal(b.toString('hex'), V2_NONE.toString('hex'));
    });
    it('VRRPv2, auth_type PASS: first 8 bytes of auth_pass, zero padded', () => {
      const b = encodeAdvert(
        { version: 2, vrid: 1, priority: 200, addresses: ['10.0.0.1', '10.0.0.2'], advertIntervalCs: 100, authType: 'PASS' },
        { family: 'inet', authPass: 'secret' },
      );
      assert.equal(b.toString('hex'), V2_PASS.toString('hex'));
      const long = encodeAdvert(
        { version: 2, vrid: 1, priority: 200, addresses: [], advertIntervalCs: 100, authType: 'PASS' },
        { family: 'inet', authPass: '0123456789abc' },
      );
      assert.equal(long.subarray(8).toString(), '01234567');
    });
    it('VRRPv2 auth_type AH: type 2, zero auth data', () => {
      const b = encodeAdvert({ version: 2, vrid: 51, priority: 100, addresses: ['192.168.200.16'], advertIntervalCs: 100, authType: 'AH' }, { family: 'inet', authPass: 'x' });
      assert.equal(b[4], 2);
      assert.ok(b.subarray(12).equals(Buffer.alloc(8)));
    });
    it('VRRPv3/IPv4 with the pseudo-header checksum', () => {
      const b = encodeAdvert(
        { version: 3, vrid: 51, priority: 100, addresses: ['192.168.200.16'], advertIntervalCs: 100 },
        { family: 'inet', source: '10.0.0.1', destination: '224.0.0.18' },
      );
      assert.equal(b.toString('hex'), V3_V4.toString('hex'));
    });
    it('VRRPv3/IPv4 with v3_checksum_as_v2 (no pseudo-header)', () => {
      const b = encodeAdvert(
        { version: 3, vrid: 51, priority: 100, addresses: ['192.168.200.16'], advertIntervalCs: 100 },
        { family: 'inet', source: '10.0.0.1', destination: '224.0.0.18', v3ChecksumAsV2: true },
      );
      assert.equal(b.toString('hex'), V3_V4_AS_V2.toString('hex'));
    });
    it('VRRPv3/IPv6 with the IPv6 pseudo-header checksum', () => {
      const b = encodeAdvert(
        { version: 3, vrid: 1, priority: 100, addresses: ['2001:db8::1'], advertIntervalCs: 100 },
        { family: 'inet6', source: 'fe80::1', destination: 'ff02::12' },
      );
      assert.equal(b.toString('hex'), V3_V6.toString('hex'));
    });
    it('old unicast checksum uses the multicast group in the pseudo-header', () => {
      const b = encodeAdvert(
        { version: 3, vrid: 51, priority: 100, addresses: ['192.168.200.16'], advertIntervalCs: 100 },
        { family: 'inet', source: '10.0.0.1', destination: '10.0.0.2', oldUnicastChecksum: true },
      );
      assert.equal(b.readUInt16BE(6), 0xf71d);
      const rfc = encodeAdvert(
        { version: 3, vrid: 51, priority: 100, addresses: ['192.168.200.16'], advertIntervalCs: 100 },
        { family: 'inet', source: '10.0.0.1', destination: '10.0.0.2' },
      );
      assert.notEqual(rfc.readUInt16BE(6), 0xf71d);
    });
    it('rejects values that do not fit the wire format', () => {
      const base = { version: 2 as const, vrid: 1, priority: 100, addresses: [], advertIntervalCs: 100 };
      assert.throws(() => encodeAdvert({ ...base, advertIntervalCs: 150 }, { family: 'inet' }), RangeError);
      assert.throws(() => encodeAdvert({ ...base, priority: 256 }, { family: 'inet' }), RangeError);
      assert.throws(() => encodeAdvert({ ...base, vrid: -1 }, { family: 'inet' }), RangeError);
      assert.throws(() => encodeAdvert(base, { family: 'inet6' }), RangeError);
      assert.throws(() => encodeAdvert({ ...base, version: 3, advertIntervalCs: 4096 }, { family: 'inet', source: '1.1.1.1', destination: '224.0.0.18' }), RangeError);
      assert.throws(() => encodeAdvert({ ...base, version: 3 }, { family: 'inet' }), TypeError);
    });
  });

  describe('decodeAdvert: round trips and vectors', () => {
    it('decodes the v2 vector', () => {
      const r = expectOk(decodeAdvert(V2_NONE, v2ctx()));
      assert.deepEqual(r.advert, {
        version: 2, type: 1, vrid: 51, priority: 100, addresses: ['192.168.200.16'],
        advertIntervalCs: 100, authType: 0, checksum: 0xf210,
      });
      assert.deepEqual(r.warnings, []);
    });
    it('decodes the v2 PASS vector with the right password', () => {
      const r = expectOk(decodeAdvert(V2_PASS, v2ctx({ authType: 'PASS', authPass: 'secret', vips: ['10.0.0.1', '10.0.0.2'] })));
      assert.equal(r.advert.priority, 200);
      assert.equal(r.advert.authType, 1);
    });
    it('decodes the v3 IPv4 and IPv6 vectors', () => {
      assert.equal(expectOk(decodeAdvert(V3_V4, v3ctx())).advert.advertIntervalCs, 100);
      const r6 = expectOk(decodeAdvert(V3_V6, v6ctx()));
      assert.deepEqual(r6.advert.addresses, ['2001:db8::1']);
    });
    it('round-trips many combinations', () => {
      const cases: Array<{ version: 2 | 3; family: 'inet' | 'inet6'; vips: string[]; intervalCs: number }> = [
        { version: 2, family: 'inet', vips: [], intervalCs: 100 },
        { version: 2, family: 'inet', vips: ['10.1.1.1', '10.1.1.2', '10.1.1.3'], intervalCs: 25500 },
        { version: 3, family: 'inet', vips: ['10.1.1.1'], intervalCs: 1 },
        { version: 3, family: 'inet', vips: Array.from({ length: 20 }, (_, i) => `10.9.0.${i + 1}`), intervalCs: 4095 },
        { version: 3, family: 'inet6', vips: ['2001:db8::1', 'fe80::abcd'], intervalCs: 50 },
      ];
      for (const c of cases) {
        for (const priority of [0, 1, 100, 254, 255]) {
          const src = c.family === 'inet' ? '10.0.0.7' : 'fe80::7';
          const dst = c.family === 'inet' ? '224.0.0.18' : 'ff02::12';
          const buf = encodeAdvert(
            { version: c.version, vrid: 42, priority, addresses: c.vips, advertIntervalCs: c.intervalCs },
            { family: c.family, source: src, destination: dst },
          );
          const r = expectOk(decodeAdvert(buf, v2ctx({
            family: c.family, version: c.version, source: src, destination: dst,
            advertIntervalCs: c.intervalCs, vips: c.vips,
          })));
          assert.equal(r.advert.priority, priority);
          assert.equal(r.advert.vrid, 42);
          assert.equal(r.advert.advertIntervalCs, c.intervalCs);
          assert.deepEqual(r.advert.addresses, c.vips);
          assert.deepEqual(r.warnings, []);
        }
      }
    });
    it('accepts Ethernet padding and decodes the message without it', () => {
      // 20 (IP) + 20 (VRRP) = 40 bytes, padded to 46: 6 extra bytes.
      const padded = Buffer.concat([V2_NONE, Buffer.alloc(6)]);
      expectOk(decodeAdvert(padded, v2ctx()));
      // With one VLAN tag the frame is padded to 42 IP bytes: 2 extra.
      expectOk(decodeAdvert(Buffer.concat([V2_NONE, Buffer.alloc(2)]), v2ctx()));
    });
  });

  describe('decodeAdvert: validation in keepalived order, with counters', () => {
    it('too short for a VRRP header → packet_len_err', () => {
      expectFail(decodeAdvert(V2_NONE.subarray(0, 7), v2ctx()), 'packet_len_err', 'too_short', 'IPv4 VRRP packet too short - 27 bytes');
    });
    it('AH header present/absent against auth_type → authtype_mismatch', () => {
      const ah = { nextHeader: 112, payloadLen: 4, spi: 0, seqNumber: 1, icv: Buffer.alloc(12) };
      expectFail(decodeAdvert(V2_NONE, v2ctx({ ah })), 'authtype_mismatch', 'bad_ah_header',
        '(VI_1) Received AH header but auth type not AH from 10.0.0.2');
      expectFail(decodeAdvert(V2_NONE, v2ctx({ authType: 'AH' })), 'authtype_mismatch', 'bad_ah_header',
        '(VI_1) No AH header but auth type is AH from 10.0.0.2');
    });
    it('length not matching the address count → packet_len_err', () => {
      expectFail(decodeAdvert(V2_NONE.subarray(0, 19), v2ctx()), 'packet_len_err', 'incomplete_packet',
        '(VI_1) vrrp packet from 10.0.0.2 too short, length 39 and expect 40');
      expectFail(decodeAdvert(Buffer.concat([V2_NONE, Buffer.alloc(4)]), v2ctx()), 'packet_len_err', 'incomplete_packet',
        '(VI_1) vrrp packet from 10.0.0.2 too long, length 44 and expect 40');
      const more = fixV2(Buffer.from(V2_NONE));
      more[3] = 2;
      expectFail(decodeAdvert(fixV2(more), v2ctx()), 'packet_len_err', 'incomplete_packet');
    });
    it('TTL other than 255 → ip_ttl_err (multicast only)', () => {
      expectFail(decodeAdvert(V2_NONE, v2ctx({ ttl: 64 })), 'ip_ttl_err', 'invalid_ttl',
        '(VI_1) invalid TTL/HL from 10.0.0.2. Received 64 and expect 255');
      // Unknown TTL is not checked; unicast instances do not check 255.
      expectOk(decodeAdvert(V2_NONE, v2ctx({ ttl: -1 })));
      expectOk(decodeAdvert(V2_NONE, v2ctx({ ttl: 64, multicast: false, destination: '10.0.0.1', unicastPeers: [{ address: '10.0.0.2' }] })));
    });
    it('wrong version → vers_err', () => {
      expectFail(decodeAdvert(V2_NONE, v2ctx({ version: 3 })), 'vers_err', 'wrong_version',
        '(VI_1) wrong VRRP version from 10.0.0.2. Received 2 and expect 3');
    });
    it('unknown v2 auth type → invalid_authtype', () => {
      const b = Buffer.from(V2_NONE);
      b[4] = 7;
      expectFail(decodeAdvert(fixV2(b), v2ctx()), 'invalid_authtype', 'bad_auth', '(VI_1) Invalid auth type from 10.0.0.2: 7');
    });
    it('auth type different from ours → authtype_mismatch', () => {
      expectFail(decodeAdvert(V2_NONE, v2ctx({ authType: 'PASS', authPass: 'secret' })), 'authtype_mismatch', 'wrong_auth',
        '(VI_1) received a 0 auth from 10.0.0.2, expecting 1!');
    });
    it('wrong password → auth_failure', () => {
      expectFail(decodeAdvert(V2_PASS, v2ctx({ authType: 'PASS', authPass: 'secreT', vips: ['10.0.0.1', '10.0.0.2'] })),
        'auth_failure', 'wrong_auth_passwd', '(VI_1) received an invalid passwd from 10.0.0.2!');
      // Only 8 bytes count: a longer configured password matches its first 8 bytes.
      const b = encodeAdvert({ version: 2, vrid: 1, priority: 1, addresses: [], advertIntervalCs: 100, authType: 'PASS' }, { family: 'inet', authPass: '12345678' });
      expectOk(decodeAdvert(b, v2ctx({ authType: 'PASS', authPass: '123456789', vips: [] })));
    });
    it('v2 advert interval mismatch → advert_interval_err, dropped', () => {
      const r = decodeAdvert(V2_NONE, v2ctx({ advertIntervalCs: 200 }));
      expectFail(r, 'advert_interval_err', 'adv_intvl_mismatch',
        "(VI_1) advertisement interval mismatch with 10.0.0.2 mine=2 sec rcv'd=1 sec");
      assert.equal(!r.ok && r.drop, true);
    });
    it('v3 advert interval mismatch → accepted with a log line', () => {
      const r = expectOk(decodeAdvert(V3_V4, v3ctx({ advertIntervalCs: 200 })));
      assert.equal(r.advert.advertIntervalCs, 100);
      assert.deepEqual(r.warnings.map((w) => w.msg), ["(VI_1) advertisement interval mismatch ours = 200 centi-sec rcv'd=100 centi-sec"]);
      assert.equal(r.warnings[0]?.counter, undefined);
    });
    it('type other than ADVERTISEMENT → invalid_type_rcvd', () => {
      const b = Buffer.from(V2_NONE);
      b[0] = 0x22;
      expectFail(decodeAdvert(fixV2(b), v2ctx()), 'invalid_type_rcvd', 'not_advertisement',
        '(VI_1) Invalid packet type from 10.0.0.2. 2 and expect 1');
    });
    it('IP total length disagreeing with the data → packet_len_err', () => {
      expectFail(decodeAdvert(V2_NONE, v2ctx({ ipTotalLength: 60 })), 'packet_len_err', 'bad_length',
        '(VI_1) ip_tot_len mismatch against received length from 10.0.0.2. 60 and received 40');
      expectOk(decodeAdvert(V2_NONE, v2ctx({ ipTotalLength: 40 })));
    });
    it('bad checksum → chk_err (v2, v3/IPv4, v3/IPv6)', () => {
      const b = Buffer.from(V2_NONE);
      b[7] ^= 1;
      expectFail(decodeAdvert(b, v2ctx()), 'chk_err', 'bad_checksum', '(VI_1) Invalid VRRPv2 checksum from 10.0.0.2');
      expectFail(decodeAdvert(V3_V4, v3ctx({ source: '10.0.0.3' })), 'chk_err', 'bad_checksum', '(VI_1) Invalid VRRPv3 checksum from 10.0.0.3');
      expectFail(decodeAdvert(V3_V6, v6ctx({ source: 'fe80::2' })), 'chk_err', 'bad_checksum');
      // The kernel verified it (IPV6_CHECKSUM): not checked again.
      expectOk(decodeAdvert(V3_V6, v6ctx({ source: 'fe80::2', kernelChecksum: true })));
    });
    it('v3_checksum_as_v2 accepts both the v2-style and the RFC checksum', () => {
      expectOk(decodeAdvert(V3_V4_AS_V2, v3ctx({ v3ChecksumAsV2: true })));
      expectOk(decodeAdvert(V3_V4, v3ctx({ v3ChecksumAsV2: true })));
      expectFail(decodeAdvert(V3_V4_AS_V2, v3ctx()), 'chk_err', 'bad_checksum');
    });
    it('unicast: accepts the old checksum form once and reports it; `never` refuses it', () => {
      const uni = { destination: '10.0.0.2', multicast: false, unicastPeers: [{ address: '10.0.0.1' }] };
      const old = encodeAdvert(
        { version: 3, vrid: 51, priority: 100, addresses: ['192.168.200.16'], advertIntervalCs: 100 },
        { family: 'inet', source: '10.0.0.1', destination: '10.0.0.2', oldUnicastChecksum: true },
      );
      const r = expectOk(decodeAdvert(old, v3ctx(uni)));
      assert.equal(r.oldUnicastChecksum, true);
      assert.deepEqual(r.warnings.map((w) => w.msg), ['(VI_1) Setting unicast VRRPv3 checksum to old version']);
      expectFail(decodeAdvert(old, v3ctx({ ...uni, unicastChecksumCompat: 'never' })), 'chk_err', 'bad_checksum');
      expectOk(decodeAdvert(old, v3ctx({ ...uni, unicastChecksumCompat: 'auto' })));
      const rfc = encodeAdvert(
        { version: 3, vrid: 51, priority: 100, addresses: ['192.168.200.16'], advertIntervalCs: 100 },
        { family: 'inet', source: '10.0.0.1', destination: '10.0.0.2' },
      );
      assert.equal(expectOk(decodeAdvert(rfc, v3ctx(uni))).oldUnicastChecksum, undefined);
    });
    it('multicast advert on a unicast instance and vice versa → addr_list_err', () => {
      expectFail(decodeAdvert(V2_NONE, v2ctx({ unicastPeers: [{ address: '10.0.0.2' }] })), 'addr_list_err', 'uni_multicast_err',
        '(VI_1) Expected unicast packet but received multicast packet from 10.0.0.2');
      expectFail(decodeAdvert(V2_NONE, v2ctx({ multicast: false, destination: '10.0.0.1' })), 'addr_list_err', 'uni_multicast_err',
        '(VI_1) Expected multicast packet but received unicast packet from 10.0.0.2');
    });
    it('foreign VRID → vrid_err when the context names a VRID', () => {
      expectFail(decodeAdvert(V2_NONE, v2ctx({ vrid: 52 })), 'vrid_err', 'wrong_vrid');
      expectOk(decodeAdvert(V2_NONE, v2ctx({ vrid: 51 })));
    });
    it('VIP count or list mismatch → accepted, addr_list_err counted as a warning', () => {
      const r = expectOk(decodeAdvert(V2_NONE, v2ctx({ vips: ['192.168.200.16', '192.168.200.17'] })));
      assert.deepEqual(r.warnings.map((w) => [w.counter, w.msg]), [['addr_list_err', '(VI_1) expected 2 VIPs but received 1']]);
      const r2 = expectOk(decodeAdvert(V2_NONE, v2ctx({ vips: ['192.168.200.17'] })));
      assert.deepEqual(r2.warnings.map((w) => [w.counter, w.msg]), [['addr_list_err',
        '(VI_1) ip address associated with VRID 51 not present in advert from 10.0.0.2: 192.168.200.17']]);
      assert.deepEqual(expectOk(decodeAdvert(V2_NONE, v2ctx({ vips: ['192.168.200.17'], checkVipAddr: false }))).warnings, []);
    });
    it('unicast source not a peer → unicast_src_err; TTL outside peer range → ip_ttl_err', () => {
      const uni = { multicast: false, destination: '10.0.0.1' };
      expectFail(decodeAdvert(V2_NONE, v2ctx({ ...uni, unicastPeers: [{ address: '10.0.0.3' }], checkUnicastSrc: true })),
        'unicast_src_err', 'unknown_unicast_src', '(VI_1) unicast source address 10.0.0.2 not a unicast peer');
      // Without check_unicast_src any source is accepted.
      expectOk(decodeAdvert(V2_NONE, v2ctx({ ...uni, unicastPeers: [{ address: '10.0.0.3' }] })));
      expectFail(decodeAdvert(V2_NONE, v2ctx({ ...uni, ttl: 60, unicastPeers: [{ address: '10.0.0.2', minTtl: 250 }] })),
        'ip_ttl_err', 'ttl_not_in_range', '(VI_1) TTL/HL 60 from 10.0.0.2 not in range [250, 255]');
      expectOk(decodeAdvert(V2_NONE, v2ctx({ ...uni, ttl: 251, unicastPeers: [{ address: '10.0.0.2', minTtl: 250 }] })));
    });
    it('applies the checks in keepalived order', () => {
      // Bad TTL and bad version: TTL first.
      expectFail(decodeAdvert(V2_NONE, v2ctx({ ttl: 1, version: 3 })), 'ip_ttl_err', 'invalid_ttl');
      // Bad version and bad checksum: version first.
      const b = Buffer.from(V2_NONE);
      b[6] ^= 0xff;
      expectFail(decodeAdvert(b, v2ctx({ version: 3 })), 'vers_err', 'wrong_version');
      // Interval mismatch (v2) before type and checksum.
      const t = Buffer.from(V2_NONE);
      t[0] = 0x23;
      expectFail(decodeAdvert(t, v2ctx({ advertIntervalCs: 300 })), 'advert_interval_err', 'adv_intvl_mismatch');
      // Type before checksum.
      expectFail(decodeAdvert(t, v2ctx()), 'invalid_type_rcvd', 'not_advertisement');
    });
  });

  describe('IPv4 header and AH helpers', () => {
    it('decodeIpv4Header reads the fields and splits off the payload', () => {
      const ip = encodeIpv4Header({ source: '10.0.0.2', destination: '224.0.0.18', payloadLength: V2_NONE.length, id: 7 });
      assert.equal(internetChecksum(ip), 0, 'header checksum verifies');
      const r = decodeIpv4Header(Buffer.concat([ip, V2_NONE]));
      assert.ok(r.ok);
      if (!r.ok) return;
      assert.deepEqual(
        { ...r.header, checksum: 0 },
        { version: 4, headerLength: 20, tos: 0xc0, totalLength: 40, id: 7, flags: 0, fragmentOffset: 0, ttl: 255,
          protocol: 112, checksum: 0, source: '10.0.0.2', destination: '224.0.0.18' },
      );
      assert.ok(r.payload.equals(V2_NONE));
    });
    it('decodeIpv4Header rejects short buffers and bad IHL/version', () => {
      assert.equal(decodeIpv4Header(Buffer.alloc(19)).ok, false);
      const ip = encodeIpv4Header({ source: '10.0.0.2', destination: '224.0.0.18', payloadLength: 0 });
      ip[0] = 0x44;
      const r = decodeIpv4Header(ip);
      assert.ok(!r.ok && r.counter === 'packet_len_err');
      ip[0] = 0x65;
      assert.equal(decodeIpv4Header(ip).ok, false);
      ip[0] = 0x46; // IHL 6 = 24 bytes, but only 20 present
      assert.equal(decodeIpv4Header(ip).ok, false);
    });
    it('decodeIpv4Packet decodes a whole v2 packet, TTL and multicast from the header', () => {
      const expect: CodecExpectations = { instanceName: 'VI_1', version: 2, authType: 'NONE', authPass: '', advertIntervalCs: 100, vips: ['192.168.200.16'], unicastPeers: [] };
      const ok = Buffer.concat([encodeIpv4Header({ source: '10.0.0.2', destination: '224.0.0.18', payloadLength: 20 }), V2_NONE]);
      expectOk(decodeIpv4Packet(ok, expect));
      const ttl = Buffer.concat([encodeIpv4Header({ source: '10.0.0.2', destination: '224.0.0.18', payloadLength: 20, ttl: 3 }), V2_NONE]);
      expectFail(decodeIpv4Packet(ttl, expect), 'ip_ttl_err', 'invalid_ttl');
      const proto = Buffer.concat([encodeIpv4Header({ source: '10.0.0.2', destination: '224.0.0.18', payloadLength: 20, protocol: 17 }), V2_NONE]);
      expectFail(decodeIpv4Packet(proto, expect), 'invalid_type_rcvd', 'not_advertisement');
    });

    const ahExpect: CodecExpectations = { instanceName: 'VI_1', version: 2, authType: 'AH', authPass: 'secret', advertIntervalCs: 100, vips: ['192.168.200.16'], unicastPeers: [] };
    function ahPacket(opts: { pass?: string; seq?: number; spi?: number; nextHeader?: number } = {}): Buffer {
      const vrrp = encodeAdvert({ version: 2, vrid: 51, priority: 100, addresses: ['192.168.200.16'], advertIntervalCs: 100, authType: 'AH' }, { family: 'inet' });
      const ip = encodeIpv4Header({ source: '10.0.0.2', destination: '224.0.0.18', payloadLength: AH_HEADER_LEN + vrrp.length, protocol: IPPROTO_AH });
      const spi = opts.spi ?? parseAddress('10.0.0.2', 'inet').readUInt32BE(0);
      const ah = encodeAhHeader({ spi, seqNumber: opts.seq ?? 1 });
      if (opts.nextHeader !== undefined) ah[0] = opts.nextHeader;
      const icv = computeAhIcv(ip, ah, vrrp, opts.pass ?? 'secret', false);
      icv.copy(ah, 12);
      return Buffer.concat([ip, ah, vrrp]);
    }
    it('stripAhHeader parses RFC 2402 fields', () => {
      const p = ahPacket({ seq: 9 });
      const r = stripAhHeader(p.subarray(20));
      assert.ok(r.ok);
      if (!r.ok) return;
      assert.equal(r.ah.nextHeader, 112);
      assert.equal(r.ah.payloadLen, 4);
      assert.equal(r.ah.seqNumber, 9);
      assert.equal(r.ah.spi, 0x0a000002);
      assert.equal(r.payload.length, 20);
      const bad = Buffer.from(p.subarray(20));
      bad[1] = 3;
      assert.equal(stripAhHeader(bad).ok, false);
      assert.equal(stripAhHeader(p.subarray(20, 40)).ok, false);
    });
    it('auth_type AH: valid ICV accepted; bad key, bad SPI, replayed sequence → auth_failure', () => {
      expectOk(decodeIpv4Packet(ahPacket(), ahExpect));
      expectFail(decodeIpv4Packet(ahPacket({ pass: 'wrong' }), ahExpect), 'auth_failure', 'ah_invalid',
        '(VI_1) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !');
      expectFail(decodeIpv4Packet(ahPacket({ spi: 1 }), ahExpect), 'auth_failure', 'ah_invalid');
      expectFail(decodeIpv4Packet(ahPacket({ seq: 5 }), ahExpect, { ahLastSeq: 5 }), 'auth_failure', 'ah_invalid',
        '(VI_1) IPSEC-AH : sequence number 5 already processed. Packet dropped. Local(5)');
      expectOk(decodeIpv4Packet(ahPacket({ seq: 6 }), ahExpect, { ahLastSeq: 5 }));
      const other = decodeIpv4Packet(ahPacket({ nextHeader: 6 }), ahExpect);
      expectFail(other, 'invalid_type_rcvd', 'ah_not_vrrp');
      // An AH packet to an instance without AH.
      expectFail(decodeIpv4Packet(ahPacket(), { ...ahExpect, authType: 'NONE' }), 'authtype_mismatch', 'bad_ah_header');
    });
  });
});
