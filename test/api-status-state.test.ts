// The green / amber / red rules of GET /api/status, and the effective upload rate: pure functions, no agent.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { uploadMbps } from '../agent/api/live-status';
import { decideState, type StateFacts } from '../agent/api/status-state';

const MB = 1048576;
const NOW = new Date('2026-11-28T10:00:00Z');
const healthy: StateFacts = {
  agent: 'running',
  receiverListening: true,
  databaseOk: true,
  freeDiskBytes: 100_000 * MB,
  minFreeDiskBytes: 2048 * MB,
  upstreamConfigured: true,
  upstreamReachable: true,
  upstreamAlertMinutes: 15,
  paused: false,
  failedUploads: 0,
  missingFiles: 0,
  now: NOW,
};
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60000);
const codes = (facts: Partial<StateFacts>) => {
  const { state, reasons } = decideState({ ...healthy, ...facts });
  return [state, reasons.map((r) => `${r.code}:${r.state}`)];
};

describe('overall state', () => {
  test('green when all is well, and before anything was uploaded', () => {
    assert.deepEqual(codes({}), ['green', []]);
    assert.deepEqual(codes({ upstreamReachable: null }), ['green', []]);
  });

  test('red: receiver down, database down, disk below the limit, the cloud gone longer than upstreamAlertMinutes', () => {
    assert.deepEqual(codes({ receiverListening: false }), ['red', ['receiver-not-listening:red']]);
    assert.deepEqual(codes({ databaseOk: false }), ['red', ['database-down:red']]);
    assert.deepEqual(codes({ freeDiskBytes: 2047 * MB }), ['red', ['disk-full:red']]);
    assert.deepEqual(codes({ upstreamReachable: false, unreachableSince: minutesAgo(15) }), ['red', ['upstream-unreachable:red']]);
  });

  test('amber: paused, failed uploads, the cloud gone a short while, disk under twice the limit, no upstream', () => {
    assert.deepEqual(codes({ paused: true }), ['amber', ['paused:amber']]);
    assert.deepEqual(codes({ failedUploads: 2 }), ['amber', ['uploads-failed:amber']]);
    assert.deepEqual(codes({ missingFiles: 1 }), ['amber', ['spool-files-missing:amber']]);
    assert.deepEqual(codes({ upstreamReachable: false, unreachableSince: minutesAgo(14) }), ['amber', ['upstream-unreachable:amber']]);
    assert.deepEqual(codes({ freeDiskBytes: 4095 * MB }), ['amber', ['disk-low:amber']]);
    assert.deepEqual(codes({ freeDiskBytes: 4096 * MB }), ['green', []]);
    assert.deepEqual(codes({ upstreamConfigured: false, upstreamReachable: null }), ['amber', ['upstream-not-configured:amber']]);
    assert.deepEqual(codes({ freeDiskBytes: null }), ['green', []], 'an unreadable free space is not an alarm by itself');
  });

  test('every reason is listed; red wins; messages are plain sentences without patient data', () => {
    const { state, reasons } = decideState({ ...healthy, paused: true, failedUploads: 1, databaseOk: false, upstreamReachable: false, unreachableSince: minutesAgo(61) });
    assert.equal(state, 'red');
    assert.deepEqual(
      reasons.map((r) => r.code),
      ['database-down', 'upstream-unreachable', 'uploads-failed', 'paused'],
    );
    assert.match(reasons[1].message, /^Cloud unreachable since \d\d:\d\d \(61 minutes\): studies wait here\.$/);
    assert.equal(reasons[2].message, '1 instance was refused by the cloud: kept here until retried.');
  });

  test('an unreachable cloud says since when and when it is checked next', () => {
    const { reasons } = decideState({ ...healthy, upstreamReachable: false, unreachableSince: minutesAgo(3), nextCheckAt: new Date(healthy.now.getTime() + 12_000) });
    assert.match(reasons[0].message, /^Cloud unreachable since \d\d:\d\d \(3 minutes\); next check in 12 s: studies wait here\.$/);
  });

  test('read by `gateway status` while the agent is down: red, with what the database still tells', () => {
    const down = { receiverListening: false, databaseOk: false, upstreamReachable: null, paused: false };
    assert.deepEqual(codes({ ...down, agent: 'stopped' }), ['red', ['agent-not-running:red']]);
    assert.deepEqual(codes({ ...down, agent: 'stopped', failedUploads: 3, missingFiles: 1, freeDiskBytes: 3000 * MB }), [
      'red',
      ['agent-not-running:red', 'disk-low:amber', 'spool-files-missing:amber', 'uploads-failed:amber'],
    ]);
    assert.deepEqual(codes({ ...down, agent: 'not-answering' }), ['red', ['agent-not-answering:red']]);
  });
});

describe('effective upload rate', () => {
  test('payload megabits per second over the last minute, or since the start when that is sooner', () => {
    const now = 1_000_000;
    const deliveries = [
      { at: now - 70_000, bytes: 50_000_000 },
      { at: now - 30_000, bytes: 7_500_000 },
      { at: now - 1_000, bytes: 7_500_000 },
    ];
    assert.equal(uploadMbps(deliveries, now, now - 3600_000), 2);
    assert.equal(uploadMbps(deliveries, now, now - 40_000), 3, 'started 40 s ago: over 40 s');
    assert.equal(uploadMbps([], now, 0), 0);
  });
});
