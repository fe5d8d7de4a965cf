// The checker blocks of a real_server: every keyword into the model, keepalived's
// defaults, and keepalived's messages and exit codes for their errors.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, loadConfigText } from '../../src/config/index.js';
import { fakeEnvironment, realEnvironment } from '../../src/config/env.js';
import type { Checker, DnsCheck, FileCheck, HttpCheck, MiscCheck, PingCheck, SmtpCheck, UdpCheck } from '../../src/config/model/checkers.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', '..', '..', 'test', 'fixtures', 'lvs');
const env = fakeEnvironment({ interfaces: ['lo', 'eth0'], users: { nobody: { uid: 65534, gid: 65534 } }, groups: { nogroup: 65534 } });

const strip = <T extends { loc?: unknown }>(x: T): Omit<T, 'loc'> => {
  const { loc: _loc, ...rest } = x;
  return rest;
};

function load(text: string) {
  const r = loadConfigText(text, { env, configId: 'test', file: 'k.conf' });
  const errs = r.diags.list.filter((d) => d.severity !== 'note');
  return { ...r, msgs: errs.map((d) => `${d.loc?.line}: ${d.message}`), exit: r.diags.exitCode() };
}

/** a virtual server whose real server holds `checker` (first checker line is line 6) */
const withChecker = (checker: string) => `virtual_server 10.0.0.1 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  real_server 10.0.0.2 80 {\n${checker}\n  }\n}\n`;

