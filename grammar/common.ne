# Shapes shared by every block family. (nearley macros do not cross @include files, so
# each block is written out in its family's file with these pieces.)

# (the lexer must be named in every included file, or nearley splits literals into characters)
@lexer lexer

args -> %arg:* {% id %}

# `keyword arg…` on one line.
stmt -> %kw args %eol {% stmtNode %}

# The lines of a list block: one value per line (a VIP, an interface, a script name…);
# a value line may begin with any word.
list_item -> (%kw | %bkw) args %eol {% stmtNode %}

# A block of plain `keyword arg…` lines.
plain_item -> stmt {% id %}
