import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { Preprocessor, decomment, applyIncludeCheck } from '../../src/config/preprocess.js';
import { Diagnostics } from '../../src/config/diagnostics.js';
import { loadConfigFile } from '../../src/config/index.js';
import { fakeEnvironment } from '../../src/config/env.js';

function pp(text: string, opts: { configId?: string; env?: NodeJS.ProcessEnv; seed?: number } = {}) {
  const d = new Diagnostics();
  const p = new Preprocessor(d, { configId: opts.configId ?? 'main', env: opts.env, randomSeed: opts.seed ?? 1 });
  const lines = p.runText(text, 'k.conf');
  return { texts: lines.map((l) => l.text), lines, d };
}

describe('preprocess: comments and quoting (keepalived.conf(5) DESCRIPTION, Quoted strings)', () => {
  it('strips ! and # comments anywhere on a line, but not inside "…"', () => {
    const { texts } = pp('router_id a ! comment\n# whole line\n  smtp_helo_name "x # y" # tail\n');
    assert.deepEqual(texts, ['router_id a', 'smtp_helo_name "x # y"']);
  });
  it('keeps an escaped \\# and \\! outside quotes as literal characters', () => {
    assert.equal(decomment('notify "/bin/a" arg\\#1 \\!x').text, 'notify "/bin/a" arg#1 !x');
  });
  it('reports an unterminated quote with its line', () => {
    const { d } = pp('global_defs {\n router_id "abc\n}\n');
    const m = d.list.find((x) => x.message.startsWith('Unterminated quote'));
    assert.ok(m);
    assert.equal(m.loc?.line, 2);
  });
  it('handles CRLF line ends', () => {
    assert.deepEqual(pp('a 1\r\nb 2\r\n').texts, ['a 1', 'b 2']);
  });
  it('splits a line at braces outside double quotes, each brace a line of its own', () => {
    const { texts, lines } = pp('vrrp_instance VI_1 { interface eth0 }\nnotify "a{b}"\n');
    assert.deepEqual(texts, ['vrrp_instance VI_1', '{', 'interface eth0', '}', 'notify "a{b}"']);
    assert.equal(lines[1].col, 20);
    assert.equal(lines[2].col, 22);
  });
  it('ignores lines of 1024 characters or more with keepalived message, and lines with NULs', () => {
    const { texts, d } = pp(`a 1\n${'x'.repeat(2000)}\nb\0c\nd 2\n`);
    assert.deepEqual(texts, ['a 1', 'd 2']);
    assert.ok(d.list.some((x) => x.message === 'line too long - ignoring' && x.loc?.line === 2));
    assert.ok(d.list.some((x) => /embedded NULs/.test(x.message) && x.loc?.line === 3));
  });
});

describe('preprocess: conditional lines @id / @^id', () => {
  it('keeps @id lines only for the matching config-id and @^id lines only for others', () => {
    const text = '@main router_id main_router\n@backup router_id backup_router\n@^main x 1\n@^backup y 2\n';
    assert.deepEqual(pp(text, { configId: 'main' }).texts, ['router_id main_router', 'y 2']);
    assert.deepEqual(pp(text, { configId: 'backup' }).texts, ['router_id backup_router', 'x 1']);
    assert.deepEqual(pp(text, { configId: 'other' }).texts, ['x 1', 'y 2']);
  });
});

