// Bad input: seeded, bounded mutation fuzzing of the whole config pipeline. No exception
// may escape; every run ends in diagnostics with a location (or one of keepalived's
// whole-configuration summary lines) and a keepalived-style exit code, within a bound.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, loadConfigText } from '../../src/config/index.js';
import { fakeEnvironment } from '../../src/config/env.js';
import { CORPUS, haveShared } from '../support/paths.js';
import { mulberry32 } from '../../src/util/prng.js';

const SEED_TEXT = `global_defs {
  router_id fuzz
  enable_script_security
  script_user root
}
$BASE=10.0.0
vrrp_script chk { script "/bin/true" interval 2 weight -10 }
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  authentication { auth_type PASS auth_pass secret }
  virtual_ipaddress { \${BASE}.10/24 dev eth0 label eth0:1 }
  track_script { chk }
  @node1 unicast_src_ip 10.0.0.2
}
~SEQ(N, 1, 3) virtual_server_group G$N { 10.1.$N.1 80 }
virtual_server 10.0.0.10 80 {
  delay_loop 6
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  quorum 1
  sorry_server 10.0.0.99 80
  real_server 10.0.1.2 80 {
    weight 3
    HTTP_GET { url { path /health status_code 200-299 } connect_timeout 3 retry 2 }
  }
  real_server 10.0.1.3 80 { TCP_CHECK { connect_port 8080 } }
}
`;

const ALLOWED_WITHOUT_LOC = [/SECURITY VIOLATION/, /Non-existent interface specified/, /missing '}'/, /^\(.*\) /];
const CODES = new Set([0, 2, 4, 5, 6]);
const env = fakeEnvironment({ interfaces: ['lo', 'eth0'] });

function mutate(rand: () => number, src: string): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const at = (): number => Math.floor(rand() * (src.length + 1));
  switch (Math.floor(rand() * 12)) {
    case 0:
      return src.slice(0, at()); // truncation
    case 1: {
      const i = src.indexOf(pick(['{', '}']), at());
      return i < 0 ? src : src.slice(0, i) + src.slice(i + 1); // deleted brace
    }
    case 2: {
      const i = at();
      return src.slice(0, i) + pick(['{', '}', '{\n', '}\n}\n']) + src.slice(i); // duplicated / extra brace
    }
    case 3: {
      let b = '';
      for (let n = Math.floor(rand() * 64); n > 0; n--) b += String.fromCharCode(Math.floor(rand() * 256));
      const i = at();
      return src.slice(0, i) + b + src.slice(i); // random bytes
    }
    case 4:
      return src.replace(/\b\d+\b/g, (m) => (rand() < 0.3 ? pick(['99999999999999999999', '-1', '0', '4294967296', '1e309', '0x10', '3.1415926535']) : m)); // huge numbers
    case 5:
      return pick(['vrrp_instance X {\n', 'virtual_server 1.1.1.1 80 {\n', 'real_server 1.1.1.2 80 {\n']).repeat(1 + Math.floor(rand() * 300)) + src; // deep nesting
    case 6:
      return src.replace(/\n/g, '\r\n'); // CRLF
    case 7: {
      const lines = src.split('\n');
      const i = Math.floor(rand() * lines.length);
      lines.splice(i, 1);
      return lines.join('\n'); // deleted line
    }
    case 8: {
      const lines = src.split('\n');
      const i = Math.floor(rand() * lines.length);
      lines.splice(i, 0, lines[Math.floor(rand() * lines.length)]);
      return lines.join('\n'); // duplicated line
    }
    case 9: {
      const i = at();
      return src.slice(0, i) + pick(['"', "'", '\\', '$', '${', '@', '~SEQ(', '~LST({', '!', '#', '\0']) + src.slice(i); // special characters
    }
    case 10: {
      const words = src.split(/(\s+)/);
      const i = Math.floor(rand() * words.length);
      words[i] = pick(['include', 'includea', '$X=', '${X}', '~SEQ(A,1,1000)', 'virtual_ipaddress', 'TCP_CHECK', '}', '{', '']);
      return words.join(''); // word swapped for a keyword/construct
    }
    default:
      return src.slice(0, at()) + src.slice(at()); // cut
  }
}

function check(label: string, loaded: ReturnType<typeof loadConfigText>): void {
  const code = loaded.diags.exitCode();
  assert.ok(CODES.has(code), `${label}: exit code ${code}`);
  for (const d of loaded.diags.list) {
    if (d.severity === 'note') continue;
    if (d.loc) assert.ok(d.loc.line >= 1 && typeof d.loc.file === 'string', `${label}: bad location ${JSON.stringify(d.loc)}`);
    else assert.ok(ALLOWED_WITHOUT_LOC.some((re) => re.test(d.message)), `${label}: no location for «${d.message}»`);
  }
}

