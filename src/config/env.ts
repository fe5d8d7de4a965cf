// What keepalived's `-t` looks at on the machine: interfaces, users, groups and the
// files scripts live in. Injectable, so tests can describe a machine.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';

export interface FileInfo {
  isFile: boolean;
  isDir: boolean;
  mode: number;
  uid: number;
  gid: number;
}

export interface Environment {
  /** the network interface exists in this namespace */
  interfaceExists(name: string): boolean;
  /** uid/gid of a user, or undefined */
  user(name: string): { uid: number; gid: number } | undefined;
  /** gid of a group, or undefined */
  group(name: string): number | undefined;
  /** stat() a path, following links; undefined if it does not exist */
  stat(path: string): FileInfo | undefined;
  /** the PATH used to find a script given without a '/' */
  path: string[];
  /** host name (config-id default: the part before the first '.') */
  hostname: string;
}

function readDb(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/** The real machine, read once per use. */
export function realEnvironment(): Environment {
  let ifaces: Set<string> | undefined;
  let passwd: string[][] | undefined;
  let groups: string[][] | undefined;
  return {
    interfaceExists(name) {
      if (!ifaces) {
        try {
          ifaces = new Set(readdirSync('/sys/class/net'));
        } catch {
          ifaces = new Set();
        }
      }
      return ifaces.has(name);
    },
    user(name) {
      passwd ??= readDb('/etc/passwd');
      const e = passwd.find((r) => r[0] === name);
      return e ? { uid: Number(e[2]), gid: Number(e[3]) } : undefined;
    },
    group(name) {
      groups ??= readDb('/etc/group');
      const e = groups.find((r) => r[0] === name);
      return e ? Number(e[2]) : undefined;
    },
    stat(path) {
      try {
        const st = statSync(path);
        return { isFile: st.isFile(), isDir: st.isDirectory(), mode: st.mode, uid: st.uid, gid: st.gid };
      } catch {
        return undefined;
      }
    },
    path: (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':').filter(Boolean),
    hostname: hostname(),
  };
}

/** A described machine, for tests. */
export function fakeEnvironment(opts: {
  interfaces?: string[];
  users?: Record<string, { uid: number; gid: number }>;
  groups?: Record<string, number>;
  files?: Record<string, FileInfo>;
  path?: string[];
  hostname?: string;
}): Environment {
  const ifs = new Set(opts.interfaces ?? ['lo', 'eth0']);
  return {
    interfaceExists: (n) => ifs.has(n),
    user: (n) => opts.users?.[n] ?? (n === 'root' ? { uid: 0, gid: 0 } : undefined),
    group: (n) => opts.groups?.[n] ?? (n === 'root' ? 0 : undefined),
    stat: (p) => opts.files?.[p],
    path: opts.path ?? ['/usr/bin', '/bin'],
    hostname: opts.hostname ?? 'testhost',
  };
}
