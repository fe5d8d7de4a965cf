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

export function parseLines(lines: Line[], diags: Diagnostics): ParseResult {
  const stmts: Stmt[] = [];
  let chunk: LTok[] = [];
  let depth = 0;
  const flush = (): void => {
    if (!chunk.length) return;
    parseChunk(chunk, diags, stmts);
    chunk = [];
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
      chunk.push({ type: 'lbrace', value: '{', i: chunk.length, line });
      continue;
    }
    if (text === '}') {
      if (depth === 0) {
        diags.error('HC_CONFIG_UNEXPECTED_EOB', "Extra '}' found", locOf(line, line.col), ErrClass.UNEXPECTED_EOB);
        continue;
      }
      depth--;
      chunk.push({ type: 'rbrace', value: '}', i: chunk.length, line });
      continue;
    }
    const words = splitWords(text, line.col, () =>
      diags.error('HC_CONFIG_QUOTE', `Unmatched quote: '${text}'`, locOf(line, line.col), ErrClass.UNMATCHED_QUOTE),
    );
    if (!words.length) continue;
    // a statement at depth 0 starts a new top-level chunk
    if (depth === 0) flush();
    const kw = words[0];
    chunk.push({ type: BLOCK_KEYWORDS.has(kw.text) ? 'bkw' : 'kw', value: kw.text, i: chunk.length, line, w: kw });
    for (let j = 1; j < words.length; j++) chunk.push({ type: 'arg', value: words[j].text, i: chunk.length, line, w: words[j] });
    chunk.push({ type: 'eol', value: '', i: chunk.length, line });
  }
  if (depth > 0) {
    const last = lines[lines.length - 1];
    diags.error('HC_CONFIG_MISSING_EOB', `There are ${depth} missing '}'s or extra '{'s`, last ? locOf(last, 0) : undefined, ErrClass.MISSING_EOB);
    for (let i = 0; i < depth; i++) chunk.push({ type: 'rbrace', value: '}', i: chunk.length, line: last });
  }
  flush();
  return { stmts };
}

function locOf(line: Line, col: number): Loc {
  return { file: line.file, line: line.line, col };
}

function shapeKey(toks: LTok[]): string {
  let k = '';
  for (const t of toks) {
    switch (t.type) {
      case 'kw':
        k += 'k';
        break;
      case 'arg':
        k += 'a';
        break;
      case 'eol':
        k += ';';
        break;
      case 'lbrace':
        k += '{';
        break;
      case 'rbrace':
        k += '}';
        break;
      case 'bkw':
        k += `<${t.value}>`;
        break;
    }
  }
  return k;
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
function parseChunk(toks: LTok[], diags: Diagnostics, out: Stmt[]): void {
  const key = shapeKey(toks);
  let nodes = shapeCache.get(key);
  if (!nodes) {
    const parser = new nearley.Parser(compiled);
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
  for (const n of nodes) out.push(build(n, toks));
}

function build(n: PNode, toks: LTok[]): Stmt {
  const kt = toks[n.k];
  const words: Word[] = [kt.w!];
  const args: string[] = [];
  for (let i = 1; i <= n.n; i++) {
    const w = toks[n.k + i].w!;
    words.push(w);
    args.push(w.text);
  }
  const s: Stmt = { kw: kt.value, args, words, loc: { file: kt.line.file, line: kt.line.line, col: kt.w!.col }, raw: kt.line.text };
  if (n.b) {
    s.block = n.b.map((c) => build(c, toks));
    if (n.list) s.list = true;
    const et = n.e !== undefined ? toks[n.e] : undefined;
    if (et) s.end = { file: et.line.file, line: et.line.line, col: et.line.col };
  }
  return s;
}

export type { TokType };
