# VRRPD CONFIGURATION (keepalived.conf(5)): vrrp_script, vrrp_track_process, track_file,
# garp_group, vrrp_sync_group, vrrp_instance.

# (the lexer must be named in every included file, or nearley splits literals into characters)
@lexer lexer

vrrp_block -> "vrrp_script" args %eol %lbrace plain_item:* %rbrace {% blockNode %}
  | "vrrp_track_process" args %eol %lbrace plain_item:* %rbrace {% blockNode %}
  | "track_file" args %eol %lbrace plain_item:* %rbrace {% blockNode %}
  # deprecated synonym of track_file (after v2.0.20)
  | "vrrp_track_file" args %eol %lbrace plain_item:* %rbrace {% blockNode %}
  | "garp_group" args %eol %lbrace garp_group_item:* %rbrace {% blockNode %}
  | "vrrp_sync_group" args %eol %lbrace sync_group_item:* %rbrace {% blockNode %}
  | "vrrp_instance" args %eol %lbrace vrrp_instance_item:* %rbrace {% blockNode %}

garp_group_item -> stmt {% id %}
  | "interfaces" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}

sync_group_item -> stmt {% id %}
  | "group" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}
  | track_list {% id %}

# Tracked objects, one a line, each with an optional `weight N` (and `reverse`).
track_list -> "track_interface" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}
  | "track_script" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}
  | "track_file" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}
  | "track_process" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}
  | "track_bfd" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}

vrrp_instance_item -> stmt {% id %}
  | track_list {% id %}
  | "authentication" args %eol %lbrace plain_item:* %rbrace {% blockNode %}
  | "auth_hmac" args %eol %lbrace plain_item:* %rbrace {% blockNode %}
  | "unicast_peer" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}
  | "virtual_ipaddress" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}
  | "virtual_ipaddress_excluded" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}
  | "virtual_routes" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}
  | "virtual_rules" args %eol %lbrace list_item:* %rbrace {% listBlockNode %}
