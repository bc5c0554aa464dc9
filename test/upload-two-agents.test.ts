// Two agents, each with its own spool folder, on one PostgreSQL, uploading to one STOW-RS cloud: each receives
// half of a study; every instance reaches the cloud exactly once and the study is done once, with one receipt.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { createTestDatabase, query } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { GATEWAY_BIN, startGateway } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';
import { makeCloudPki } from './cloud-simulator/pki';
import { startStowRsSimulator } from './cloud-simulator/stow-rs-server';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';
import { waitFor } from './helpers/wait';

test('two agents on one PostgreSQL, each receiving part of a study: every instance delivered once, the study done once', async () => {
  const pki = makeCloudPki(tempDir('two-agents-pki'));
  const cloud = await startStowRsSimulator({ pki, storeDir: tempDir('two-agents-cloud'), token: 'site-token' });
  const databaseUrl = await createTestDatabase();
  const config = {
    upstream: { kind: 'stow-rs', url: cloud.url, caFile: pki.caFile, token: 'site-token' },
    // Small batches and two workers per agent: many claims race on the one queue.
    upload: { workers: 2, batchMaxInstances: 3, retryBaseSeconds: 1, retryMaxSeconds: 2, leaseSeconds: 10 },
    studies: { seriesQuietSeconds: 1, studyQuietSeconds: 2, forceCompleteMinutes: 60 },
  };
  // Started one after the other: both would otherwise migrate the new database at once (serialised by a lock, but slower).
  const first = await startGateway({ dataDir: tempDir('agent-a'), database: databaseUrl, aeTitle: 'AGENT_A', config });
  const second = await startGateway({ dataDir: tempDir('agent-b'), database: databaseUrl, aeTitle: 'AGENT_B', config });
  try {
    const series = writeSyntheticCtSeries(tempDir('two-agents-ct'), { slices: 24, rows: 64, columns: 64, seed: 31 });
    const half = series.files.length / 2;
    const pushes = await Promise.all([
      runDcmtk('storescu', ['-aec', 'AGENT_A', '127.0.0.1', String(first.port), ...series.files.slice(0, half)]),
      runDcmtk('storescu', ['-aec', 'AGENT_B', '127.0.0.1', String(second.port), ...series.files.slice(half)]),
    ]);
    assert.deepEqual(
      pushes.map((p) => p.code),
      [0, 0],
    );
    await waitFor('the study done', async () => (await query(databaseUrl, 'SELECT done_at FROM studies'))[0]?.done_at != null);

    // At the cloud: each SOP Instance UID posted exactly once, and nothing else.
    const posted = cloud.requests.filter((r) => r.method === 'POST').flatMap((r) => r.sopInstanceUids);
    assert.equal(posted.length, 24, 'no instance posted twice');
    assert.deepEqual([...new Set(posted)].sort(), [...series.sopInstanceUids].sort());
    assert.ok(cloud.requests.every((r) => r.status === 200));

    // Each agent sent the half it holds (its spool), and the receipt covers the whole study, once.
    const delivered = (agent: typeof first) =>
      agent
        .logLines()
        .filter((l) => l.message === 'upload batch')
        .reduce((sum, l) => sum + Number(l.delivered), 0);
    assert.deepEqual([delivered(first), delivered(second)], [half, half]);
    const doneLines = () => [first, second].flatMap((agent) => agent.logLines().filter((l) => String(l.message).startsWith('study done')));
    await waitFor('the log line of the agent that finished the study', async () => doneLines().length > 0, 10000);
    await new Promise((resolve) => setTimeout(resolve, 6000)); // a bookkeeping round of the other agent
    assert.equal(doneLines().length, 1, 'one agent finished the study');
    const studies = await query(databaseUrl, 'SELECT receipt_instances FROM studies');
    assert.deepEqual(studies, [{ receipt_instances: 24 }]);
    const status = execFileSync(process.execPath, [GATEWAY_BIN, 'status', '--config', second.configFile], { encoding: 'utf8' });
    assert.match(status, new RegExp(`Receipt\\s+${series.studyInstanceUid.replace(/\./g, '\\.')}: 24 instances`));
  } finally {
    await Promise.all([first.stop(), second.stop()]);
    await cloud.stop();
  }
});
