// `gateway status`: the running agent's own status (the state and reasons the tray and the status page show), and
// the same shape read from the database when the agent is down or does not answer, saying so.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from '../agent/db/embedded-postgres';
import { formatBytes, type ApiStatus } from '../agent/api/types';
import type { StatusReport } from '../agent/status';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';
import { createTestDatabase } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { GATEWAY_BIN, startGateway } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';

function status(configFile: string, ...flags: string[]) {
  const result = spawnSync(process.execPath, [GATEWAY_BIN, 'status', '--config', configFile, ...flags], { encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** What the spool holds (the received-total counter is written when an association ends, a moment later). */
const kept = (report: StatusReport) => ({ studies: report.spool?.studies, instances: report.spool?.instances, bytes: report.spool?.bytes });

test('status asks the running agent, and reads the database when it is down or does not answer', async () => {
  const dataDir = tempDir('status');
  const gateway = await startGateway({ dataDir, database: await createTestDatabase(), aeTitle: 'STATUSGW', config: { compression: { enabled: false } } });
  let running!: StatusReport;
  try {
    const series = writeSyntheticCtSeries(tempDir('status-ct'), { slices: 3, rows: 64, columns: 64 });
    assert.equal((await runDcmtk('storescu', ['-aec', 'STATUSGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);

    const json = status(gateway.configFile, '--json');
    assert.equal(json.code, 0, json.stderr);
    running = JSON.parse(json.stdout);
    const api = (await (await fetch(`http://127.0.0.1:${gateway.apiPort}/api/status`)).json()) as ApiStatus;
    assert.deepEqual(running.agent, { running: true, pid: gateway.pid, apiPort: gateway.apiPort, source: 'agent' });
    // The agent's own answer: the tray's state and reasons, its figures.
    assert.equal(running.state, api.state);
    assert.deepEqual(running.reasons, api.reasons);
    assert.deepEqual(
      running.reasons.map((r) => r.code),
      ['upstream-not-configured'],
    );
    assert.equal(running.startedAt, api.startedAt);
    assert.equal(running.receiver.listening, true);
    assert.deepEqual(running.spool, api.spool);
    assert.equal(running.spool!.instances, 3);

    const text = status(gateway.configFile);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^State\s+AMBER\n\s+- No cloud is configured/);
    assert.match(text.stdout, new RegExp(`Agent\\s+running \\(pid ${gateway.pid}, `));
    assert.match(text.stdout, new RegExp(`Kept\\s+1 studies, 3 instances, ${formatBytes(running.spool!.bytes).replace('.', '\\.')}\\n`));
  } finally {
    assert.equal(await gateway.stop(), 0);
  }

  // Down: the same shape, from the database, and it says so (exit 3).
  const json = status(gateway.configFile, '--json');
  assert.equal(json.code, 3, json.stderr);
  const down: StatusReport = JSON.parse(json.stdout);
  assert.deepEqual(Object.keys(down).sort(), Object.keys(running).sort(), 'the same shape whether the agent runs or not');
  assert.deepEqual(down.agent, { running: false, source: 'database' });
  assert.equal(down.state, 'red');
  assert.deepEqual(
    down.reasons.map((r) => r.code),
    ['agent-not-running', 'upstream-not-configured'],
  );
  assert.equal(down.startedAt, null);
  assert.equal(down.receiver.listening, false);
  assert.deepEqual(kept(down), kept(running));
  assert.deepEqual(down.queue, running.queue);
  const text = status(gateway.configFile);
  assert.equal(text.code, 3);
  assert.match(text.stdout, /^State\s+RED\n\s+- The gateway agent is not running/);
  assert.match(text.stdout, /Agent\s+NOT RUNNING: figures read from the database/);
  assert.match(text.stdout, /Kept\s+1 studies, 3 instances/);

  // A live process named by the runtime file whose API does not answer (stuck): red, figures from the database.
  fs.writeFileSync(
    path.join(dataDir, 'agent.json'),
    JSON.stringify({ pid: process.pid, version: 'x', startedAt: new Date().toISOString(), port: gateway.port, apiPort: await freePort(), databaseUrl: 'unused' }),
  );
  const stuck = status(gateway.configFile, '--json');
  assert.equal(stuck.code, 0, 'the agent runs');
  const report: StatusReport = JSON.parse(stuck.stdout);
  assert.equal(report.agent.source, 'database');
  assert.match(report.agent.apiError!, /not running|nothing answers/);
  assert.deepEqual(
    report.reasons.map((r) => r.code),
    ['agent-not-answering', 'upstream-not-configured'],
  );
  assert.deepEqual(kept(report), kept(running));
  assert.match(status(gateway.configFile).stdout, /does not answer .*: figures read from the database/);
});
