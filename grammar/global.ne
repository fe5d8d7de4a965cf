# GLOBAL CONFIGURATION (keepalived.conf(5)): global_defs, linkbeat_interfaces,
# interface_up_down_delays, track_group, static_ipaddress / static_routes / static_rules.

# (the lexer must be named in every included file, or nearley splits literals into characters)
@lexer lexer

global_block -> "global_defs" args %eol %lbrace global_defs_item:* %rbrace {% blockNode %}
  | "linkbeat_interfaces" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}
  | "interface_up_down_delays" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}
  | "track_group" args %eol %lbrace track_group_item:* %rbrace {% blockNode %}
  | "static_ipaddress" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}
  | "static_routes" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}
  | "static_rules" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}

global_defs_item -> stmt {% id %}
  | "notification_email" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}

track_group_item -> stmt {% id %}
  | "group" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}
