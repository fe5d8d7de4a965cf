// From pre-processed lines to a parse tree of statements and blocks.
//
// 1. A moo lexer splits each logical line into words (keepalived's alloc_strvec_r:
//    "…" groups a word and is removed; a word ends at blank or '"').
// 2. The token stream is cut into top-level chunks (one top-level keyword with its
//    block); brace balance is checked here with keepalived's messages.
// 3. Each chunk is parsed by the nearley grammar compiled from grammar/*.ne. A chunk's
//    shape (token types and block keywords) decides its parse, so parses are cached by
//    shape: 10,000 virtual_servers written alike cost one Earley parse.
// 4. A syntax error is recovered from the way keepalived does: the offending statement
//    (and its block) is reported and dropped, and parsing goes on.

import moo from 'moo';
import nearley from 'nearley';
import grammarRules from './generated/grammar.js';
import { lexer as tokenLexer, type PNode, type Tok, type TokType } from './grammar-support.js';
import { Diagnostics, ErrClass, type Loc } from './diagnostics.js';
import type { Line } from './preprocess.js';

export interface Word {
  text: string;
  /** 1-based column in the physical line */
  col: number;
  quoted: boolean;
}

export interface Stmt {
  kw: string;
  /** argument values (quotes removed) */
  args: string[];
  /** keyword and arguments with their columns */
  words: Word[];
  loc: Loc;
  /** the logical line as written (after pre-processing), for keywords that re-split it */
  raw: string;
  /** block contents, when the keyword opened a block */
  block?: Stmt[];
  /** the block is a list of values (virtual_ipaddress, track_script, …) */
  list?: boolean;
  /** where the block's '}' is */
  end?: Loc;
}

interface LTok extends Tok {
  w?: Word;
  line: Line;
}

const compiled = nearley.Grammar.fromCompiled(grammarRules as unknown as nearley.CompiledRules);

/** Every literal in the grammar is a block keyword (grammar/keepalived.ne). */
export const BLOCK_KEYWORDS: ReadonlySet<string> = (() => {
  const s = new Set<string>();
  for (const r of compiled.rules) for (const sym of r.symbols) if (sym && typeof sym === 'object' && 'literal' in sym) s.add(String((sym as { literal: unknown }).literal));
  return s;
})();

const wordLexer = moo.compile({
  ws: /[ \t\f\v\r]+/,
  quoted: /"[^"\n]*"/,
  unmatched: /"[^"\n]*/,
  word: /[^ \t\f\v\r\n"]+/,
});

/** Split a logical line into words as keepalived's alloc_strvec_r does. */
export function splitWords(text: string, col0: number, onUnmatched?: () => void): Word[] {
  const out: Word[] = [];
  wordLexer.reset(text);
  for (let t = wordLexer.next(); t; t = wordLexer.next()) {
    switch (t.type) {
      case 'word':
        out.push({ text: t.value, col: col0 + t.offset, quoted: false });
        break;
      case 'quoted':
        out.push({ text: t.value.slice(1, -1), col: col0 + t.offset, quoted: true });
        break;
      case 'unmatched':
        onUnmatched?.();
        return out;
    }
  }
  return out;
}

export interface ParseResult {
  stmts: Stmt[];
}

const shapeCache = new Map<string, PNode[]>();
const MAX_CACHE = 50_000;

/**
 * One top-level chunk as parallel arrays (token type, word, line): no object per token
 * unless the chunk's shape is new and nearley must see it.
 */
class Chunk {
  type: TokType[] = [];
  w: (Word | undefined)[] = [];
  line: Line[] = [];
  key = '';
  get length(): number {
    return this.type.length;
  }
  push(type: TokType, line: Line, w?: Word): void {
    this.type.push(type);
    this.w.push(w);
    this.line.push(line);
    this.key += type === 'bkw' ? `<${w!.text}>` : SHAPE_CHAR[type];
  }
  toks(): LTok[] {
    return this.type.map((type, i) => ({ type, value: this.w[i]?.text ?? (type === 'lbrace' ? '{' : type === 'rbrace' ? '}' : ''), i, line: this.line[i], w: this.w[i] }));
  }
}

