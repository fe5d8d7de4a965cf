# keepalived.conf — root grammar.
#
# Tokens come from src/config/lexer.ts: a moo lexer (two states: before and after a
# line's first word) that src/config/parse.ts feeds one pre-processed logical line at a
# time. %kw is the first word of a line, %bkw the first word of a line when that word is
# a block keyword named in this grammar (a literal below), %arg any further word, %eol
# the end of a line, %lbrace / %rbrace a brace (always a line of its own after
# pre-processing). parse.ts caches parses by chunk shape, so nearley (and this lexer)
# run once per distinct block shape, not once per block.
#
# The grammar fixes the structure: which blocks exist, where each may be nested, and
# which are lists of values rather than keyword blocks. Plain `keyword args…` lines are
# accepted in every keyword block and are checked against the keyword tables of
# src/config/ (so an unknown keyword gets keepalived's "Unknown keyword" message and a
# "did you mean"). Postprocessors build nodes that hold token indices, so a parse can be
# reused for every block of the same shape (see src/config/parse.ts).
#
# Block families: global.ne, vrrp.ne, lvs.ne, checkers.ne, bfd.ne.

@preprocessor typescript
@{%
import { lexer, stmtNode, blockNode, listBlockNode, flat } from '../grammar-support.js';
%}
@lexer lexer

@include "common.ne"
@include "global.ne"
@include "vrrp.ne"
@include "lvs.ne"
@include "checkers.ne"
@include "bfd.ne"

# A chunk handed to the parser is one top-level statement with its block.
config -> top:* {% (d) => flat(d[0]) %}

top -> stmt {% id %}
     | global_block {% id %}
     | vrrp_block {% id %}
     | lvs_block {% id %}
     | bfd_block {% id %}
