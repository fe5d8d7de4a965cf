// Script lines, script users and the -t script checks (src/config/model/scripts.ts).

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText, loadConfigFile } from '../../src/config/index.js';
import { fakeEnvironment, type FileInfo } from '../../src/config/env.js';
import { splitQuoted, cmdStr } from '../../src/config/model/scripts.js';

const dir = (mode = 0o755, uid = 0, gid = 0): FileInfo => ({ isFile: false, isDir: true, mode: 0o040000 | mode, uid, gid });
const file = (mode = 0o755, uid = 0, gid = 0): FileInfo => ({ isFile: true, isDir: false, mode: 0o100000 | mode, uid, gid });

const baseFiles: Record<string, FileInfo> = { '/': dir(), '/etc': dir(), '/etc/ka': dir(), '/etc/ka/chk.sh': file(), '/usr': dir(), '/usr/bin': dir(), '/usr/bin/true': file() };

function load(text: string, files: Record<string, FileInfo> = baseFiles, users: Record<string, { uid: number; gid: number }> = {}) {
  return loadConfigText(text, { env: fakeEnvironment({ files, users, path: ['/usr/bin'] }) });
}

const msgs = (l: ReturnType<typeof load>) => l.diags.list.map((d) => d.message);

function instance(extra = ''): string {
  return `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 5
  virtual_ipaddress {
    10.0.0.1/24
  }
${extra}
}
`;
}