describe('preprocess: parameter substitution', () => {
  it('replaces $NAME followed by blank and ${NAME} anywhere, at use time (man page example)', () => {
    const text = '$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n${ADDRESS_BASE}.100/32\n$ADDRESS_BASE_SUB=10\n${ADDRESS_BASE}.100/32\n';
    assert.deepEqual(pp(text).texts, ['10.2.0.100/32', '10.2.10.100/32']);
  });
  it('leaves undefined parameters alone', () => {
    // `$A"` is not followed by a blank, so keepalived leaves it too
    assert.deepEqual(pp('$A=1\nscript "/bin/x ${UNDEF} ${A} $A"\n').texts, ['script "/bin/x ${UNDEF} 1 $A"']);
  });
  it('combines with conditionals (@main $PRIORITY=240)', () => {
    const text = '@main $PRIORITY=240\n@backup $PRIORITY=200\npriority $PRIORITY\n';
    assert.deepEqual(pp(text, { configId: 'main' }).texts, ['priority 240']);
    assert.deepEqual(pp(text, { configId: 'backup' }).texts, ['priority 200']);
  });
  it('a definition holding @id is re-evaluated ($IF_MAIN=@main)', () => {
    const text = '$IF_MAIN=@main\n$IF_MAIN priority 240\n';
    assert.deepEqual(pp(text, { configId: 'main' }).texts, ['priority 240']);
    assert.deepEqual(pp(text, { configId: 'x' }).texts, []);
  });
  it('expands multi-line definitions, nested, into separate lines', () => {
    const text = [
      '$RS= \\',
      'real_server 192.168.${VS}.${RN} 80 { \\',
      '  weight 1 \\',
      '}',
      '$V= \\',
      'virtual_server 10.0.${VS}.4 80 { \\',
      '  $RN=1 \\',
      '  $RS \\',
      '  $RN=2 \\',
      '  $RS \\',
      '}',
      '$VS=0',
      '$V',
    ].join('\n');
    assert.deepEqual(pp(text).texts, [
      'virtual_server 10.0.0.4 80', '{',
      'real_server 192.168.0.1 80', '{', 'weight 1', '}',
      'real_server 192.168.0.2 80', '{', 'weight 1', '}',
      '}',
    ]);
  });
  it('predefined ${_PWD}, ${_INSTANCE}, ${_ENV X}, ${_HASH}, ${_BANG}, ${_RANDOM min max}', () => {
    const { texts } = pp('a ${_INSTANCE}\nb ${_ENV HC_TEST_VAR}\nc "${_HASH}${_BANG}"\nd ${_RANDOM 5 7}\n', { configId: 'node1', env: { HC_TEST_VAR: 'v42' } });
    assert.equal(texts[0], 'a node1');
    assert.equal(texts[1], 'b v42');
    // substituted text is decommented again (keepalived too), so _HASH/_BANG survive inside "…"
    assert.equal(texts[2], 'c "#!"');
    const r = Number(texts[3].split(' ')[1]);
    assert.ok(r >= 5 && r <= 7, texts[3]);
  });
  it('${_RANDOM} is repeatable for a given seed and rejects non-numeric parameters', () => {
    const a = pp('x ${_RANDOM}\n', { seed: 42 }).texts[0];
    const b = pp('x ${_RANDOM}\n', { seed: 42 }).texts[0];
    assert.equal(a, b);
    const { d } = pp('x ${_RANDOM a}\n');
    assert.ok(d.list.some((x) => x.message === 'Definition _RANDOM requires numeric parameters only.'));
  });
  it('stops self-referential definitions with an error instead of looping', () => {
    const { d } = pp('$A=x $A\nz $A\n');
    assert.ok(d.list.some((x) => x.code === 'HC_CONFIG_SUBST_DEPTH'));
  });
});

describe('preprocess: ~SEQ, ~SEQx, ~LST line repetition', () => {
  it('~SEQ(var, start, end) and with a step', () => {
    assert.deepEqual(pp('~SEQ(SUBNET, 0, 3) ip_address 10.0.${SUBNET}.1\n').texts, [0, 1, 2, 3].map((i) => `ip_address 10.0.${i}.1`));
    assert.deepEqual(pp('~SEQ(N, 10, -5, 0) n $N\n').texts, ['n 10', 'n 5', 'n 0']);
    assert.deepEqual(pp('~SEQ(N, 3) n $N\n').texts, ['n 1', 'n 2', 'n 3']);
  });
  it('~SEQx formats in hexadecimal (man page example)', () => {
    assert.deepEqual(pp('~SEQx(SUBNET, 0x90, 0x10, 0xc0) ip_address fe80::20:${SUBNET}:1\n').texts, ['90', 'a0', 'b0', 'c0'].map((x) => `ip_address fe80::20:${x}:1`));
  });
  it('rejects a step of the wrong sign', () => {
    const { d, texts } = pp('~SEQ(N, 1, -1, 5) n $N\n');
    assert.deepEqual(texts, []);
    assert.ok(d.list.some((x) => x.message.startsWith('Invalid ~SEQ values')));
  });
  it('~LST with one and with several variables, nested (man page examples)', () => {
    assert.deepEqual(pp('~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}\n').texts, ['192.168.10.1', '192.168.20.4']);
    assert.deepEqual(pp('~LST(IP, 1, 2) ~LST(IP1, 5,6) 192.169.${IP}.${IP1}\n').texts, ['192.169.1.5', '192.169.1.6', '192.169.2.5', '192.169.2.6']);
  });
  it('~LST and ~SEQ combine', () => {
    assert.deepEqual(pp('~LST(A, x, y) ~SEQ(B, 1, 2) $A$B ${A}${B}\n').texts.length, 4);
  });
});

