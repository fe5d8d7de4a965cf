import assert from 'node:assert/strict';
import { Preprocessor } from '../../src/config/preprocess.js';
import { parseLines, splitWords, BLOCK_KEYWORDS, type Stmt } from '../../src/config/parse.js';
import { Diagnostics } from '../../src/config/diagnostics.js';

function parse(text: string) {
  const d = new Diagnostics();
  const p = new Preprocessor(d, { configId: 'x' });
  const { stmts } = parseLines(p.runText(text, 'k.conf'), d);
  return { stmts, d, msgs: d.list.map((x) => `${x.loc?.line}: ${x.message}`) };
}

function shape(s: Stmt): unknown {
  return s.block ? [s.kw, ...s.args, s.block.map(shape)] : [s.kw, ...s.args].join(' ');
}

describe('parse: words (keepalived alloc_strvec_r)', () => {
  it('groups "…" into one word without the quotes; a word ends at a quote', () => {
    const w = splitWords('script "/bin/x a b" c"d"', 1);
    assert.deepEqual(w.map((x) => [x.text, x.col, x.quoted]), [
      ['script', 1, false],
      ['/bin/x a b', 8, true],
      ['c', 21, false],
      ['d', 22, true],
    ]);
  });
});

describe('parse: blocks from the grammar', () => {
  it('builds the tree of a vrrp_instance with list blocks and an authentication block', () => {
    const { stmts, msgs } = parse(`vrrp_instance VI_1 {
  state MASTER
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    10.0.0.1/24 dev eth0 label eth0:1
  }
  track_script { chk weight -20 }
}
`);
    assert.deepEqual(msgs, []);
    assert.deepEqual(stmts.map(shape), [
      ['vrrp_instance', 'VI_1', [
        'state MASTER',
        ['authentication', ['auth_type PASS', 'auth_pass secret']],
        ['virtual_ipaddress', ['10.0.0.1/24 dev eth0 label eth0:1']],
        ['track_script', ['chk weight -20']],
      ]],
    ]);
    assert.equal(stmts[0].block?.[2].list, true);
    assert.equal(stmts[0].block?.[1].list, undefined);
    assert.deepEqual(stmts[0].block?.[0].loc, { file: 'k.conf', line: 2, col: 3 });
  });
  it('accepts the opening brace on the next line', () => {
    const { stmts, msgs } = parse('virtual_server 10.0.0.1 80\n{\n  real_server 10.0.1.1 80\n  {\n    TCP_CHECK\n    {\n      connect_timeout 3\n    }\n  }\n}\n');
    assert.deepEqual(msgs, []);
    assert.deepEqual(stmts.map(shape), [['virtual_server', '10.0.0.1', '80', [['real_server', '10.0.1.1', '80', [['TCP_CHECK', ['connect_timeout 3']]]]]]]);
  });
  it('nests checkers, url and host blocks only where keepalived allows them', () => {
    const { stmts, msgs } = parse('virtual_server 1.1.1.1 80 {\n real_server 2.2.2.2 80 {\n  HTTP_GET {\n   url {\n    path /\n   }\n  }\n  SMTP_CHECK {\n   host {\n    connect_ip 3.3.3.3\n   }\n  }\n }\n}\n');
    assert.deepEqual(msgs, []);
    const rs = stmts[0].block![0];
    assert.deepEqual(rs.block!.map((b) => b.kw), ['HTTP_GET', 'SMTP_CHECK']);
  });
  it('every block keyword of the grammar is known to the lexer', () => {
    for (const k of ['global_defs', 'vrrp_instance', 'virtual_ipaddress', 'real_server', 'TCP_CHECK', 'url', 'bfd_instance', 'static_routes', 'virtual_server_group'])
      assert.ok(BLOCK_KEYWORDS.has(k), k);
  });
  it('one parse serves blocks of the same shape (cached) and gives each its own words', () => {
    const vs = (i: number) => `virtual_server 10.0.0.${i} 80 {\n real_server 10.0.1.${i} 80 {\n  weight ${i}\n }\n}\n`;
    const { stmts } = parse(vs(1) + vs(2) + vs(3));
    assert.deepEqual(stmts.map((s) => s.block![0].block![0].args[0]), ['1', '2', '3']);
    assert.deepEqual(stmts.map((s) => s.loc.line), [1, 6, 11]);
  });
});

describe('parse: recovery with keepalived messages, and parsing goes on', () => {
  it('a block keyword where its block is not allowed is an unknown keyword, and its block is skipped', () => {
    const { stmts, msgs } = parse('vrrp_instance VI_1 {\n real_server 1.1.1.1 80 {\n  weight 1\n }\n priority 100\n}\nglobal_defs {\n router_id x\n}\n');
    assert.deepEqual(msgs, ["2: Unknown keyword 'real_server'"]);
    assert.deepEqual(stmts.map(shape), [['vrrp_instance', 'VI_1', ['priority 100']], ['global_defs', ['router_id x']]]);
  });
  it("reports an extra '}' and carries on", () => {
    const { stmts, msgs } = parse('global_defs {\n router_id a\n}\n}\nvrrp_script c {\n script x\n}\n');
    assert.deepEqual(msgs, ["4: Extra '}' found"]);
    assert.equal(stmts.length, 2);
  });
  it("reports missing '}'s at the end", () => {
    const { stmts, msgs } = parse('vrrp_instance VI_1 {\n interface eth0\n virtual_ipaddress {\n 10.0.0.1\n');
    assert.deepEqual(msgs, ["4: There are 2 missing '}'s or extra '{'s"]);
    assert.deepEqual(stmts.map(shape), [['vrrp_instance', 'VI_1', ['interface eth0', ['virtual_ipaddress', ['10.0.0.1']]]]]);
  });
  it("reports an unexpected '{' after a plain keyword and skips that block", () => {
    const { stmts, msgs } = parse('vrrp_instance VI_1 {\n priority 100 {\n  x 1\n }\n state BACKUP\n}\n');
    assert.deepEqual(msgs, ["2: Unexpected '{' - ignoring"]);
    assert.deepEqual(stmts.map(shape), [['vrrp_instance', 'VI_1', ['priority 100', 'state BACKUP']]]);
  });
  it("reports a missing '{' after a block keyword, drops that keyword and reads its lines in the outer block", () => {
    const { stmts, msgs } = parse('vrrp_instance VI_1 {\n authentication\n  auth_type PASS\n priority 100\n}\n');
    assert.deepEqual(msgs, ["3: Missing '{' at beginning of configuration block"]);
    assert.deepEqual(stmts.map(shape), [['vrrp_instance', 'VI_1', ['auth_type PASS', 'priority 100']]]);
  });
  it('survives pathological nesting without throwing', () => {
    const deep = 'vrrp_instance V {\n'.repeat(200) + '}\n'.repeat(200);
    const { d } = parse(deep);
    assert.ok(d.list.length > 0);
    assert.ok(d.list.every((x) => x.loc));
  });
});
