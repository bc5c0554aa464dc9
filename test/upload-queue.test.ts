// The upload queue in PostgreSQL: queued on keep, claimed with SKIP LOCKED and leases, retried with backoff,
// failed visibly, queued again by `retry`, shared safely by several agents.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { migrate } from '../agent/db/migrate';
import { consoleLogger } from '../agent/logging';
import { recordInstance } from '../agent/studies/record-instance';
import { claimUploads, markDelivered, markFailed, requeueFailed } from '../agent/upload/queue';
import { ctInstanceRecord, sha256 } from './fixtures/instance-record';
import { createTestDatabase, query } from './helpers/database';

const NO_PRIORITIES: Array<{ modality: string; priority: number }> = [];

async function freshQueue(): Promise<{ pool: pg.Pool; url: string }> {
  const url = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  await migrate(pool, consoleLogger('warn'));
  return { pool, url };
}

let counter = 0;
async function keep(pool: pg.Pool, study: string, modality = 'CT', bytes = 'a'): Promise<string> {
  const sop = `1.2.826.0.1.${++counter}.${Date.now()}`;
  await recordInstance(pool, ctInstanceRecord(sop, { seriesUid: `${study}.1.${modality}`, studyUid: study, modality, spoolPath: `${study}/${sop}_${bytes}.dcm`, datasetSha256: sha256(sop + bytes) }));
  return sop;
}

