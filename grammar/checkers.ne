# Health checkers of a real_server (keepalived.conf(5), LVS CONFIGURATION).

# (the lexer must be named in every included file, or nearley splits literals into characters)
@lexer lexer

checker_block -> "TCP_CHECK" args %eol %lbrace plain_item:* %rbrace {% blockNode %}
  | "HTTP_GET" args %eol %lbrace http_item:* %rbrace {% blockNode %}
  | "SSL_GET" args %eol %lbrace http_item:* %rbrace {% blockNode %}
  | "MISC_CHECK" args %eol %lbrace plain_item:* %rbrace {% blockNode %}
  | "SMTP_CHECK" args %eol %lbrace smtp_item:* %rbrace {% blockNode %}
  | "DNS_CHECK" args %eol %lbrace plain_item:* %rbrace {% blockNode %}
  | "UDP_CHECK" args %eol %lbrace plain_item:* %rbrace {% blockNode %}
  | "PING_CHECK" args %eol %lbrace plain_item:* %rbrace {% blockNode %}
  | "FILE_CHECK" args %eol %lbrace file_check_item:* %rbrace {% blockNode %}
  | "BFD_CHECK" args %eol %lbrace plain_item:* %rbrace {% blockNode %}

# HTTP_GET / SSL_GET: each `url { path … digest … status_code … }` is one URL to check.
http_item -> stmt {% id %}
  | "url" args %eol %lbrace plain_item:* %rbrace {% blockNode %}

# SMTP_CHECK: each `host { connect_ip … }` is one more server to check.
smtp_item -> stmt {% id %}
  | "host" args %eol %lbrace plain_item:* %rbrace {% blockNode %}

# FILE_CHECK: `track_file NAME` is a plain line here, though track_file opens a block at
# the top level.
file_check_item -> stmt {% id %}
  | "track_file" args %eol {% stmtNode %}
