import { strict as assert } from 'node:assert';
import {
  GARP_FRAME_LEN,
  NA_FRAME_LEN,
  formatMac,
  gratuitousArpFrame,
  parseMac,
  unsolicitedNaFrame,
} from '../../src/vrrp/garp.js';
import { internetChecksum } from '../../src/vrrp/codec.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const MAC = '02:00:5e:00:01:0a';

describe('vrrp/garp: gratuitous ARP frame', () => {
  it('is keepalived’s 42-byte broadcast ARP request with sender = target = VIP', () => {
    const f = gratuitousArpFrame({ srcMac: MAC, ip: '192.168.1.254' });
    assert.equal(f.length, GARP_FRAME_LEN);
    assert.deepEqual(
      f,
      hex(`
        ffffffffffff 02005e00010a 0806
        0001 0800 06 04 0001
        02005e00010a c0a801fe
        ffffffffffff c0a801fe`),
    );
  });

  it('accepts the MAC as bytes or with dashes, in any case', () => {
    const a = gratuitousArpFrame({ srcMac: MAC, ip: '10.0.0.1' });
    assert.deepEqual(gratuitousArpFrame({ srcMac: hex('02005e00010a'), ip: '10.0.0.1' }), a);
    assert.deepEqual(gratuitousArpFrame({ srcMac: '02-00-5E-00-01-0A', ip: '10.0.0.1' }), a);
  });

  it('refuses a bad MAC or a non-IPv4 address with a clear TypeError', () => {
    assert.throws(() => gratuitousArpFrame({ srcMac: '02:00:5e:00:01', ip: '10.0.0.1' }), /invalid MAC address/);
    assert.throws(() => gratuitousArpFrame({ srcMac: hex('0200'), ip: '10.0.0.1' }), /MAC address must be 6 bytes/);
    assert.throws(() => gratuitousArpFrame({ srcMac: MAC, ip: '2001:db8::1' }), /invalid IPv4 address/);
    assert.throws(() => gratuitousArpFrame({ srcMac: MAC, ip: '10.0.0.256' }), /invalid IPv4 address/);
  });
});

describe('vrrp/garp: unsolicited neighbour advertisement frame', () => {
  // Checksums cross-checked with tcpdump -vv ("[icmp6 sum ok]").
  const expected = (srcIp: string, flags: string, cksum: string): Buffer =>
    hex(`
      333300000001 02005e00010a 86dd
      60000000 0020 3a ff
      ${srcIp}
      ff020000000000000000000000000001
      88 00 ${cksum} ${flags}000000
      20010db8000000000000000000000001
      02 01 02005e00010a`);

  it('is keepalived’s 86-byte NA: VIP source, ff02::1, hop limit 255, Override, target link-layer option', () => {
    const f = unsolicitedNaFrame({ srcMac: MAC, ip6: '2001:db8::1' });
    assert.equal(f.length, NA_FRAME_LEN);
    assert.deepEqual(f, expected('20010db8000000000000000000000001', '20', '9a21'));
  });

  it('sets the Router flag when asked (interface forwards IPv6)', () => {
    const f = unsolicitedNaFrame({ srcMac: MAC, ip6: '2001:db8::1', router: true });
    assert.deepEqual(f, expected('20010db8000000000000000000000001', 'a0', '1a21'));
  });

  it('takes another IPv6 source when given (checksum follows the pseudo-header)', () => {
    const f = unsolicitedNaFrame({ srcMac: MAC, ip6: '2001:db8::1', srcIp6: 'fe80::1' });
    assert.deepEqual(f, expected('fe800000000000000000000000000001', '20', 'c959'));
  });

  it('has a checksum that verifies over the pseudo-header for arbitrary addresses', () => {
    for (const ip6 of ['fd00::50', 'fe80::1ff:fe23:4567:890a', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '::ffff:10.0.0.1']) {
      const f = unsolicitedNaFrame({ srcMac: 'ff:ff:ff:ff:ff:fe', ip6 });
      const pseudo = Buffer.concat([f.subarray(22, 54), hex('00000020 000000 3a')]);
      assert.equal(internetChecksum(pseudo, f.subarray(54)), 0, ip6);
    }
  });

  it('refuses a bad address or MAC', () => {
    assert.throws(() => unsolicitedNaFrame({ srcMac: MAC, ip6: '10.0.0.1' }), /invalid IPv6 address/);
    assert.throws(() => unsolicitedNaFrame({ srcMac: MAC, ip6: '2001:db8::1', srcIp6: 'x' }), /invalid IPv6 address/);
    assert.throws(() => unsolicitedNaFrame({ srcMac: 'zz:00:5e:00:01:0a', ip6: '2001:db8::1' }), /invalid MAC address/);
  });
});

describe('vrrp/garp: MAC text', () => {
  it('round-trips', () => {
    assert.equal(formatMac(parseMac('0A:0b:0C:0d:0E:ff')), '0a:0b:0c:0d:0e:ff');
  });
});