describe('fuzz: 20,000 mutated configurations through pre-processing, grammar and model', function () {
  this.timeout(240_000);
  it('never throws; each run ends with located diagnostics and a keepalived exit code', () => {
    const seeds = [SEED_TEXT];
    if (haveShared) for (const f of readdirSync(CORPUS)) if (f.startsWith('keepalived.conf')) seeds.push(readFileSync(join(CORPUS, f), 'latin1'));
    const rand = mulberry32(20261121);
    const started = Date.now();
    let slowest = 0;
    const RUNS = 20_000;
    for (let n = 0; n < RUNS; n++) {
      let text = seeds[n % seeds.length];
      for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) text = mutate(rand, text);
      const t0 = Date.now();
      let loaded;
      try {
        loaded = loadConfigText(text, { env, configId: 'node1', randomSeed: n, maxLines: 20_000 });
      } catch (e) {
        writeFileSync(join(tmpdir(), 'hacheck-fuzz-failure.conf'), text);
        throw new Error(`run ${n} threw (input saved to ${join(tmpdir(), 'hacheck-fuzz-failure.conf')}): ${(e as Error).stack}`);
      }
      const took = Date.now() - t0;
      if (took > slowest) {
        slowest = took;
        if (took > 1000) writeFileSync(join(tmpdir(), 'hacheck-fuzz-slowest.conf'), text);
      }
      check(`run ${n}`, loaded);
    }
    const total = Date.now() - started;
    console.log(`      ${RUNS} runs in ${(total / 1000).toFixed(1)} s, slowest ${slowest} ms`);
    assert.ok(slowest < 5_000, `one run took ${slowest} ms`);
  });

  it('check-only loading (`-t`) gives the same diagnostics and exit code as a full load, on 4,000 mutated configurations', () => {
    // virtual servers finished as they are read are not kept then (LoadOptions.checkOnly)
    const LVS_SEED = `global_defs {
  smtp_alert_checker
}
virtual_server 10.0.0.1 80 {
  lb_algo rr
  protocol TCP
  quorum 9
  hysteresis 20
  sorry_server 10.0.1.2 80
  real_server 10.0.1.2 {
    inhibit_on_failure
    TCP_CHECK { connect_timeout 3 }
    SMTP_CHECK { host { connect_ip 10.0.1.9 } host { connect_port 25 } }
    MISC_CHECK { misc_path "/bin/true" }
  }
  real_server 10.0.1.2 {
    smtp_alert off
  }
  real_server 10.0.1.3 8080 {
    lvs_method DR
    HTTP_GET { url { path / } connect_port 0 }
  }
}
virtual_server fwmark 7 {
  lb_kind TUN
  real_server 10.0.1.4 80 { PING_CHECK { } DNS_CHECK { } UDP_CHECK { } }
}
virtual_server group G {
  real_server 10.0.1.5 80 { TCP_CHECK { } }
}
virtual_server_group G { 10.0.2.1 80 }
virtual_server 10.0.0.2 0 {
  ops
  real_server 10.0.1.6 0 { BFD_CHECK { name b } FILE_CHECK { track_file f } }
}
`;
    const seeds = [SEED_TEXT, LVS_SEED];
    if (haveShared) for (const f of readdirSync(CORPUS)) if (f.startsWith('keepalived.conf')) seeds.push(readFileSync(join(CORPUS, f), 'latin1'));
    const rand = mulberry32(4242);
    const RUNS = 4_000;
    for (let n = 0; n < RUNS; n++) {
      let text = seeds[n % seeds.length];
      for (let k = Math.floor(rand() * 3); k > 0; k--) text = mutate(rand, text);
      const opts = { env, configId: 'node1', randomSeed: n, maxLines: 20_000 };
      const full = loadConfigText(text, opts);
      const checked = loadConfigText(text, { ...opts, checkOnly: true });
      assert.deepEqual(checked.diags.list, full.diags.list, `run ${n}`);
      assert.equal(checked.diags.exitCode(), full.diags.exitCode(), `run ${n}`);
      assert.equal(checked.config.lvs.virtualServers.length + (checked.config.lvs.checkedOnly ?? 0), full.config.lvs.virtualServers.length, `run ${n}`);
    }
  });

  describe('hostile files', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'hc-fuzz-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('a 50 MB line is refused with keepalived message, quickly', () => {
      const f = join(dir, 'long.conf');
      writeFileSync(f, `global_defs {\n router_id ${'x'.repeat(50 * 1024 * 1024)}\n}\n`);
      const t0 = Date.now();
      const l = loadConfigFile(f, { env });
      assert.ok(Date.now() - t0 < 10_000);
      assert.ok(l.diags.list.some((d) => d.message === 'line too long - ignoring' && d.loc?.line === 2));
      check('50MB', l);
    });
    it('a binary file gives diagnostics, not an exception', () => {
      const f = join(dir, 'bin.conf');
      const rand = mulberry32(7);
      const b = Buffer.alloc(256 * 1024);
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 256);
      writeFileSync(f, b);
      const l = loadConfigFile(f, { env });
      assert.ok(l.diags.list.length > 0);
      check('binary', l);
    });
    it('an include loop through a glob is cut with the chain reported', () => {
      writeFileSync(join(dir, 'loop-a.conf'), 'include loop-*.conf\n');
      writeFileSync(join(dir, 'loop-b.conf'), 'include loop-a.conf\n');
      const l = loadConfigFile(join(dir, 'loop-a.conf'), { env });
      assert.ok(l.diags.list.some((d) => d.code === 'HC_CONFIG_INCLUDE_CYCLE'));
      check('loop', l);
    });
    it('a ~SEQ that would expand without end is bounded', () => {
      const l = loadConfigText('~SEQ(A, 1, 100000000) ~SEQ(B, 1, 100000000) x $A $B\n', { env, maxLines: 100_000 });
      assert.ok(l.diags.list.some((d) => d.code === 'HC_CONFIG_TOO_MANY_LINES'));
      check('seq', l);
    });
  });
});
