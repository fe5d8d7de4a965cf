// The Prometheus registry computed from a daemon status: per-instance series, and the
// dual-master / foreign-VRID situations keepalived only logs, one series per peer.
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildRegistry } from '../../src/daemon/metrics.js';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import type { InstanceStatus } from '../../src/vrrp/engine.js';

const stats = { becomeMaster: 1, releaseMaster: 0, advertSent: 12, priZeroSent: 0, priZeroRcvd: 0, advertRcvd: 3, errors: { auth_failure: 2 } };

function instance(over: Partial<InstanceStatus>): InstanceStatus {
  return {
    name: 'VI_1', vrid: 51, interface: 'eth0', family: 'inet', advertIntervalCs: 100, state: 'MASTER', wantState: 'MASTER',
    basePriority: 150, effectivePriority: 150, faults: [], dualMasterPeers: [], foreignVridPeers: [],
    stats: stats as unknown as InstanceStatus['stats'],
    ...over,
  };
}

describe('metrics registry', () => {
  it('per instance: state, priority, adverts, errors; dual-master and foreign-VRID peers as series', async () => {
    const status: DaemonStatus = {
      pid: 1, configFile: '/x', startedAt: '', reloads: 0,
      vrrp: [instance({ dualMasterPeers: ['10.0.0.2'], foreignVridPeers: ['10.0.0.9', '10.0.0.10'] }), instance({ name: 'VI_2', vrid: 52, state: 'BACKUP', effectivePriority: 90 })],
    };
    const loop = monitorEventLoopDelay();
    const text = await buildRegistry(() => status, loop).metrics();
    assert.match(text, /hacheck_vrrp_state\{instance="VI_1",vrid="51"\} 2/);
    assert.match(text, /hacheck_vrrp_state\{instance="VI_2",vrid="52"\} 1/);
    assert.match(text, /hacheck_vrrp_effective_priority\{instance="VI_2",vrid="52"\} 90/);
    assert.match(text, /hacheck_vrrp_adverts_sent_total\{instance="VI_1",vrid="51"\} 12/);
    assert.match(text, /hacheck_vrrp_packet_errors_total\{instance="VI_1",vrid="51",counter="auth_failure"\} 2/);
    assert.match(text, /hacheck_vrrp_dual_master_peers\{instance="VI_1",vrid="51",peer="10.0.0.2"\} 1/);
    assert.match(text, /hacheck_vrrp_foreign_vrid_peers\{instance="VI_1",vrid="51",peer="10.0.0.10"\} 1/);
    assert.doesNotMatch(text, /hacheck_vrrp_dual_master_peers\{instance="VI_2"/);
  });
});