describe('preprocess: include', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hc-inc-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function run(main: string) {
    const d = new Diagnostics();
    const p = new Preprocessor(d, { configId: 'x' });
    const lines = p.run(main);
    return { texts: lines.map((l) => l.text), lines, d };
  }

  it('resolves globs and brace patterns against the including file folder, in sorted order', () => {
    mkdirSync(join(dir, 'conf.d'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'conf.d/b.conf'), 'b 2\n');
    writeFileSync(join(dir, 'conf.d/a.conf'), 'a 1\n');
    writeFileSync(join(dir, 'sub/x.conf'), 'x 1\ninclude ../conf.d/{a,b}.conf\n');
    writeFileSync(join(dir, 'main.conf'), 'include conf.d/*.conf\ninclude sub/x.conf\nlast 1\n');
    const { texts, lines } = run(join(dir, 'main.conf'));
    assert.deepEqual(texts, ['a 1', 'b 2', 'x 1', 'a 1', 'b 2', 'last 1']);
    assert.equal(lines[0].file, join(dir, 'conf.d/a.conf'));
  });
  it('${_PWD} is the folder of the file being read', () => {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub/x.conf'), 'script ${_PWD}/s.sh\n');
    writeFileSync(join(dir, 'main.conf'), 'include sub/x.conf\n');
    assert.deepEqual(run(join(dir, 'main.conf')).texts, [`script ${join(dir, 'sub')}/s.sh`]);
  });
  it('detects include cycles with the chain of files', () => {
    writeFileSync(join(dir, 'a.conf'), 'a 1\ninclude b.conf\n');
    writeFileSync(join(dir, 'b.conf'), 'b 1\ninclude a.conf\n');
    const { texts, d } = run(join(dir, 'a.conf'));
    assert.deepEqual(texts, ['a 1', 'b 1']);
    const e = d.list.find((x) => x.code === 'HC_CONFIG_INCLUDE_CYCLE');
    assert.ok(e);
    assert.match(e.message, /a\.conf -> b\.conf -> a\.conf/);
    assert.equal(e.loc?.line, 2);
  });
  // keepalived 2.2.7 -t on this machine: [variant, pattern, exit code, message printed]
  const verdicts: [string, string, number, string][] = [
    ['include', '/nonexistent-hc/x.conf', 0, 'Config files missing'],
    ['includer', '/nonexistent-hc/x.conf', 0, 'Config files missing'],
    ['includem', '/nonexistent-hc/x.conf', 6, 'Config files missing'],
    ['includew', '/nonexistent-hc/x.conf', 6, 'Config files missing'],
    ['includeb', '/nonexistent-hc/x.conf', 0, 'Config files missing'],
    ['includea', '/nonexistent-hc/*.conf', 6, 'Config files missing'],
    ['includer', '/nonexistent-hc/*.conf', 0, 'Config files missing'],
    ['include', 'DIR/*.nomatch', 0, ''],
    ['includem', 'DIR/*.nomatch', 0, ''],
    ['includew', 'DIR/*.nomatch', 6, 'No config files matched'],
    ['includea', 'DIR/*.nomatch', 6, 'No config files matched'],
    ['includew', 'DIR/{a,b}.nomatch', 0, 'Config files missing'],
    ['includeb', 'DIR/{a,b}.nomatch', 6, 'Config files missing'],
    ['includea', 'DIR/{a,b}.nomatch', 6, 'Config files missing'],
  ];
  for (const [variant, pattern, code, msg] of verdicts) {
    it(`${variant} ${pattern} → exit ${code}${msg ? `, "${msg}"` : ', silent'} (as keepalived)`, () => {
      writeFileSync(join(dir, 'main.conf'), `${variant} ${pattern.replace('DIR', dir)}\n`);
      const { d } = run(join(dir, 'main.conf'));
      assert.equal(d.exitCode(), code);
      if (msg) assert.ok(d.list.some((x) => x.message.startsWith(msg)), JSON.stringify(d.list));
      else assert.equal(d.list.length, 0);
    });
  }
  it('refuses executable files as configuration, as keepalived does', () => {
    writeFileSync(join(dir, 'x.conf'), 'a 1\n', { mode: 0o755 });
    writeFileSync(join(dir, 'main.conf'), 'includea x.conf\n');
    const { texts, d } = run(join(dir, 'main.conf'));
    assert.deepEqual(texts, []);
    assert.ok(d.list.some((x) => /not a regular non-executable file/.test(x.message)));
  });
});

