// The agent on embedded defaults: it runs its own PostgreSQL in its data folder and survives its own crash.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { isProcessAlive } from '../agent/process-alive';
import { runDcmtk } from './helpers/dcmtk';
import { GATEWAY_BIN, launchGateway, startGateway } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';

function postmasterPid(dataDir: string): number | undefined {
  const file = path.join(dataDir, 'postgres', 'postmaster.pid');
  return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8').split('\n')[0]) : undefined;
}

function status(configFile: string): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync(process.execPath, [GATEWAY_BIN, 'status', '--config', configFile], { encoding: 'utf8' }) };
  } catch (err) {
    const e = err as { status: number; stdout: string };
    return { code: e.status, out: e.stdout };
  }
}

test('embedded PostgreSQL: first start, kill -9 of the agent, leftover postmaster, clean restart', async () => {
  const dataDir = tempDir('embedded');
  const series = writeSyntheticCtSeries(tempDir('embedded-ct'), { slices: 3, rows: 64, columns: 64 });
  let gateway = await startGateway({ dataDir, database: 'embedded', aeTitle: 'EMBEDGW' });
  try {
    assert.ok(fs.existsSync(path.join(dataDir, 'postgres', 'PG_VERSION')), 'the cluster lives in the data folder');
    assert.equal((await runDcmtk('storescu', ['-aec', 'EMBEDGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
    assert.match(status(gateway.configFile).out, /3 instances/);

    // A crash: the agent dies, its PostgreSQL is orphaned and keeps running with its postmaster.pid.
    const orphan = postmasterPid(dataDir)!;
    await gateway.kill();
    assert.ok(isProcessAlive(orphan), 'the orphaned postmaster still runs');
    const afterCrash = status(gateway.configFile);
    assert.equal(afterCrash.code, 3, 'status says the agent is not running');
    assert.match(afterCrash.out, /NOT RUNNING/);

    gateway = await launchGateway(gateway.configFile, gateway.port, gateway.aeTitle, dataDir);
    assert.ok(gateway.logLines().some((l) => /left running by a previous agent/.test(String(l.message))), 'the leftover server was stopped');
    assert.ok(!isProcessAlive(orphan));
    assert.match(status(gateway.configFile).out, /3 instances/, 'rows survived the crash');

    // A crash of both: postmaster.pid names a dead process.
    const postmaster = postmasterPid(dataDir)!;
    await gateway.kill();
    process.kill(postmaster, 'SIGKILL');
    while (isProcessAlive(postmaster)) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')), 'a stale postmaster.pid is left');
    gateway = await launchGateway(gateway.configFile, gateway.port, gateway.aeTitle, dataDir);
    assert.equal((await runDcmtk('echoscu', ['-aec', 'EMBEDGW', '127.0.0.1', String(gateway.port)])).code, 0);
    assert.match(status(gateway.configFile).out, /3 instances/);

    // A clean stop stops PostgreSQL too.
    const last = postmasterPid(dataDir)!;
    assert.equal(await gateway.stop(), 0);
    assert.ok(!isProcessAlive(last), 'PostgreSQL stopped with the agent');
  } finally {
    await gateway.kill();
  }
});