const SHAPE_CHAR: Record<TokType, string> = { kw: 'k', bkw: 'b', arg: 'a', eol: ';', lbrace: '{', rbrace: '}' };

export function parseLines(lines: Line[], diags: Diagnostics): ParseResult {
  const stmts: Stmt[] = [];
  let chunk = new Chunk();
  let depth = 0;
  const flush = (): void => {
    if (!chunk.length) return;
    parseChunk(chunk, diags, stmts);
    chunk = new Chunk();
  };
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li];
    const text = line.text;
    if (text === '{') {
      if (depth === 0 && !chunk.length) {
        diags.error('HC_CONFIG_UNEXPECTED_BOB', "Unexpected '{' - ignoring", locOf(line, line.col), ErrClass.UNEXPECTED_BOB);
        // skip the whole stray block
        let d = 1;
        while (d > 0 && ++li < lines.length) {
          if (lines[li].text === '{') d++;
          else if (lines[li].text === '}') d--;
        }
        continue;
      }
      depth++;
      chunk.push('lbrace', line);
      continue;
    }
    if (text === '}') {
      if (depth === 0) {
        diags.error('HC_CONFIG_UNEXPECTED_EOB', "Extra '}' found", locOf(line, line.col), ErrClass.UNEXPECTED_EOB);
        continue;
      }
      depth--;
      chunk.push('rbrace', line);
      continue;
    }
    const words = splitWords(text, line.col, () =>
      diags.error('HC_CONFIG_QUOTE', `Unmatched quote: '${text}'`, locOf(line, line.col), ErrClass.UNMATCHED_QUOTE),
    );
    if (!words.length) continue;
    // a statement at depth 0 starts a new top-level chunk
    if (depth === 0) flush();
    chunk.push(BLOCK_KEYWORDS.has(words[0].text) ? 'bkw' : 'kw', line, words[0]);
    for (let j = 1; j < words.length; j++) chunk.push('arg', line, words[j]);
    chunk.push('eol', line);
  }
  if (depth > 0) {
    const last = lines[lines.length - 1];
    diags.error('HC_CONFIG_MISSING_EOB', `There are ${depth} missing '}'s or extra '{'s`, last ? locOf(last, 0) : undefined, ErrClass.MISSING_EOB);
    for (let i = 0; i < depth; i++) chunk.push('rbrace', last);
  }
  flush();
  return { stmts };
}

function locOf(line: Line, col: number): Loc {
  return { file: line.file, line: line.line, col };
}

/** index just past the statement starting at s (its eol) */
function statementEnd(toks: LTok[], s: number): number {
  let e = s;
  while (e < toks.length && toks[e].type !== 'eol') e++;
  return e + 1;
}

/** index just past the '}' matching the '{' at b */
function blockEnd(toks: LTok[], b: number): number {
  let d = 0;
  for (let e = b; e < toks.length; e++) {
    if (toks[e].type === 'lbrace') d++;
    else if (toks[e].type === 'rbrace' && --d === 0) return e + 1;
  }
  return toks.length;
}

function cheapError(): string {
  return 'syntax error';
}

/** feed toks[a, b) to the parser; false if the grammar rejects them */
function feed(parser: nearley.Parser, toks: LTok[], a: number, b: number): boolean {
  tokenLexer.load(toks, a, b);
  try {
    parser.feed('');
    return true;
  } catch {
    return false;
  }
}

function tokLoc(t: LTok): Loc {
  return locOf(t.line, t.w?.col ?? t.line.col);
}

/**
 * Parse one top-level chunk. Statements are fed one at a time with the parser state
 * saved before each, so an error costs one restore, not a re-parse: the offending
 * statement (with its block) is reported the way keepalived reports it and skipped.
 */
