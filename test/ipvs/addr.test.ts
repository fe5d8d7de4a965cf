import assert from 'node:assert/strict';

import { canonicalIp, expandRange, formatHostPort, parseHostPort, prefixToNetmask } from '../../src/ipvs/addr.js';

describe('ipvs/addr', () => {
  it('canonicalises IPv6 the way ipvsadm (glibc inet_ntop) prints it', () => {
    const cases: Array<[string, string]> = [
      ['2001:DB8:0:0::1', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
      ['::ffff:a00:1', '::ffff:10.0.0.1'],
      ['::10.0.0.1', '::10.0.0.1'],
      ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
      ['10.0.0.1', '10.0.0.1'],
    ];
    for (const [input, want] of cases) assert.equal(canonicalIp(input), want, input);
    assert.throws(() => canonicalIp('10.0.0.256'), /not an IP address/);
    assert.throws(() => canonicalIp('example.com'), /not an IP address/);
  });

  it('parses and formats host:port with IPv6 brackets', () => {
    assert.deepEqual(parseHostPort('10.0.0.1:80'), { ip: '10.0.0.1', port: 80 });
    assert.deepEqual(parseHostPort('10.0.0.1'), { ip: '10.0.0.1', port: undefined });
    assert.deepEqual(parseHostPort('[2001:DB8::1]:443'), { ip: '2001:db8::1', port: 443 });
    assert.deepEqual(parseHostPort('[2001:db8::1]'), { ip: '2001:db8::1', port: undefined });
    assert.throws(() => parseHostPort('10.0.0.1:http'), /bad port/);
    assert.throws(() => parseHostPort('10.0.0.1:70000'), /bad port/);
    assert.throws(() => parseHostPort('[2001:db8::1]80'), /bad address/);
    assert.equal(formatHostPort('2001:db8::1', 0), '[2001:db8::1]:0');
    assert.equal(formatHostPort('10.0.0.1', 80), '10.0.0.1:80');
  });

  it('expands keepalived address ranges on the last octet / 16-bit group', () => {
    assert.deepEqual(expandRange('10.0.0.254', 255), ['10.0.0.254', '10.0.0.255']);
    assert.deepEqual(expandRange('10.0.0.7', undefined), ['10.0.0.7']);
    assert.deepEqual(expandRange('2001:db8::ffff', 0xffff), ['2001:db8::ffff']);
    assert.deepEqual(expandRange('2001:db8::9', 0xb), ['2001:db8::9', '2001:db8::a', '2001:db8::b']);
    assert.throws(() => expandRange('10.0.0.5', 4), /range end 4 invalid/);
    assert.throws(() => expandRange('10.0.0.5', 256), /range end 256 invalid/);
  });

  it('converts IPv4 prefix lengths to netmasks', () => {
    assert.equal(prefixToNetmask(24), '255.255.255.0');
    assert.equal(prefixToNetmask(32), '255.255.255.255');
    assert.equal(prefixToNetmask(0), '0.0.0.0');
    assert.equal(prefixToNetmask(17), '255.255.128.0');
  });
});
