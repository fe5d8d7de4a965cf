# LVS CONFIGURATION (keepalived.conf(5)): SSL, virtual_server_group, virtual_server,
# real_server. The checker blocks of a real_server are in checkers.ne.

# (the lexer must be named in every included file, or nearley splits literals into characters)
@lexer lexer

lvs_block -> "SSL" args %eol %lbrace plain_item:* %rbrace {% blockNode %}
  | "virtual_server_group" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}
  | "virtual_server" args %eol %lbrace virtual_server_item:* %rbrace {% blockNode %}

virtual_server_item -> stmt {% id %}
  | "real_server" args %eol %lbrace real_server_item:* %rbrace {% blockNode %}

real_server_item -> stmt {% id %}
  | checker_block {% id %}