function parseChunk(chunk: Chunk, diags: Diagnostics, out: Stmt[]): void {
  const key = chunk.key;
  let nodes = shapeCache.get(key);
  if (!nodes) {
    const toks = chunk.toks();
    const parser = new nearley.Parser(compiled);
    // the error text nearley builds (every expected token, described) is never shown,
    // and costs far more than the parse on error-ridden input
    Object.assign(parser, { reportError: cheapError, reportLexerError: cheapError });
    let clean = true;
    let i = 0;
    // parser state before the previous statement, to drop a block keyword whose '{' is missing
    let beforePrev: { state: ReturnType<nearley.Parser['save']>; at: number } | undefined;
    while (i < toks.length) {
      const t = toks[i];
      const saved = parser.save();
      if (t.type === 'lbrace' || t.type === 'rbrace') {
        if (feed(parser, toks, i, i + 1)) {
          beforePrev = undefined;
          i++;
          continue;
        }
        parser.restore(saved);
        clean = false;
        if (t.type === 'lbrace') {
          diags.error('HC_CONFIG_UNEXPECTED_BOB', "Unexpected '{' - ignoring", tokLoc(t), ErrClass.UNEXPECTED_BOB);
          i = blockEnd(toks, i);
        } else {
          diags.error('HC_CONFIG_UNEXPECTED_EOB', "Extra '}' found", tokLoc(t), ErrClass.UNEXPECTED_EOB);
          i++;
        }
        continue;
      }
      const e = statementEnd(toks, i);
      if (feed(parser, toks, i, e)) {
        beforePrev = { state: saved, at: i };
        i = e;
        continue;
      }
      parser.restore(saved);
      clean = false;
      // Would the block this statement sits in have wanted a '{' here? keepalived then
      // says the block's '{' is missing; otherwise the keyword is not one of this block's.
      const probe = parser.save();
      const wantedBrace = feed(parser, [{ type: 'lbrace', value: '{', i: -1, line: t.line }], 0, 1);
      parser.restore(probe);
      if (wantedBrace && beforePrev) {
        // drop the block keyword that has no block; its lines are read in the outer block
        diags.error('HC_CONFIG_MISSING_BOB', "Missing '{' at beginning of configuration block", tokLoc(t), ErrClass.MISSING_BOB);
        parser.restore(beforePrev.state);
        beforePrev = undefined;
        continue;
      }
      diags.error('HC_CONFIG_UNKNOWN_KEYWORD', `Unknown keyword '${t.value}'`, tokLoc(t), ErrClass.UNKNOWN_KEYWORD);
      i = toks[e]?.type === 'lbrace' ? blockEnd(toks, e) : e;
    }
    const results = parser.results;
    if (!results.length) {
      // the chunk ended while its keyword still waits for its '{'
      const t = toks[0];
      diags.error('HC_CONFIG_MISSING_BOB', "Missing '{' at beginning of configuration block", tokLoc(t), ErrClass.MISSING_BOB);
      return;
    }
    nodes = results[0] as PNode[];
    if (clean && shapeCache.size < MAX_CACHE) shapeCache.set(key, nodes);
  }
  for (const n of nodes) out.push(build(n, chunk));
}

function build(n: PNode, c: Chunk): Stmt {
  const kw = c.w[n.k]!;
  const kline = c.line[n.k];
  const words: Word[] = c.w.slice(n.k, n.k + n.n + 1) as Word[];
  const args: string[] = new Array<string>(n.n);
  for (let i = 0; i < n.n; i++) args[i] = words[i + 1].text;
  const s: Stmt = { kw: kw.text, args, words, loc: { file: kline.file, line: kline.line, col: kw.col }, raw: kline.text };
  if (n.b) {
    const block = new Array<Stmt>(n.b.length);
    for (let i = 0; i < n.b.length; i++) block[i] = build(n.b[i], c);
    s.block = block;
    if (n.list) s.list = true;
    if (n.e !== undefined) {
      const el = c.line[n.e];
      s.end = { file: el.file, line: el.line, col: el.col };
    }
  }
  return s;
}

export type { TokType };