describe('preprocess: include_check applies from where global_defs sets it (keepalived include_check_set)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hc-incchk-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('computes keepalived\'s bits: none = all, a bare word = read + it, +/- add or remove', () => {
    assert.equal(applyIncludeCheck(0, []), 15);
    assert.equal(applyIncludeCheck(15, ['match']), 1 | 2);
    assert.equal(applyIncludeCheck(0, ['+match', '-wildcard_match']), 2);
    assert.equal(applyIncludeCheck(15, ['-brace_match']), 7);
    const said: string[] = [];
    assert.equal(applyIncludeCheck(0, ['read', 'match', 'bogus'], (m) => said.push(m)), 1);
    assert.deepEqual(said, ["Duplicate include_check 'match' specified - ignoring", "Duplicate include_check 'bogus' specified - ignoring"]);
  });

  // keepalived 2.2.7 -t -l on this machine gave these exit codes; MISSING is a file that
  // does not exist, NOMATCH a wildcard matching nothing.
  const cases: { name: string; files: Record<string, string>; exit: number; msg: string; error: boolean }[] = [
    { name: 'include after include_check in an earlier global_defs', files: { 'main.conf': 'global_defs {\n  include_check\n  router_id a\n}\ninclude MISSING\n' }, exit: 6, msg: 'Config files missing', error: true },
    { name: 'include without include_check', files: { 'main.conf': 'global_defs {\n  router_id a\n}\ninclude MISSING\n' }, exit: 0, msg: 'Config files missing', error: false },
    { name: 'include later in the same global_defs block', files: { 'main.conf': 'global_defs {\n  include_check\n  include MISSING\n}\n' }, exit: 6, msg: 'Config files missing', error: true },
    { name: 'include before include_check', files: { 'main.conf': 'include MISSING\nglobal_defs {\n  include_check\n}\n' }, exit: 0, msg: 'Config files missing', error: false },
    { name: 'include_check wildcard_match and a wildcard matching nothing', files: { 'main.conf': 'global_defs {\n  include_check wildcard_match\n}\ninclude NOMATCH\n' }, exit: 6, msg: 'No config files matched', error: true },
    { name: 'include_check then -wildcard_match', files: { 'main.conf': 'global_defs {\n  include_check wildcard_match\n  include_check -wildcard_match\n}\ninclude NOMATCH\n' }, exit: 0, msg: '', error: false },
    { name: 'include_check set in an included file ends with that file', files: { 'inc.conf': 'global_defs {\n  include_check\n}\n', 'main.conf': 'include inc.conf\ninclude MISSING\n' }, exit: 0, msg: 'Config files missing', error: false },
  ];
  const write = (files: Record<string, string>): string => {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text.replace('MISSING', join(dir, 'nonexistent.conf')).replace('NOMATCH', join(dir, 'none*.conf')));
    return join(dir, 'main.conf');
  };
  for (const k of cases) {
    it(`${k.name} → exit ${k.exit}`, () => {
      const l = loadConfigFile(write(k.files), { env: fakeEnvironment({ interfaces: ['eth0'] }) });
      assert.equal(l.diags.exitCode(), k.exit, JSON.stringify(l.diags.list));
      if (k.msg) {
        const d = l.diags.list.find((x) => x.message.startsWith(k.msg));
        assert.ok(d, JSON.stringify(l.diags.list));
        assert.equal(d.severity, k.error ? 'error' : 'warning');
      } else assert.equal(l.diags.list.length, 0, JSON.stringify(l.diags.list));
    });
  }
  it('keepalived, when installed, gives the same exit codes', function () {
    try {
      execFileSync('keepalived', ['-v'], { stdio: 'ignore' });
    } catch {
      this.skip();
    }
    for (const k of cases) {
      const f = write(k.files);
      const r = spawnSync('keepalived', ['-t', '-f', f, '-l', '-n'], { encoding: 'utf8' });
      assert.equal(r.status, k.exit, `${k.name}: ${r.stderr}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
    }
  });
});