describe('checkers: every checker type and keyword (fixtures/lvs/checkers.conf)', () => {
  const r = loadConfigFile(join(fixtures, 'checkers.conf'), { env, configId: 'test' });
  const ck = r.config.lvs.virtualServers[0].realServers[0].checkers;
  const of = <T extends Checker>(type: T['type'], n = 0): T => ck.filter((k) => k.type === type)[n] as T;

  it('reads the file without errors', () => {
    assert.deepEqual(r.diags.list.filter((d) => d.severity === 'error').map((d) => d.message), []);
    assert.equal(r.diags.exitCode(), 0);
    assert.deepEqual(ck.map((k) => k.type), ['UDP_CHECK', 'DNS_CHECK', 'DNS_CHECK', 'PING_CHECK', 'MISC_CHECK', 'MISC_CHECK', 'SMTP_CHECK', 'SMTP_CHECK', 'FILE_CHECK', 'SSL_GET']);
  });

  it('UDP_CHECK: payload, require_reply with wildcard nibbles, reply lengths', () => {
    const u = of<UdpCheck>('UDP_CHECK');
    assert.deepEqual([u.payload, u.requireReply, u.reply, u.replyMask, u.minReplyLength, u.maxReplyLength], ['0001ab', true, '001f', '0f00', 2, 100]);
    assert.deepEqual(u.conn, { connectIp: '10.0.0.2', family: 'inet', connectPort: 53, connectTimeoutMs: 5000 });
    assert.deepEqual([u.retry, u.delayLoopMs, u.warmupMs, u.delayBeforeRetryMs], [1, 20000, 20000, 1000]);
  });

  it('DNS_CHECK: type (any case), name, connect_port; defaults SOA and "" with retry 3 and delay_before_retry = delay_loop', () => {
    const d = of<DnsCheck>('DNS_CHECK');
    assert.deepEqual([d.dnsType, d.name, d.conn.connectPort], ['AAAA', 'example.com', 5353]);
    const e = of<DnsCheck>('DNS_CHECK', 1);
    assert.deepEqual([e.dnsType, e.name, e.retry, e.delayBeforeRetryMs], ['SOA', '', 3, 20000]);
  });

  it('PING_CHECK: connect_ip', () => {
    assert.equal(of<PingCheck>('PING_CHECK').conn.connectIp, '10.0.0.3');
  });

  it('MISC_CHECK: misc_path, misc_timeout, misc_dynamic, user and the common timing keywords', () => {
    const m = of<MiscCheck>('MISC_CHECK');
    assert.deepEqual(m.script?.argv, ['/bin/true', 'arg1']);
    assert.deepEqual([m.miscPath, m.timeoutMs, m.dynamic, m.user, m.script?.uid], ['/bin/true arg1', 5000, true, 'nobody', 65534]);
    assert.deepEqual([m.retry, m.alpha, m.logAllFailures, m.warmupMs, m.delayBeforeRetryMs, m.delayLoopMs], [2, false, true, 4000, 6000, 8000]);
    const n = of<MiscCheck>('MISC_CHECK', 1);
    // retry 0 and misc_timeout = the virtual server's delay_loop (keepalived check_misc.c)
    assert.deepEqual([n.retry, n.timeoutMs, n.dynamic], [0, 20000, false]);
    assert.equal(r.config.scripts.filter((s) => s.kind === 'misc_check').length, 2);
  });

  it('SMTP_CHECK: helo_name, and one checker per host block with its own connection', () => {
    const a = of<SmtpCheck>('SMTP_CHECK');
    const b = of<SmtpCheck>('SMTP_CHECK', 1);
    assert.equal(a.heloName, 'mx.example.com');
    assert.deepEqual(a.conn, { connectIp: '10.0.0.20', family: 'inet', connectPort: 25, bindto: '10.0.0.1', connectTimeoutMs: 5000 });
    assert.deepEqual(b.conn, { connectIp: '10.0.0.21', family: 'inet', connectPort: 53, connectTimeoutMs: 5000 });
  });

  it('FILE_CHECK: track_file and weight with reverse', () => {
    assert.deepEqual(strip(of<FileCheck>('FILE_CHECK')), { type: 'FILE_CHECK', trackFile: 'TF1', weight: -10, reverse: true });
  });

  it('SSL_GET: regex keywords of a url, tls_compliant', () => {
    const h = of<HttpCheck>('SSL_GET');
    assert.equal(h.tlsCompliant, true);
    assert.deepEqual(strip(h.urls[0]), {
      path: '/a',
      statusCodes: [[200, 299]],
      regex: 'ok.*',
      regexNoMatch: true,
      regexOptions: ['caseless', 'multiline'],
      regexMinOffset: 2,
      regexMaxOffset: 100,
      regexStack: [1000, 2000],
      tlsCompliant: false,
    });
  });

  it('FILE_CHECK without weight takes the track_file weight', () => {
    const x = load(`track_file T {\n  file /tmp/x\n  weight 7 reverse\n}\n${withChecker('    FILE_CHECK {\n      track_file T\n    }')}`);
    const f = x.config.lvs.virtualServers[0].realServers[0].checkers[0] as FileCheck;
    assert.deepEqual([f.weight, f.reverse], [7, true]);
  });
});

