import assert from 'node:assert/strict';
import { Preprocessor } from '../../src/config/preprocess.js';
import { parseLines, splitWords, BLOCK_KEYWORDS, type Stmt } from '../../src/config/parse.js';
import { Diagnostics } from '../../src/config/diagnostics.js';
import { lexWords } from '../../src/config/lexer.js';
import { loadConfigText } from '../../src/config/index.js';
import { fakeEnvironment } from '../../src/config/env.js';
import { mulberry32 } from '../../src/util/prng.js';

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

describe('parse: the moo lexer the grammar reads', () => {
  it('types the first word kw/bkw, the others arg, a brace line lbrace/rbrace, and removes quotes', () => {
    assert.deepEqual(lexWords('virtual_server 10.0.0.1  80'), [
      { type: 'bkw', value: 'virtual_server' },
      { type: 'arg', value: '10.0.0.1' },
      { type: 'arg', value: '80' },
    ]);
    assert.deepEqual(lexWords('"real_server" "a b"c'), [
      { type: 'bkw', value: 'real_server' },
      { type: 'arg', value: 'a b' },
      { type: 'arg', value: 'c' },
    ]);
    assert.deepEqual(lexWords('weight 1 "unmatched'), [
      { type: 'kw', value: 'weight' },
      { type: 'arg', value: '1' },
    ]);
    assert.deepEqual(lexWords('{'), [{ type: 'lbrace', value: '{' }]);
    assert.deepEqual(lexWords('}'), [{ type: 'rbrace', value: '}' }]);
  });

  it("finds the same words as the parser's scanner on 20,000 random lines", () => {
    // the parser's scanner makes the words of every line; moo makes the tokens nearley
    // reads for a new chunk shape: token indices only line up if they agree
    const rand = mulberry32(7);
    const alphabet = ['a', 'b', 'weight', 'virtual_server', '1', '"', '"', ' ', ' ', '\t', '\f', '\v', '\r', '\n', '{', '}', '#', '-', '/', ':', '\u00e9'];
    for (let n = 0; n < 20_000; n++) {
      let line = '';
      for (let k = Math.floor(rand() * 12); k > 0; k--) line += alphabet[Math.floor(rand() * alphabet.length)];
      if (line === '{' || line === '}') continue;
      if (/[{}]/.test(line.replace(/"[^"]*"/g, ''))) continue; // pre-processing puts unquoted braces on lines of their own
      const scanned = splitWords(line, 1).map((w) => w.text);
      const lexed = lexWords(line);
      assert.deepEqual(
        lexed.map((t) => t.value),
        scanned,
        JSON.stringify(line),
      );
      lexed.forEach((t, i) => assert.equal(t.type, i === 0 ? (BLOCK_KEYWORDS.has(t.value) ? 'bkw' : 'kw') : 'arg', JSON.stringify(line)));
    }
  });

  it('gives the same statements whether a line is handed over as text or with its words found by the pre-processor', () => {
    // plain lines take the pre-processor's word path; \f makes a line take the text path
    const text = 'global_defs {\n  router_id  r1\n}\nvirtual_server 10.0.0.1 80 {\n  lb_algo rr\n  protocol TCP\n  real_server 10.0.0.2 80 {\n    weight 2\n  }\n}\n';
    const odd = text.replace(/\n  /g, '\n\f ');
    const env = fakeEnvironment({ interfaces: ['lo'] });
    const a = loadConfigText(text, { env });
    const b = loadConfigText(odd, { env });
    assert.deepEqual(b.config.lvs, a.config.lvs);
    assert.deepEqual(
      b.diags.list.map((d) => d.message),
      a.diags.list.map((d) => d.message),
    );
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
  it('keeps its place in the block after a line substitution made longer than any physical line', () => {
    // a parse node finds its statement by token number: 2,400 words must not run into the next line's
    const { stmts, msgs } = parse(`$A=${' a'.repeat(300)}\n$B=$A $A $A $A\nvrrp_instance VI_1 {\n notify $B $B\n virtual_ipaddress {\n  $B\n  10.0.0.1\n }\n state MASTER\n}\n`);
    assert.deepEqual(msgs, []);
    const b = stmts[0].block!;
    assert.deepEqual(b.map((x) => [x.kw, x.args.length]), [['notify', 2400], ['virtual_ipaddress', 0], ['state', 1]]);
    assert.deepEqual(b[1].block!.map((x) => [x.kw, x.args.length]), [['a', 1199], ['10.0.0.1', 0]]);
    assert.deepEqual(b[1].end, { file: 'k.conf', line: 8, col: 2 });
    assert.deepEqual(stmts[0].end, { file: 'k.conf', line: 10, col: 1 });
  });
});

describe('parse: recovery with keepalived messages, and parsing goes on', () => {
  it("a keyword named like one of Object.prototype's methods is unknown (it crashed the model)", () => {
    const l = loadConfigText('hasOwnProperty\nglobal_defs {\n  toString\n  hasOwnProperty\n  constructor 1\n  __proto__\n}\nvrrp_instance VI_1 {\n  valueOf\n}\n', { env: fakeEnvironment({ interfaces: ['eth0'] }) });
    const unknown = l.diags.list.filter((d) => d.code === 'HC_CONFIG_UNKNOWN_KEYWORD').map((d) => `${d.loc?.line}: ${d.message}`);
    assert.deepEqual(unknown, ["1: Unknown keyword 'hasOwnProperty'", "3: Unknown keyword 'toString'", "4: Unknown keyword 'hasOwnProperty'", "5: Unknown keyword 'constructor'", "6: Unknown keyword '__proto__'", "9: Unknown keyword 'valueOf'"]);
    assert.deepEqual(l.config.global.unsupported, []);
  });
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
