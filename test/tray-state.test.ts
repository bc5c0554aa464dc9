// The tray's state machine without timers: polls and a clock in, view and notifications out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiStatus } from '../agent/api/types';
import { TrayState } from '../tray/tray-state';
import { greenStatus } from './helpers/fake-agent-api';

const T0 = Date.parse('2026-03-02T08:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

function status(change: (s: ApiStatus) => void = () => undefined): { status: ApiStatus } {
  const s = greenStatus();
  change(s);
  return { status: s };
}

function unreachableSince(minutesFromT0: number) {
  return status((s) => {
    s.state = 'amber';
    s.upstream.reachable = false;
    s.upstream.unreachableSince = at(minutesFromT0).toISOString();
    s.reasons = [{ code: 'upstream-unreachable', state: 'amber', message: 'The cloud is not answering' }];
  });
}

test('the view: grey without an agent; colour, one-line tooltip and menu lines from its status', () => {
  const state = new TrayState({ unreachableMinutes: 10, repeatMinutes: 30 });
  const away = state.observe({ error: 'connection refused' }, at(0)).view;
  assert.deepEqual(away, {
    colour: 'grey',
    tooltip: 'DICOM Gateway: the agent is not running',
    stateLine: 'Agent not running',
    queueLine: 'Queue: unknown',
    lastUploadLine: 'Last upload: unknown',
    paused: null,
    agentRunning: false,
  });

  const busy = status((s) => {
    s.state = 'amber';
    s.reasons = [
      { code: 'paused', state: 'amber', message: 'Uploads are paused' },
      { code: 'disk-low', state: 'amber', message: 'Only 9 GB free' },
    ];
    s.paused = true;
    s.queue = { studies: 12, instances: 3400, bytes: 2_345_000_000, failed: 0 };
    s.lastUploadedAt = at(-125).toISOString();
  });
  const view = state.observe(busy, at(0)).view;
  assert.equal(view.colour, 'amber');
  assert.equal(view.stateLine, 'State: Uploads are paused');
  assert.equal(view.queueLine, 'Queue: 12 studies, 3400 images (2.3 GB)');
  assert.equal(view.lastUploadLine, 'Last upload: 2 h ago');
  assert.equal(view.paused, true);
  assert.ok(view.tooltip.length <= 127 && !view.tooltip.includes('\n'), view.tooltip);

  const long = status((s) => {
    s.state = 'red';
    s.reasons = [{ code: 'database', state: 'red', message: 'x'.repeat(300) }];
  });
  assert.equal(state.observe(long, at(1)).view.tooltip.length, 127);
});

test('the cloud unreachable notifies once, only after N minutes, and again only after it came back and went away', () => {
  const state = new TrayState({ unreachableMinutes: 10, repeatMinutes: 30 });
  assert.deepEqual(state.observe(unreachableSince(0), at(5)).notices, [], 'not yet N minutes');
  const notices = state.observe(unreachableSince(0), at(11)).notices;
  assert.deepEqual(
    notices.map((n) => [n.kind, n.title]),
    [['upstream-unreachable', 'Cloud unreachable']],
  );
  assert.equal(notices[0].message, 'The cloud is not answering');
  assert.deepEqual(state.observe(unreachableSince(0), at(12)).notices, [], 'no repeat while it stays');
  assert.deepEqual(state.observe({ error: 'agent restarting' }, at(13)).notices, [], 'the agent away changes nothing');
  assert.deepEqual(state.observe(unreachableSince(0), at(14)).notices, [], 'still the same outage after the agent came back');

  assert.deepEqual(
    state.observe(status(), at(20)).notices,
    [{ kind: 'upstream-back', title: 'Cloud reachable again', message: 'Uploads resumed after 20 minutes without the cloud.' }],
    'reachable again: said once',
  );
  assert.deepEqual(state.observe(status(), at(21)).notices, []);
  assert.deepEqual(state.observe(unreachableSince(21), at(35)).notices, [], 'a new outage within 30 minutes of the last notice: rate-limited');
  assert.deepEqual(state.observe(status(), at(40)).notices, [], 'an outage nobody was told of ends quietly');
  assert.deepEqual(
    state.observe(unreachableSince(41), at(52)).notices.map((n) => n.kind),
    ['upstream-unreachable'],
    'after 30 minutes: notified again',
  );
});

test('failed uploads notify when they grow; disk low when it starts', () => {
  const state = new TrayState({ unreachableMinutes: 10, repeatMinutes: 30 });
  const failed = (n: number) => status((s) => (s.queue.failed = n));
  assert.deepEqual(state.observe(failed(0), at(0)).notices, []);
  const first = state.observe(failed(1), at(1)).notices;
  assert.deepEqual(first, [{ kind: 'uploads-failed', title: 'Upload failed', message: '1 upload failed permanently. See the status page.' }]);
  assert.deepEqual(state.observe(failed(1), at(2)).notices, [], 'the same failure');
  assert.deepEqual(state.observe(failed(3), at(3)).notices, [], 'more failures, but within 30 minutes');
  assert.deepEqual(state.observe(failed(0), at(40)).notices, [], 'retried');
  const withReason = status((s) => {
    s.queue.failed = 2;
    s.reasons = [{ code: 'uploads-failed', state: 'amber', message: '2 instances were refused by the cloud: kept here until retried.' }];
  });
  assert.deepEqual(
    state.observe(withReason, at(41)).notices.map((n) => n.message),
    ['2 instances were refused by the cloud: kept here until retried. See the status page.'],
    "the agent's words when it gives them",
  );

  const disk = (code: string) => status((s) => (s.reasons = [{ code, state: 'amber', message: `${code} message` }]));
  assert.deepEqual(state.observe(disk('disk-low'), at(50)).notices, [{ kind: 'disk-low', title: 'Disk nearly full', message: 'disk-low message' }]);
  assert.deepEqual(state.observe(disk('disk-low'), at(51)).notices, []);
  assert.deepEqual(state.observe(disk('disk-full'), at(52)).notices, [], 'low then full is one condition');
  assert.deepEqual(state.observe(status(), at(90)).notices, []);
  assert.deepEqual(
    state.observe(disk('disk-full'), at(91)).notices.map((n) => n.title),
    ['Disk full'],
  );
});
