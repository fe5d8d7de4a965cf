# BFD CONFIGURATION (keepalived.conf(5)): bfd_instance.

# (the lexer must be named in every included file, or nearley splits literals into characters)
@lexer lexer

bfd_block -> "bfd_instance" args %eol %lbrace plain_item:* %rbrace {% blockNode %}
