// Which upload rate is in force when: upload.maxMbps, and schedule windows (first match wins).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitByBytes } from '../agent/upload/uploader';
import { currentMaxMbps } from '../agent/upload/schedule';

const upload = {
  maxMbps: 0,
  schedule: [
    { days: [1, 2, 3, 4, 5], from: '07:00', to: '19:00', maxMbps: 10 },
    { days: [5], from: '22:00', to: '02:00', maxMbps: 50 },
  ],
};

test('weekdays 07:00-19:00 at 10 Mbps, unlimited at night and at the weekend', () => {
  assert.equal(currentMaxMbps(upload, new Date(2026, 10, 25, 9, 30)), 10, 'Wednesday 09:30');
  assert.equal(currentMaxMbps(upload, new Date(2026, 10, 25, 19, 0)), 0, 'Wednesday 19:00: the window has ended');
  assert.equal(currentMaxMbps(upload, new Date(2026, 10, 25, 6, 59)), 0, 'Wednesday 06:59');
  assert.equal(currentMaxMbps(upload, new Date(2026, 10, 28, 10, 0)), 0, 'Saturday 10:00');
});

test('a window over midnight belongs to the day it starts on', () => {
  assert.equal(currentMaxMbps(upload, new Date(2026, 10, 27, 23, 0)), 50, 'Friday 23:00');
  assert.equal(currentMaxMbps(upload, new Date(2026, 10, 28, 1, 0)), 50, 'Saturday 01:00, from Friday night');
  assert.equal(currentMaxMbps(upload, new Date(2026, 10, 29, 1, 0)), 0, 'Sunday 01:00: Saturday has no window');
});

test('batches are split by bytes; an instance larger than the limit goes alone', () => {
  const sizes = [400, 400, 300, 2000, 100].map((fileBytes) => ({ fileBytes }));
  assert.deepEqual(
    splitByBytes(sizes, 1000).map((group) => group.map((i) => i.fileBytes)),
    [[400, 400], [300], [2000], [100]],
  );
});