/** Checker errors, with keepalived 2.2.7's `-t` exit code. */
const cases: { name: string; checker: string; keepaliveExit: number; msgs: string[] }[] = [
  { name: 'invalid connect_ip', checker: '    TCP_CHECK {\n      connect_ip 10.0.0.x\n    }', keepaliveExit: 5, msgs: ['7: Invalid connect_ip address 10.0.0.x - ignoring'] },
  { name: 'connect_port out of range', checker: '    TCP_CHECK {\n      connect_port 70000\n    }', keepaliveExit: 5, msgs: ["7: number '70000' outside range [1, 65535]", "7: Invalid checker connect_port '70000'"] },
  { name: 'bindto of another family', checker: '    TCP_CHECK {\n      bindto 2001:db8::1\n    }', keepaliveExit: 5, msgs: ['7: bindto address 2001:db8::1 does not match address family of connect_ip - skipping'] },
  { name: 'bind_port invalid', checker: '    TCP_CHECK {\n      bind_port x\n    }', keepaliveExit: 5, msgs: ["7: invalid number 'x'", "7: Invalid checker bind_port 'x'"] },
  { name: 'bind_if too long', checker: '    TCP_CHECK {\n      bind_if abcdefghijklmnopq\n    }', keepaliveExit: 5, msgs: ['7: Interface name abcdefghijklmnopq is too long - ignoring'] },
  { name: 'fwmark negative', checker: '    TCP_CHECK {\n      fwmark -1\n    }', keepaliveExit: 5, msgs: ["7: negative number '-1'", "7: Invalid fwmark connection value '-1'"] },
  { name: 'retry invalid', checker: '    TCP_CHECK {\n      retry many\n    }', keepaliveExit: 5, msgs: ["7: invalid number 'many'", "7: Invalid retry connection value 'many'"] },
  { name: 'delay_before_retry negative', checker: '    TCP_CHECK {\n      delay_before_retry -2\n    }', keepaliveExit: 5, msgs: ["7: negative number '-2'", "7: Invalid delay_before_retry connection value '-2'"] },
  { name: 'warmup invalid', checker: '    TCP_CHECK {\n      warmup 1x\n    }', keepaliveExit: 5, msgs: ["7: invalid number '1x'", "7: Invalid warmup connection value '1x'"] },
  { name: 'delay_loop zero', checker: '    TCP_CHECK {\n      delay_loop 0\n    }', keepaliveExit: 5, msgs: [`7: number '0' outside range [0.000001, ${Math.floor(Number.MAX_SAFE_INTEGER / 1e6)}.${String(Number.MAX_SAFE_INTEGER % 1e6).padStart(6, '0')}]`, "7: delay_loop '0' is invalid - ignoring"] },
  { name: 'alpha invalid', checker: '    TCP_CHECK {\n      alpha maybe\n    }', keepaliveExit: 5, msgs: ['7: Invalid alpha parameter maybe'] },
  { name: 'log_all_failures invalid', checker: '    PING_CHECK {\n      log_all_failures 2\n    }', keepaliveExit: 5, msgs: ['7: Invalid log_all_failures parameter 2'] },
  { name: 'unknown checker keyword', checker: '    TCP_CHECK {\n      conect_port 80\n    }', keepaliveExit: 5, msgs: ["7: Unknown keyword 'conect_port'"] },
  { name: 'connect_port without value', checker: '    TCP_CHECK {\n      connect_port\n    }', keepaliveExit: 2, msgs: ['7: *** Configuration line starting `connect_port` is missing a parameter after keyword `connect_port` at word position 2'] },
  {
    name: 'IPv6 link-local connect_ip without bind_if',
    checker: '    TCP_CHECK {\n      connect_ip fe80::1\n    }',
    keepaliveExit: 5,
    msgs: ['6: Checker link local address fe80::1 requires a bind_if'],
  },
  {
    name: 'bad digest, status codes, http_protocol, enable_sni',
    checker:
      '    HTTP_GET {\n      url {\n        path /\n        digest 12\n        status_code 99 200-100 abc 204\n      }\n      http_protocol 2.0\n      enable_sni maybe\n      fast_recovery x\n    }',
    keepaliveExit: 5,
    msgs: [
      "9: digest '12' character length should be 32 rather than 2",
      "10: Invalid HTTP_GET status code '99'",
      "10: Invalid HTTP_GET status code '200-100'",
      "10: Invalid HTTP_GET status code 'abc'",
      '12: Invalid http_protocol version 2.0',
      '13: Invalid enable_sni parameter maybe',
      '14: Invalid fast_recovery parameter x',
    ],
  },
  { name: 'DNS_CHECK name with empty label', checker: '    DNS_CHECK {\n      name a..b\n    }', keepaliveExit: 5, msgs: ["7: DNS_CHECK name 'a..b' has empty label - ignoring"] },
  { name: 'UDP_CHECK invalid payload', checker: '    UDP_CHECK {\n      payload zz\n      min_reply_length 70000\n    }', keepaliveExit: 5, msgs: ['7: Invalid hex string for UDP_CHECK payload', "8: number '70000' outside range [0, 65535]", '8: UDP_CHECK min length 70000 not valid - must be between 0 & 65535'] },
  { name: 'SMTP_CHECK helo_name missing', checker: '    SMTP_CHECK {\n      helo_name\n    }', keepaliveExit: 5, msgs: ['7: SMTP_CHECK helo name missing'] },
  { name: 'MISC_CHECK unknown user', checker: '    MISC_CHECK {\n      misc_path /nonexistent/x\n      user nosuchuser\n    }', keepaliveExit: 5, msgs: ["8: Script user 'nosuchuser' does not exist", '8: Failed to set uid/gid for misc checker script /nonexistent/x - removing'] },
  { name: 'MISC_CHECK misc_timeout invalid', checker: '    MISC_CHECK {\n      misc_path /nonexistent/x\n      misc_timeout -1\n    }', keepaliveExit: 5, msgs: ["8: negative number '-1'", "8: Invalid misc_timeout value '-1'"] },
  { name: 'FILE_CHECK without track_file', checker: '    FILE_CHECK {\n      weight 3\n    }', keepaliveExit: 5, msgs: ['6: FILE_CHECK has no track_file specified - ignoring'] },
  { name: 'FILE_CHECK bad weight option', checker: '    FILE_CHECK {\n      weight 3 sideways\n    }', keepaliveExit: 5, msgs: ['7: unknown track file weight option sideways - ignoring', '6: FILE_CHECK has no track_file specified - ignoring'] },
  { name: 'BFD_CHECK without name', checker: '    BFD_CHECK {\n      alpha\n    }', keepaliveExit: 5, msgs: ['6: ([10.0.0.2]:tcp:80) No name has been specified for BFD_CHECKER - skipping'] },
  { name: 'a checker at the wrong level', checker: '    url {\n      path /\n    }', keepaliveExit: 5, msgs: ["6: Unknown keyword 'url'"] },
];

