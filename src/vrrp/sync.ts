/**
 * vrrp_sync_group: members change state together (keepalived vrrp_sync.c semantics).
 *  - The group goes MASTER only when every member wants MASTER; then all members do.
 *  - A member falling back to BACKUP takes the others with it.
 *  - A member entering FAULT puts all others in FAULT; they leave FAULT together once no member
 *    has a fault of its own.
 * Pure: wraps step() for each member and feeds `syncGroup` events to the peers.
 */
import { step, type LogFields, type NotifyState, type VrrpAction, type VrrpEvent, type VrrpState, type VrrpStateName } from './fsm.js';

export interface SyncGroupState {
  /** `vrrp_sync_group <NAME>` */
  name: string;
  state: VrrpStateName;
  members: Readonly<Record<string, VrrpState>>;
  /** Member instance names in configuration order. */
  order: readonly string[];
}

export interface SyncGroupAction {
  /** Member the action belongs to; undefined for group-level log/notify actions. */
  instance?: string;
  action: VrrpAction;
}

export interface SyncGroupStepResult {
  group: SyncGroupState;
  actions: SyncGroupAction[];
}

export function createSyncGroup(name: string, members: readonly VrrpState[]): SyncGroupState {
  const map: Record<string, VrrpState> = {};
  for (const m of members) {
    map[m.cfg.name] = { ...m, sync: { group: name, peersWantMaster: false, groupFault: false } };
  }
  return { name, state: 'INIT', members: map, order: members.map((m) => m.cfg.name) };
}

function withView(members: Readonly<Record<string, VrrpState>>, order: readonly string[], name: string, group: string): VrrpState {
  const self = members[name];
  if (!self) throw new RangeError(`${name} is not a member of sync group ${group}`);
  const others = order.filter((n) => n !== name).map((n) => members[n]).filter((m): m is VrrpState => m !== undefined);
  return {
    ...self,
    sync: {
      group,
      peersWantMaster: others.every((o) => o.state === 'MASTER' || o.wantState === 'MASTER'),
      groupFault: others.some((o) => o.faults.length > 0),
    },
  };
}

/** Apply `event` to member `instance`, then propagate its state change to the other members. */
export function stepSyncGroup(group: SyncGroupState, instance: string, event: VrrpEvent, now: number): SyncGroupStepResult {
  const members: Record<string, VrrpState> = { ...group.members };
  let groupState = group.state;
  const actions: SyncGroupAction[] = [];
  const queue: Array<[string, VrrpEvent]> = [[instance, event]];

  const groupLog = (msg: string, fields: Omit<LogFields, 'instance'>): void => {
    actions.push({ action: { type: 'log', msg, fields: { instance: group.name, group: group.name, ...fields } } });
  };
  const groupNotify = (state: NotifyState): void => {
    actions.push({ action: { type: 'runNotify', state, group: group.name } });
  };
  const syncTo = (to: 'MASTER' | 'BACKUP' | 'FAULT', from: string, targets: (m: VrrpState) => boolean): void => {
    groupLog(`VRRP_Group(${group.name}) Syncing instances to ${to} state`, { from: groupState, to, reason: `member ${from}` });
    groupState = to;
    groupNotify(to);
    for (const n of group.order) {
      const m = members[n];
      if (n !== from && m && targets(m)) queue.push([n, { type: 'syncGroup', to, group: group.name }]);
    }
  };

  // Each member changes state at most a few times per propagation; bound the loop regardless.
  for (let guard = 0; queue.length > 0 && guard < 16 * (group.order.length + 1); guard++) {
    const [name, ev] = queue.shift() as [string, VrrpEvent];
    const before = withView(members, group.order, name, group.name);
    const r = step(before, ev, now);
    members[name] = r.state;
    for (const a of r.actions) actions.push({ instance: name, action: a });
    const prev = before.state;
    const next = r.state.state;
    if (prev === next) continue;
    if (next === 'MASTER' && groupState !== 'MASTER') {
      syncTo('MASTER', name, (m) => m.state === 'BACKUP');
    } else if (next === 'BACKUP' && groupState !== 'BACKUP') {
      syncTo('BACKUP', name, (m) => m.state === 'MASTER' || (m.state === 'FAULT' && m.faults.length === 0));
    } else if (next === 'FAULT' && groupState !== 'FAULT') {
      syncTo('FAULT', name, (m) => m.state === 'MASTER' || m.state === 'BACKUP');
    } else if (next === 'STOP' && group.order.every((n) => members[n]?.state === 'STOP')) {
      groupState = 'STOP';
      groupNotify('STOP');
    }
  }
  return { group: { ...group, state: groupState, members }, actions };
}
