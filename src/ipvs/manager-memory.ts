// An in-memory IPVS backend with the kernel's answers to conflicting
// operations (ip_vs_ctl.c: -EEXIST "already exists", -ESRCH "not defined" /
// "does not exist"), for unit tests of the manager and for benchmarks of the
// pure path. Failures can be injected per operation or for whole calls.

import { applyOpsToTable } from './diff.js';
import { IpvsadmError, formatOp } from './ipvsadm.js';
import type { ApplyResult, IpvsBackend } from './ipvsadm.js';
import { realServerKey, serviceKeyString } from './types.js';
import type { Op, Table } from './types.js';

export class MemoryBackend implements IpvsBackend {
  table: Table = new Map();
  /** Every apply() call's operations, in order. */
  readonly batches: Op[][] = [];
  getTableCalls = 0;
  /** Make an operation fail with this message (checked before the kernel rules). */
  failOp: ((op: Op) => string | undefined) | undefined;
  /** Make whole calls fail as if ipvsadm were missing. */
  missingBinary = false;
  /** Delay of each call in ms (to test overlap and coalescing). */
  delayMs = 0;
  private inFlight = 0;
  /** Highest number of calls that ran at the same time. */
  maxConcurrent = 0;

  private async enter(): Promise<void> {
    this.inFlight++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.inFlight);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    else await Promise.resolve();
  }

  async getTable(): Promise<Table> {
    await this.enter();
    try {
      this.getTableCalls++;
      if (this.missingBinary) throw new IpvsadmError('ipvsadm not found (is ipvsadm installed?)', 'ENOENT', ['ipvsadm', '-S', '-n']);
      return applyOpsToTable(this.table, []);
    } finally {
      this.inFlight--;
    }
  }

  async apply(ops: readonly Op[]): Promise<ApplyResult> {
    await this.enter();
    try {
      if (this.missingBinary) throw new IpvsadmError('ipvsadm not found (is ipvsadm installed?)', 'ENOENT', ['ipvsadm', '-R']);
      this.batches.push([...ops]);
      const result: ApplyResult = { applied: [], failed: [], processes: 1 };
      for (const op of ops) {
        const message = this.failOp?.(op) ?? this.kernelError(op);
        if (message) result.failed.push({ op, line: formatOp(op), message });
        else {
          this.table = applyOpsToTable(this.table, [op]);
          result.applied.push(op);
        }
      }
      return result;
    } finally {
      this.inFlight--;
    }
  }

  /** What the kernel would refuse (ipvsadm's messages for the errno). */
  private kernelError(op: Op): string | undefined {
    switch (op.kind) {
      case 'add-service':
        return this.table.has(serviceKeyString(op.service.key)) ? 'Service already exists' : undefined;
      case 'edit-service':
      case 'delete-service': {
        const key = op.kind === 'edit-service' ? op.service.key : op.key;
        return this.table.has(serviceKeyString(key)) ? undefined : 'No such service';
      }
      default: {
        const vs = this.table.get(serviceKeyString(op.key));
        if (!vs) return 'Service not defined';
        const has = vs.realServers.has(realServerKey(op.server));
        if (op.kind === 'add-server') return has ? 'Destination already exists' : undefined;
        return has ? undefined : 'No such destination';
      }
    }
  }
}