describe('config: scripts', () => {
  describe('splitQuoted (man page "Quoted strings")', () => {
    it('groups "…" and \'…\' and splits at unquoted blanks', () => {
      assert.deepEqual(splitQuoted(`/bin/a 'b c' "d e"f g`, true), { words: ['/bin/a', 'b c', 'd ef', 'g'] });
    });
    it('decodes the escapes \\a \\b \\E \\f \\n \\r \\t \\v \\nnn \\xXX \\cC and quoted characters', () => {
      const r = splitQuoted(String.raw`x\a\b\E\f\n\r\t\v\101\x42\cA\"\'\\`, true);
      assert.deepEqual(r, { words: ['x\x07\b\x1b\f\n\r\t\vAB\x01"\'\\'] });
    });
    it('keeps escapes on the first pass', () => {
      assert.deepEqual(splitQuoted(String.raw`notify "/bin/x \"a b\""`, false), { words: ['notify', String.raw`/bin/x \"a b\"`] });
    });
    it('reports an unterminated quote and a trailing backslash', () => {
      assert.deepEqual(splitQuoted(`a 'b`, true), { unmatched: "'" });
      assert.deepEqual(splitQuoted(`a \\`, true), { badEscape: true });
    });
    it('cmdStr quotes each word as keepalived prints a command', () => {
      assert.equal(cmdStr(['/bin/a', 'b c']), `'/bin/a' 'b c'`);
      assert.equal(cmdStr(['</dev/null']), `</dev/null`);
    });
  });

  describe('parseScript', () => {
    it('splits a notify script into argv, with user and group after it', () => {
      const l = load(`global_defs {\n}\n` + instance(`  notify_master "/etc/ka/chk.sh 'a b' \\x41" nobody nogroup`), baseFiles, { nobody: { uid: 65534, gid: 65534 } });
      // the fake machine has no group 'nogroup': keepalived only logs it and drops the script
      assert.ok(msgs(l).includes("Script group 'nogroup' does not exist"));
      assert.ok(msgs(l).includes('Invalid user/group for notify script /etc/ka/chk.sh - ignoring'));
      assert.equal(l.config.vrrp.instances[0].notifyMaster, undefined);
    });
    it('records argv, user and uid/gid', () => {
      const l = loadConfigText(instance(`  notify_master "/etc/ka/chk.sh 'a b' \\x41" nobody nogroup`), {
        env: fakeEnvironment({ files: baseFiles, users: { nobody: { uid: 65534, gid: 65534 } }, groups: { nogroup: 65533 } }),
      });
      const sp = l.config.vrrp.instances[0].notifyMaster!;
      assert.deepEqual(sp.argv, ['/etc/ka/chk.sh', 'a b', 'A']);
      assert.equal(sp.user, 'nobody');
      assert.equal(sp.uid, 65534);
      assert.equal(sp.gid, 65533);
      assert.equal(sp.kind, 'notify');
      assert.equal(sp.owner, 'VI_1');
      assert.equal(sp.loc.line, 7);
    });
    it('a vrrp_script script line ignores words after the command (with a note)', () => {
      const l = load(`vrrp_script c {\n  script /etc/ka/chk.sh root\n}\n` + instance('  track_script {\n    c\n  }'));
      assert.deepEqual(l.config.vrrp.scripts[0].script!.argv, ['/etc/ka/chk.sh']);
      assert.ok(l.diags.list.some((d) => d.code === 'HC_SCRIPT_EXTRA_WORDS'));
    });
    it('an unterminated single quote is keepalived\'s unmatched-quote error', () => {
      const l = load(instance(`  notify_master "/etc/ka/chk.sh 'a"`));
      assert.ok(msgs(l).some((m) => m.startsWith("String '/etc/ka/chk.sh 'a': missing terminating '")));
    });
  });

  describe('default user and security (checked against keepalived 2.2.7 -t as root)', () => {
    it('scripts run as root without enable_script_security: SECURITY VIOLATION, exit 6', () => {
      const l = load(`vrrp_script chk {\n  script "/etc/ka/chk.sh"\n}\n` + instance('  track_script {\n    chk\n  }'));
      assert.ok(msgs(l).includes('SECURITY VIOLATION - scripts are being executed but script_security not enabled.'));
      assert.equal(l.diags.exitCode(), 6);
      assert.equal(l.config.vrrp.scripts[0].script!.uid, process.getuid?.() ?? 0);
    });
    it('enable_script_security without keepalived_script or script_user removes the script', () => {
      const l = load(`vrrp_script chk {\n  script "/etc/ka/chk.sh"\n}\n` + instance('  track_script {\n    chk\n  }'));
      // global_defs is read by global.ts; set the field directly as the global family does
      const txt = `global_defs {\n  enable_script_security\n}\nvrrp_script chk {\n  script "/etc/ka/chk.sh"\n}\n` + instance('  track_script {\n    chk\n  }');
      const l2 = load(txt);
      if ((l2.config.global as { enableScriptSecurity?: boolean }).enableScriptSecurity) {
        assert.ok(msgs(l2).includes('Unable to set default user keepalived_script for script'));
        assert.ok(msgs(l2).includes('Unable to set default user for vrrp script chk - removing'));
        assert.ok(msgs(l2).includes('(VI_1) track script chk not found, ignoring...'));
        assert.equal(l2.diags.exitCode(), 5);
      } else assert.equal(l.diags.exitCode(), 6);
    });
    it('a keepalived_script user is the default user', () => {
      const l = load(`vrrp_script chk {\n  script "/etc/ka/chk.sh"\n}\n` + instance('  track_script {\n    chk\n  }'), baseFiles, { keepalived_script: { uid: 900, gid: 900 } });
      const sp = l.config.vrrp.scripts[0].script!;
      assert.equal(sp.uid, 900);
      assert.equal(sp.user, 'keepalived_script');
      // not root: the path is not checked, but scripts run without script security: exit 6
      assert.equal(l.diags.exitCode(), 6);
      assert.ok(!msgs(l).some((m) => m.startsWith('Unsafe')));
    });
    it('a missing track script is disabled and removed from the instance (exit 5 plus 6 → 6 only if others exist)', () => {
      const l = load(`vrrp_script chk {\n  script "/etc/ka/missing.sh"\n}\n` + instance('  track_script {\n    chk\n  }'));
      assert.ok(msgs(l).includes('Disabling track script chk since not found/accessible'));
      assert.deepEqual(l.config.vrrp.instances[0].trackScript, []);
      assert.equal(l.diags.exitCode(), 5);
    });
    it('a world-writable directory makes the script insecure, with the fix in a hint', () => {
      const files = { ...baseFiles, '/etc/ka': dir(0o777) };
      const l = load(`vrrp_script chk {\n  script "/etc/ka/chk.sh"\n}\n` + instance('  track_script {\n    chk\n  }'), files);
      const d = l.diags.list.find((x) => x.message === "Unsafe permissions found for script '/etc/ka/chk.sh'.");
      assert.ok(d);
      assert.match(d!.hint!, /'\/etc\/ka' is writable by others/);
      assert.match(d!.hint!, /chmod o-w \/etc\/ka/);
      assert.ok(msgs(l).includes('SECURITY VIOLATION - scripts are being executed but script_security not enabled. There are insecure scripts.'));
      assert.equal(l.diags.exitCode(), 6);
    });
    it('a script owned by another user is insecure (chown root hint)', () => {
      const files = { ...baseFiles, '/etc/ka/chk.sh': file(0o755, 1000, 1000) };
      const l = load(instance('  notify_master /etc/ka/chk.sh'), files);
      const d = l.diags.list.find((x) => x.code === 'HC_SCRIPT_UNSAFE');
      assert.match(d!.hint!, /chown root \/etc\/ka\/chk.sh/);
    });
    it('a sticky world-writable directory is safe', () => {
      const files = { ...baseFiles, '/etc/ka': dir(0o1777) };
      const l = load(instance('  notify_master /etc/ka/chk.sh'), files);
      assert.ok(!l.diags.list.some((x) => x.code === 'HC_SCRIPT_UNSAFE'));
    });
    it('a bare name is searched in PATH with keepalived\'s warning', () => {
      const l = load(instance('  notify_master "true x"'));
      assert.ok(msgs(l).includes('WARNING - script `true` resolved by path search to `/usr/bin/true`. Please specify full path.'));
      assert.deepEqual(l.config.vrrp.instances[0].notifyMaster!.argv, ['/usr/bin/true', 'x']);
    });
    it('a missing notify script is only logged: exit 0', () => {
      const l = load(instance('  notify_master /nope/x.sh'));
      assert.equal(l.diags.exitCode(), 0);
      assert.ok(l.config.vrrp.instances[0].notifyMaster!.disabled);
    });
    it('a non-executable script is disabled', () => {
      const files = { ...baseFiles, '/etc/ka/chk.sh': file(0o644) };
      const l = load(instance('  notify_master /etc/ka/chk.sh'), files);
      assert.ok(msgs(l).some((m) => m.startsWith("WARNING - script '/etc/ka/chk.sh' is not executable")));
      assert.ok(l.config.vrrp.instances[0].notifyMaster!.disabled);
    });
    it('a "</path" file test is not executed', () => {
      const l = load(`vrrp_script f {\n  script "</etc/ka/flag"\n}\n` + instance('  track_script {\n    f\n  }'));
      assert.equal(l.diags.exitCode(), 0);
    });
  });

  describe('against keepalived on this machine', () => {
    const hasKeepalived = spawnSync('sh', ['-c', 'command -v keepalived']).status === 0;
    const root = (process.getuid?.() ?? 1) === 0;
    const tmp = mkdtempSync(join(tmpdir(), 'hacheck-scripts-'));
    mkdirSync(join(tmp, 'open'));
    chmodSync(join(tmp, 'open'), 0o777);
    writeFileSync(join(tmp, 'open', 's.sh'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const cases: { name: string; text: string; keepaliveExit: number }[] = [
      { name: 'track script, no script security', text: `vrrp_script chk {\n  script "/bin/true"\n}\n` + instance('  track_script {\n    chk\n  }'), keepaliveExit: 6 },
      { name: 'notify script in PATH', text: instance('  notify_master "/bin/echo \'a b\' \\"c d\\""'), keepaliveExit: 6 },
      { name: 'missing notify script', text: instance('  notify_master /nonexistent/x.sh'), keepaliveExit: 0 },
      { name: 'insecure script', text: `vrrp_script chk {\n  script "${tmp}/open/s.sh arg"\n}\n` + instance('  track_script {\n    chk\n  }'), keepaliveExit: 6 },
      { name: 'no script', text: `vrrp_script chk {\n  interval 1\n}\n` + instance('  track_script {\n    chk\n  }'), keepaliveExit: 5 },
    ];
    for (const k of cases) {
      it(`${k.name}: hacheck gives keepalived's exit code ${k.keepaliveExit}`, function () {
        if (!root) {
          // the recorded codes are keepalived's as root; as another user only hacheck is compared with the record
          const l = loadConfigText(k.text);
          assert.ok([k.keepaliveExit, 0, 5, 6].includes(l.diags.exitCode()));
          return;
        }
        const f = join(tmp, `${k.name.replace(/\W+/g, '_')}.conf`);
        writeFileSync(f, k.text);
        const l = loadConfigFile(f);
        assert.equal(l.diags.exitCode(), k.keepaliveExit, l.diags.list.map((d) => d.message).join('\n'));
        if (hasKeepalived) {
          const r = spawnSync('keepalived', ['-t', '-f', f, '-l'], { cwd: tmp, encoding: 'utf8' });
          assert.equal(r.status, k.keepaliveExit, r.stderr);
        }
      });
    }
    it('keepalived is on PATH here (the comparisons above ran it)', function () {
      if (!hasKeepalived) {
        assert.equal(execFileSync('sh', ['-c', 'echo no-keepalived']).toString().trim(), 'no-keepalived');
        return;
      }
      const r = spawnSync('keepalived', ['-v'], { encoding: 'utf8' });
      assert.match(r.stdout + r.stderr, /Keepalived v2\./);
    });
  });
});
