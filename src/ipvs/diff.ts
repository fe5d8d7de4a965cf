// Pure comparison of two IPVS tables into the ipvsadm operations that turn
// the current one into the desired one. Entries that already match produce
// no operation, so a table adopted from a previous run (or another agent) is
// kept in place instead of being deleted and re-added.

import { realServerKey, serviceKeyString } from './types.js';
import type { Op, RealServer, ServiceAttrs, Table, VirtualService } from './types.js';

/**
 * Whether two services differ in something `ipvsadm -E` sets. The kernel's
 * edit-service (ip_vs_edit_service) replaces scheduler, flags, persistence
 * timeout, netmask and persistence engine; only the key (protocol, address,
 * port / fwmark, family) cannot change.
 */
export function serviceAttrsDiffer(a: ServiceAttrs, b: ServiceAttrs): boolean {
  return (
    a.scheduler !== b.scheduler ||
    a.schedFlags !== b.schedFlags ||
    a.persistenceTimeout !== b.persistenceTimeout ||
    (a.persistenceTimeout !== 0 && a.netmask !== b.netmask) ||
    a.ops !== b.ops ||
    a.pe !== b.pe
  );
}

/**
 * Whether two destinations with the same address and port differ in
 * something `ipvsadm -e` sets. The kernel's edit-dest (ip_vs_edit_dest →
 * __ip_vs_update_dest) replaces weight, forwarding method, both connection
 * thresholds and the tunnel parameters in place; address and port are the
 * key.
 */
export function realServerDiffers(a: RealServer, b: RealServer): boolean {
  if (a.weight !== b.weight || a.forwarding !== b.forwarding) return true;
  if (a.uThreshold !== b.uThreshold || a.lThreshold !== b.lThreshold) return true;
  if (a.forwarding === 'ipip') {
    return a.tunnel.type !== b.tunnel.type || a.tunnel.port !== b.tunnel.port || a.tunnel.csum !== b.tunnel.csum;
  }
  return false;
}

function attrsOf(vs: VirtualService): ServiceAttrs {
  const { realServers: _rs, ...attrs } = vs;
  return attrs;
}

/**
 * Operations turning `current` into `desired`.
 *
 * Scope: services in `desired` are managed. Services only in `current` are
 * deleted when they are listed in `managed` (keys as serviceKeyString, e.g.
 * the previous desired table's keys) or when `managed` is 'all'; otherwise
 * they are foreign (another tool's) and left alone. Inside a managed
 * service every destination not desired is deleted.
 *
 * Order: delete-server, delete-service, edit-service, add-service,
 * edit-server, add-server. Removals come first as keepalived does when
 * swapping real servers for the sorry server and back (ipwrapper.c
 * update_quorum_state); a service is always added before its servers. A
 * deleted service takes its destinations with it (ipvsadm(8) -D), so no
 * delete-server is emitted for them.
 */
export function diffTables(current: Table, desired: Table, managed?: Iterable<string> | 'all'): Op[] {
  const managedSet = managed === 'all' || managed === undefined ? undefined : new Set(managed);
  const deleteServers: Op[] = [];
  const deleteServices: Op[] = [];
  const editServices: Op[] = [];
  const addServices: Op[] = [];
  const editServers: Op[] = [];
  const addServers: Op[] = [];

  for (const [k, cur] of current) {
    if (desired.has(k)) continue;
    if (managed === 'all' || managedSet?.has(k)) deleteServices.push({ kind: 'delete-service', key: cur.key });
  }

  for (const [k, want] of desired) {
    const cur = current.get(k);
    if (!cur) {
      addServices.push({ kind: 'add-service', service: attrsOf(want) });
      for (const rs of want.realServers.values()) addServers.push({ kind: 'add-server', key: want.key, server: rs });
      continue;
    }
    if (serviceAttrsDiffer(cur, want)) editServices.push({ kind: 'edit-service', service: attrsOf(want) });
    for (const [rk, rs] of cur.realServers) {
      if (!want.realServers.has(rk)) {
        deleteServers.push({ kind: 'delete-server', key: want.key, server: { addr: rs.addr, port: rs.port } });
      }
    }
    for (const [rk, rs] of want.realServers) {
      const have = cur.realServers.get(rk);
      if (!have) addServers.push({ kind: 'add-server', key: want.key, server: rs });
      else if (realServerDiffers(have, rs)) editServers.push({ kind: 'edit-server', key: want.key, server: rs });
    }
  }

  return [...deleteServers, ...deleteServices, ...editServices, ...addServices, ...editServers, ...addServers];
}

/** Apply ops to a copy of a table, as the kernel would; used to check a diff and to track state. */
export function applyOpsToTable(table: Table, ops: readonly Op[]): Table {
  const out: Table = new Map();
  for (const [k, vs] of table) out.set(k, { ...vs, realServers: new Map(vs.realServers) });
  const keyOf = serviceKeyString;
  for (const op of ops) {
    switch (op.kind) {
      case 'add-service':
      case 'edit-service': {
        const prev = out.get(keyOf(op.service.key));
        out.set(keyOf(op.service.key), { ...op.service, realServers: prev?.realServers ?? new Map() });
        break;
      }
      case 'delete-service':
        out.delete(keyOf(op.key));
        break;
      case 'add-server':
      case 'edit-server':
        out.get(keyOf(op.key))?.realServers.set(realServerKey(op.server), { ...op.server });
        break;
      case 'delete-server':
        out.get(keyOf(op.key))?.realServers.delete(realServerKey(op.server));
        break;
    }
  }
  return out;
}
