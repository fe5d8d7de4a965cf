// The token stream the nearley grammar (grammar/*.ne) reads: a moo lexer over the
// pre-processed logical lines.
//
// After pre-processing a logical line is either a lone brace or `word word…` with no
// brace outside "…" (preprocess.ts cuts lines at braces). Words follow keepalived's
// alloc_strvec_r: a word ends at a blank (space, \t, \f, \v, \r) or at '"'; "…" is one
// word with its quotes removed; an unmatched '"' ends the line (the parser reports it).
//
// Token types, as the grammar names them:
//   %kw      the first word of a line
//   %bkw     the first word of a line when it is a block keyword (a literal of the grammar)
//   %arg     any further word
//   %eol     the end of a line (made here: moo lexes one line per feed)
//   %lbrace  %rbrace  a brace line
//
// The first word and the rest are two moo states: `line` (until the first word) and
// `args` (after it); each feed starts again in `line`.
//
// nearley only runs when a chunk's shape is new (parse.ts caches parses by shape), so
// this lexer sees a few lines per distinct block shape, not every line of a large file.
// The words of every line are found by parse.ts's scanner (or by the pre-processor for a
// plain line), which follows the same rules without making a token object per word:
// running moo over all 382,000 lines of bench/parse cost 130-175 ms against 40-60 ms for
// the scanner. test/config/parse.test.ts checks that the two agree on random lines.

import { createRequire } from 'node:module';
import type MooModule from 'moo';

// CommonJS: required, not imported (see parse.ts)
const moo = createRequire(import.meta.url)('moo') as typeof MooModule;

/** Block keywords: the literals of the grammar. parse.ts fills this from the compiled grammar. */
export const blockKeywords = new Set<string>();

const BLANK = /[ \t\f\v\r]+/;
// A '\n' is an ordinary character here, as for keepalived's word splitter: files are cut
// at it, but a substituted value (${_ENV …}) may hold one.
const WORD = { match: /[^ \t\f\v\r"]+/, lineBreaks: true };
const QUOTED = { match: /"[^"]*"/, lineBreaks: true };
const UNMATCHED = { match: /"[^]*/, lineBreaks: true };
const unquote = (s: string): string => s.slice(1, -1);
const kwType = (w: string): string => (blockKeywords.has(w) ? 'bkw' : 'kw');

const rules = moo.states({
  line: {
    ws: BLANK,
    lbrace: '{',
    rbrace: '}',
    // a quoted first word is still the keyword (its block-keyword test is on the value, below)
    qkw: { ...QUOTED, value: unquote, next: 'args' },
    unmatched: UNMATCHED,
    kw: { ...WORD, type: kwType, next: 'args' },
    error: moo.error,
  },
  args: {
    ws: BLANK,
    qarg: { ...QUOTED, value: unquote },
    unmatched: UNMATCHED,
    arg: WORD,
    error: moo.error,
  },
});

export type TokType = 'kw' | 'bkw' | 'arg' | 'eol' | 'lbrace' | 'rbrace';

/** A token as nearley sees it: a moo token, typed for the grammar, with its index in the chunk. */
export interface Tok {
  type: TokType;
  value: string;
  /** what nearley matches literals against: the word without its quotes */
  text?: string;
  /** index in the chunk being parsed (parse.ts keeps the chunk's words by index) */
  i: number;
}

/**
 * nearley's lexer: each `parser.feed(line)` lexes one logical line with moo and ends it
 * with %eol (a brace line is just its brace). Token indices continue from `index`, which
 * parse.ts sets before each feed to the place of the line's first token in the chunk.
 */
export class LineLexer {
  /** index the next token gets */
  index = 0;
  private eolPending = false;
  private done = true;

  reset(line: string): void {
    rules.reset(line);
    this.done = false;
    this.eolPending = false;
  }

  next(): Tok | undefined {
    if (this.done) return undefined;
    for (;;) {
      const t = rules.next() as (MooModule.Token & { i?: number }) | undefined;
      if (!t || t.type === 'unmatched' || t.type === 'error') {
        // the line is over (an unmatched '"' ends it, as in keepalived)
        this.done = true;
        if (!this.eolPending) return undefined;
        return { type: 'eol', value: '', i: this.index++ };
      }
      switch (t.type) {
        case 'ws':
          continue;
        case 'lbrace':
        case 'rbrace':
          // a brace stands alone on its line: no %eol after it
          t.i = this.index++;
          return t as unknown as Tok;
        case 'qkw':
          t.type = kwType(t.value);
          t.text = t.value;
          break;
        case 'qarg':
          t.type = 'arg';
          t.text = t.value;
          break;
      }
      this.eolPending = true;
      t.i = this.index++;
      return t as unknown as Tok;
    }
  }

  save(): undefined {
    return undefined;
  }

  formatError(tok: Tok | undefined): string {
    return `unexpected ${tok?.type ?? 'end of input'} '${tok?.value ?? ''}'`;
  }

  has(name: string): boolean {
    return name === 'kw' || name === 'bkw' || name === 'arg' || name === 'eol' || name === 'lbrace' || name === 'rbrace';
  }
}

export const lexer = new LineLexer();

/** The words of a logical line as the grammar's lexer sees them (tests: it must agree with parse.ts's scanner). */
export function lexWords(line: string): { type: TokType; value: string }[] {
  const l = new LineLexer();
  l.reset(line);
  const out: { type: TokType; value: string }[] = [];
  for (let t = l.next(); t; t = l.next()) if (t.type !== 'eol') out.push({ type: t.type, value: t.value });
  return out;
}