describe('checkers: messages and exit codes (checked against keepalived 2.2.7)', () => {
  for (const k of cases) {
    it(`${k.name} → exit ${k.keepaliveExit}`, () => {
      const r = load(withChecker(k.checker));
      // misc scripts that do not exist are only logged by keepalived
      assert.deepEqual(r.msgs.filter((m) => !/cannot be accessed|since not found/.test(m)), k.msgs);
      assert.equal(r.exit, k.keepaliveExit);
    });
  }

  it('HTTP_GET without url → exit 5 (keepalived 2.2.7 reports the same message, then crashes)', () => {
    const r = load(withChecker('    HTTP_GET {\n      connect_timeout 2\n    }'));
    assert.deepEqual(r.msgs, ['6: HTTP/SSL_GET checker has no urls specified - ignoring']);
    assert.equal(r.exit, 5);
    assert.equal(r.config.lvs.virtualServers[0].realServers[0].checkers.length, 0);
  });

  it('suggests the keyword meant for a misspelt checker keyword', () => {
    const r = load(withChecker('    TCP_CHECK {\n      conect_port 80\n    }'));
    assert.ok(r.diags.list.some((d) => d.severity === 'note' && d.message === "did you mean 'connect_port'? (in TCP_CHECK)"));
  });

  const haveKeepalived = !spawnSync('keepalived', ['-v']).error;
  it(haveKeepalived ? 'keepalived -t on the same configs gives the recorded exit codes' : 'keepalived is not on PATH: the recorded exit codes stand', () => {
    if (!haveKeepalived) {
      assert.ok(cases.length > 0);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'hacheck-checkers-'));
    for (const k of cases) {
      const f = join(dir, `${k.name.replace(/\W+/g, '_')}.conf`);
      writeFileSync(f, withChecker(k.checker));
      const res = spawnSync('keepalived', ['-t', '-f', f, '-l', '-D'], { encoding: 'utf8' });
      assert.equal(res.status, k.keepaliveExit, `keepalived on ${k.name}: ${res.stderr}`);
      assert.equal(loadConfigFile(f, { env: realEnvironment() }).diags.exitCode(), k.keepaliveExit, `hacheck on ${k.name}`);
    }
  });
});