describe('upload queue', () => {
  test('an instance is queued as soon as it is kept, and claimed in study arrival order', async () => {
    const { pool, url } = await freshQueue();
    try {
      const first = [await keep(pool, '1.1'), await keep(pool, '1.1')];
      const second = [await keep(pool, '2.2')];
      assert.equal((await query(url, "SELECT count(*)::int AS n FROM uploads WHERE state = 'queued'"))[0].n, 3);
      const claimed = await claimUploads(pool, { owner: 'agent-a/1', limit: 10, leaseSeconds: 60, priorities: NO_PRIORITIES, spoolId: 'spool-a' });
      assert.deepEqual(
        claimed.map((c) => c.sopInstanceUid),
        [...first, ...second],
      );
      assert.equal(claimed[0].attempts, 1);
      assert.equal((await claimUploads(pool, { owner: 'agent-a/2', limit: 10, leaseSeconds: 60, priorities: NO_PRIORITIES, spoolId: 'spool-a' })).length, 0, 'claimed instances are not claimed twice');
    } finally {
      await pool.end();
    }
  });

  test('a priority rule moves a study ahead of earlier ones', async () => {
    const { pool } = await freshQueue();
    try {
      await keep(pool, '3.1', 'US');
      const urgent = await keep(pool, '3.2', 'CT');
      const [next] = await claimUploads(pool, { owner: 'a', limit: 1, leaseSeconds: 60, priorities: [{ modality: 'CT', priority: 10 }], spoolId: 'spool-a' });
      assert.equal(next.sopInstanceUid, urgent);
    } finally {
      await pool.end();
    }
  });

  test('two agents on one database claiming at once never get the same instance', async () => {
    const { pool, url } = await freshQueue();
    const other = new pg.Pool({ connectionString: url, max: 8 });
    try {
      for (let i = 0; i < 200; i++) await keep(pool, `4.${i % 7}`);
      const claims = await Promise.all(
        Array.from({ length: 16 }, (_, i) => claimUploads(i % 2 ? other : pool, { owner: `agent-${i % 2}/${i}`, limit: 20, leaseSeconds: 60, priorities: NO_PRIORITIES, spoolId: 'spool-a' })),
      );
      const all = claims.flat().map((c) => c.sopInstanceUid);
      assert.equal(new Set(all).size, all.length, 'no instance claimed twice');
      assert.equal(all.length, 200, 'every instance claimed once');
    } finally {
      await pool.end();
      await other.end();
    }
  });

  test('agents with their own spools on one database claim only instances whose files they hold', async () => {
    const { pool, url } = await freshQueue();
    const agentA = new pg.Pool({ connectionString: url, max: 2 });
    const agentB = new pg.Pool({ connectionString: url, max: 2 });
    for (const [agent, spool] of [
      [agentA, 'spool-a'],
      [agentB, 'spool-b'],
    ] as const) {
      agent.on('connect', (client) => void client.query("SELECT set_config('gateway.spool_id', $1, false)", [spool]));
    }
    try {
      const keptByA = [await keep(agentA, '4.9'), await keep(agentA, '4.9')];
      const keptByB = [await keep(agentB, '4.8')];
      const [row] = await query(url, 'SELECT spool_id FROM instances WHERE sop_instance_uid = $1', [keptByB[0]]);
      assert.equal(row.spool_id, 'spool-b');
      const claimedByB = await claimUploads(agentB, { owner: 'b', limit: 10, leaseSeconds: 60, priorities: NO_PRIORITIES, spoolId: 'spool-b' });
      assert.deepEqual(
        claimedByB.map((c) => c.sopInstanceUid),
        keptByB,
      );
      const claimedByA = await claimUploads(agentA, { owner: 'a', limit: 10, leaseSeconds: 60, priorities: NO_PRIORITIES, spoolId: 'spool-a' });
      assert.deepEqual(claimedByA.map((c) => c.sopInstanceUid).sort(), [...keptByA].sort());
    } finally {
      await agentA.end();
      await agentB.end();
      await pool.end();
    }
  });

  test('an expired lease (a crashed worker) is claimed again', async () => {
    const { pool, url } = await freshQueue();
    try {
      const sop = await keep(pool, '5.1');
      await claimUploads(pool, { owner: 'dead-agent', limit: 1, leaseSeconds: 60, priorities: NO_PRIORITIES, spoolId: 'spool-a' });
      await query(url, "UPDATE uploads SET lease_expires_at = now() - interval '1 second'");
      const [again] = await claimUploads(pool, { owner: 'live-agent', limit: 1, leaseSeconds: 60, priorities: NO_PRIORITIES, spoolId: 'spool-a' });
      assert.equal(again.sopInstanceUid, sop);
      assert.equal(again.attempts, 2);
      assert.deepEqual(await markDelivered(pool, 'dead-agent', [again]), [], 'the dead worker cannot complete it any more');
      assert.deepEqual(await markDelivered(pool, 'live-agent', [again]), [sop]);
    } finally {
      await pool.end();
    }
  });

  test('transient failures back off with the error kept; permanent ones fail visibly; retry queues them again', async () => {
    const { pool, url } = await freshQueue();
    try {
      const [transient, permanent] = [await keep(pool, '6.1'), await keep(pool, '6.1')];
      await claimUploads(pool, { owner: 'w', limit: 2, leaseSeconds: 60, priorities: NO_PRIORITIES, spoolId: 'spool-a' });
      await markFailed(
        pool,
        'w',
        [
          { sopInstanceUid: transient, error: 'connect ECONNREFUSED cloud:2762', permanent: false },
          { sopInstanceUid: permanent, error: 'C-STORE refused: 0xA900 data set does not match SOP class', permanent: true },
        ],
        { baseSeconds: 30, maxSeconds: 600 },
      );
      const rows = await query(url, 'SELECT sop_instance_uid, state, last_error, extract(epoch FROM next_attempt_at - now()) AS wait FROM uploads ORDER BY sop_instance_uid');
      const byUid = new Map(rows.map((r) => [r.sop_instance_uid, r]));
      assert.equal(byUid.get(transient)!.state, 'queued');
      assert.ok(byUid.get(transient)!.wait >= 14 && byUid.get(transient)!.wait <= 31, `backoff ${byUid.get(transient)!.wait} s`);
      assert.match(byUid.get(transient)!.last_error, /ECONNREFUSED/);
      assert.equal(byUid.get(permanent)!.state, 'failed');
      assert.equal((await claimUploads(pool, { owner: 'w', limit: 2, leaseSeconds: 60, priorities: NO_PRIORITIES, spoolId: 'spool-a' })).length, 0, 'nothing due yet');
      assert.equal(await requeueFailed(pool, '6.1'), 1);
      assert.equal((await claimUploads(pool, { owner: 'w', limit: 2, leaseSeconds: 60, priorities: NO_PRIORITIES, spoolId: 'spool-a' }))[0].sopInstanceUid, permanent);
    } finally {
      await pool.end();
    }
  });

  test('a correction queues the new bytes again, even after delivery; a delivery of the old bytes does not count', async () => {
    const { pool, url } = await freshQueue();
    try {
      const sop = await keep(pool, '7.1');
      const [claimed] = await claimUploads(pool, { owner: 'w', limit: 1, leaseSeconds: 60, priorities: NO_PRIORITIES, spoolId: 'spool-a' });
      await recordInstance(pool, ctInstanceRecord(sop, { seriesUid: '7.1.1.CT', studyUid: '7.1', spoolPath: `7.1/${sop}_b.dcm`, fileBytes: 1001, datasetSha256: sha256('corrected') }));
      assert.deepEqual(await markDelivered(pool, 'w', [claimed]), [], 'the old version no longer counts');
      const [row] = await query(url, 'SELECT state, attempts FROM uploads');
      assert.deepEqual(row, { state: 'queued', attempts: 0 });
    } finally {
      await pool.end();
    }
  });
});
