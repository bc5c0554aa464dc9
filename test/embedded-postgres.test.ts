// The agent on embedded defaults: it runs its own PostgreSQL (initdb and pg_ctl) in its data folder, stops it in
// order, comes back by itself after kill -9 of its whole process group, and exits non-zero when it cannot run.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../agent/config/config';
import { readSecrets } from '../agent/config/secrets';
import { databaseUrlFor } from '../agent/db/database-url';
import { freePort } from '../agent/db/embedded-postgres';
import { giveToPostgres, postgresAccount, postgresToolPath } from '../agent/db/postgres-tools';
import { isProcessAlive } from '../agent/process-alive';
import { query } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { GATEWAY_BIN, launchGateway, REPO_ROOT, startGateway, type GatewayProcess } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';

function postmasterPid(dataDir: string): number | undefined {
  const file = path.join(dataDir, 'postgres', 'postmaster.pid');
  return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8').split('\n')[0]) : undefined;
}

/** The running agent's database URL, as `gateway status` and `gateway retry` find it: agent.json and the secret store. */
function databaseUrl(gateway: GatewayProcess): string {
  return databaseUrlFor(loadConfig(gateway.configFile))!;
}

async function instanceUids(gateway: GatewayProcess): Promise<string[]> {
  return (await query<{ sop_instance_uid: string }>(databaseUrl(gateway), 'SELECT sop_instance_uid FROM instances ORDER BY 1')).map((r) => r.sop_instance_uid);
}

async function waitForExit(pid: number, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} still runs after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `gateway <args>` to its end, as an admin types it (not spawnSync: this process must reap the agents it started). */
function cli(args: string[], timeoutMs = 120000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [GATEWAY_BIN, ...args], { cwd: REPO_ROOT });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function startedLine(gateway: GatewayProcess): Record<string, unknown> {
  const line = gateway.logLines().find((l) => l.message === 'embedded PostgreSQL started');
  assert.ok(line, 'the agent logged the start of its database');
  return line;
}

describe('embedded PostgreSQL', () => {
  test('initialises its own cluster, stops it in order with `gateway stop`, and the next start finds it shut down cleanly', async () => {
    const dataDir = tempDir('embedded');
    const series = writeSyntheticCtSeries(tempDir('embedded-ct'), { slices: 3, rows: 64, columns: 64 });
    let gateway = await startGateway({ dataDir, database: 'embedded', aeTitle: 'EMBEDGW' });
    try {
      assert.ok(fs.existsSync(path.join(dataDir, 'postgres', 'PG_VERSION')), 'the cluster lives in the data folder');
      assert.ok(!fs.existsSync(path.join(dataDir, 'postgres.initdb')), 'initdb worked in a folder of its own, renamed into place');
      assert.equal((await runDcmtk('storescu', ['-aec', 'EMBEDGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
      await assertUnprivileged(databaseUrl(gateway));
      assertPasswordsOnlyInSecretStore(dataDir);
      const postmaster = postmasterPid(dataDir)!;

      const stop = await cli(['stop', '--config', gateway.configFile]);
      assert.equal(stop.code, 0, stop.output);
      assert.match(stop.output, new RegExp(`the agent \\(pid ${gateway.pid}\\) stopped`));
      assert.equal(await gateway.stop(), 0, 'the agent exited 0');
      await waitForExit(postmaster);
      assert.ok(!fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')), 'PostgreSQL removed its lock: it was shut down, not killed');
      const serverLog = fs.readFileSync(path.join(dataDir, 'logs', 'postgres.log'), 'utf8');
      assert.match(serverLog, /received fast shutdown request/);
      assert.match(serverLog, /database system is shut down/);
      assert.ok(gateway.logLines().some((l) => l.message === 'embedded PostgreSQL stopped'));
      assert.equal((await cli(['stop', '--config', gateway.configFile])).output.trim(), 'the agent is not running');

      // Rotating the agent's database password: store a new one, start again (the agent sets its role's password).
      const oldPassword = readSecrets(dataDir)['database.password']!;
      const rotate = spawnSync(process.execPath, [GATEWAY_BIN, 'secret', 'set', 'database.password', '--config', gateway.configFile], { input: 'rotated-Pa55\n', encoding: 'utf8' });
      assert.equal(rotate.status, 0, rotate.stderr);
      gateway = await launchGateway(gateway.configFile, gateway.port, gateway.aeTitle, dataDir);
      assert.equal(startedLine(gateway).previousShutdown, 'clean', 'no crash recovery after an orderly stop');
      assert.deepEqual(await instanceUids(gateway), [...series.sopInstanceUids].sort());
      assert.equal(new URL(databaseUrl(gateway)).password, 'rotated-Pa55');
      const withOld = new URL(databaseUrl(gateway));
      withOld.password = encodeURIComponent(oldPassword);
      await assert.rejects(query(withOld.toString(), 'SELECT 1'), /password authentication failed/);
    } finally {
      await gateway.stop();
    }
  });

  test('kill -9 of the whole process group in the middle of a push, restarted at once: every acknowledged instance is there', async (t) => {
    const dataDir = tempDir('embedded-crash');
    const series = writeSyntheticCtSeries(tempDir('embedded-crash-ct'), { slices: 80, seed: 5 });
    let gateway = await startGateway({ dataDir, database: 'embedded', aeTitle: 'CRASHGW' });
    const acknowledgedUids = new Set<string>();
    try {
      for (const round of ['the agent only', 'the agent and its postmaster'] as const) {
        const acknowledged = await pushAndKill(gateway, series.files, 20, round === 'the agent and its postmaster');
        series.sopInstanceUids.slice(0, acknowledged).forEach((uid) => acknowledgedUids.add(uid));
        const restarted = Date.now();
        gateway = await launchGateway(gateway.configFile, gateway.port, gateway.aeTitle, dataDir);
        const seconds = (Date.now() - restarted) / 1000;
        t.diagnostic(`killed ${round} after ${acknowledged} acknowledged; listening again after ${seconds.toFixed(1)} s`);
        assert.ok(seconds < 60, `listening again within 60 s (took ${seconds} s)`);
        if (round === 'the agent only') {
          assert.ok(
            gateway.logLines().some((l) => /left running by a previous agent/.test(String(l.message))),
            'the server the killed agent left was stopped in order',
          );
        } else {
          assert.equal(startedLine(gateway).previousShutdown, 'crash recovery');
        }
        const kept = new Set(await instanceUids(gateway));
        for (const uid of acknowledgedUids) assert.ok(kept.has(uid), `acknowledged ${uid} is kept`);
        assert.equal((await runDcmtk('echoscu', ['-aec', 'CRASHGW', '127.0.0.1', String(gateway.port)])).code, 0);
      }
    } finally {
      await gateway.stop();
    }
  });

  test('a postmaster.pid whose process id now belongs to another program is cleared, never a live server', async () => {
    const dataDir = tempDir('embedded-stale');
    let gateway = await startGateway({ dataDir, database: 'embedded', aeTitle: 'STALEGW' });
    assert.equal(await gateway.stop(), 0);
    const lockFile = path.join(dataDir, 'postgres', 'postmaster.pid');
    const other = spawn('sleep', ['60']);
    try {
      fs.writeFileSync(lockFile, `${other.pid}\n${path.join(dataDir, 'postgres')}\n`);
      gateway = await launchGateway(gateway.configFile, gateway.port, gateway.aeTitle, dataDir);
      assert.ok(gateway.logLines().some((l) => /stale postmaster\.pid/.test(String(l.message))));
      assert.ok(isProcessAlive(other.pid!), 'the other program was left alone');
      // A second agent on the same folder meets a live server's lock: it refuses, and the first keeps running.
      const second = await cli(['run', '--config', gateway.configFile], 30000);
      assert.equal(second.code, 1, second.output);
      assert.match(second.output, /another agent \(pid \d+\) is running/);
      assert.equal((await runDcmtk('echoscu', ['-aec', 'STALEGW', '127.0.0.1', String(gateway.port)])).code, 0);
    } finally {
      other.kill();
      await gateway.stop();
    }
  });
});

/** The agent's role owns its tables but is no superuser: no programs run through COPY, no roles, no databases. */
async function assertUnprivileged(url: string): Promise<void> {
  const [role] = await query<{ rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean }>(url, 'SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user');
  assert.deepEqual(role, { rolsuper: false, rolcreaterole: false, rolcreatedb: false });
  await assert.rejects(query(url, "COPY (SELECT 1) TO PROGRAM 'true'"), /permission denied|must be superuser|pg_execute_server_program/);
  await assert.rejects(query(url, 'CREATE ROLE intruder SUPERUSER'), /permission denied/);
}

/** The database passwords are in the secret store (DPAPI on Windows) and nowhere else in the data folder. */
function assertPasswordsOnlyInSecretStore(dataDir: string): void {
  const secrets = readSecrets(dataDir);
  assert.ok(secrets['database.password'] && secrets['database.adminPassword'], 'both database passwords are in the secret store');
  const runtimeUrl = new URL(JSON.parse(fs.readFileSync(path.join(dataDir, 'agent.json'), 'utf8')).databaseUrl);
  assert.equal(runtimeUrl.password, '', 'agent.json names the database without its password');
  for (const legacy of ['postgres-password', 'postgres-admin-password', 'postgres-initdb-password']) assert.ok(!fs.existsSync(path.join(dataDir, legacy)), `no ${legacy} file`);
}

test('a cluster made before the roles were split (bootstrap superuser "gateway") is converted: the agent runs unprivileged and keeps every row', async () => {
  const dataDir = tempDir('embedded-legacy');
  const databaseDir = path.join(dataDir, 'postgres');
  const account = postgresAccount();
  fs.writeFileSync(path.join(dataDir, 'postgres-password'), 'legacy-secret', { mode: 0o600 });
  const pwfile = path.join(dataDir, 'pw');
  fs.writeFileSync(pwfile, 'legacy-secret\n');
  fs.mkdirSync(databaseDir, { mode: 0o700 });
  fs.mkdirSync(path.join(dataDir, 'logs'));
  for (const file of [pwfile, databaseDir, path.join(dataDir, 'logs')]) giveToPostgres(file, account);
  const run = (tool: 'initdb' | 'pg_ctl', args: string[]) => {
    const result = spawnSync(postgresToolPath(tool), args, { uid: account.uid, gid: account.gid, encoding: 'utf8' });
    assert.equal(result.status, 0, `${tool}: ${result.stdout}${result.stderr}`);
  };
  // As the agent made clusters before: the agent's role is the bootstrap superuser, its tables in 'gateway'.
  run('initdb', ['-D', databaseDir, '--username=gateway', `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--no-instructions']);
  const port = await freePort();
  run('pg_ctl', ['start', '-D', databaseDir, '-w', '-l', path.join(dataDir, 'logs', 'legacy.log'), '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`]);
  const legacyUrl = `postgres://gateway:legacy-secret@127.0.0.1:${port}`;
  await query(`${legacyUrl}/postgres`, 'CREATE DATABASE gateway');
  await query(`${legacyUrl}/gateway`, 'CREATE TABLE legacy_rows (id serial PRIMARY KEY, note text); INSERT INTO legacy_rows (note) VALUES ($$kept$$)');
  run('pg_ctl', ['stop', '-D', databaseDir, '-m', 'fast', '-w']);

  let gateway = await startGateway({ dataDir, database: 'embedded', aeTitle: 'LEGACYGW' });
  try {
    assertPasswordsOnlyInSecretStore(dataDir);
    assert.equal(readSecrets(dataDir)['database.password'], 'legacy-secret', 'the clear-text password file was moved into the secret store');
    await assertUnprivileged(databaseUrl(gateway));
    assert.deepEqual(await query(databaseUrl(gateway), "SELECT note, (SELECT tableowner FROM pg_tables WHERE tablename = 'legacy_rows') AS owner FROM legacy_rows"), [
      { note: 'kept', owner: 'gateway' },
    ]);
    await query(databaseUrl(gateway), "INSERT INTO legacy_rows (note) VALUES ('new')"); // its sequence came along
    const retired = new URL(databaseUrl(gateway));
    retired.username = 'gateway_bootstrap';
    retired.password = 'legacy-secret';
    await assert.rejects(query(retired.toString(), 'SELECT 1'), /password authentication failed|not permitted to log in/);
    assert.equal(await gateway.stop(), 0);
    gateway = await launchGateway(gateway.configFile, gateway.port, gateway.aeTitle, dataDir);
    assert.equal((await instanceUids(gateway)).length, 0, 'migrated, and the second start is the same');
  } finally {
    await gateway.stop();
  }
});

describe('`gateway run` exits non-zero when it cannot run', () => {
  test('a configuration that is not valid', async () => {
    const dir = tempDir('exit-config');
    const configFile = path.join(dir, 'gateway.json');
    fs.writeFileSync(configFile, JSON.stringify({ port: 4104, dataDir: dir }));
    const result = await cli(['run', '--config', configFile], 30000);
    assert.equal(result.code, 1, result.output);
    assert.match(result.output, /aeTitle/);
  });

  test('an embedded database that cannot start (its port is taken), with the reason in the agent log', async () => {
    const dataDir = tempDir('exit-database');
    const blocker = net.createServer();
    const taken = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as net.AddressInfo).port)));
    try {
      const configFile = path.join(dataDir, 'gateway.json');
      fs.writeFileSync(
        configFile,
        JSON.stringify({ aeTitle: 'EXITGW', port: await freePort(), bindAddress: '127.0.0.1', dataDir, database: { embeddedPort: taken }, limits: { minFreeDiskMb: 64 }, api: { port: 0 } }),
      );
      const result = await cli(['run', '--config', configFile]);
      assert.equal(result.code, 1, result.output);
      assert.match(result.output, new RegExp(`embedded PostgreSQL in .* did not start on 127\\.0\\.0\\.1:${taken}: .*could not (bind|create)`));
      const agentLog = fs
        .readdirSync(path.join(dataDir, 'logs'))
        .filter((f) => f.startsWith('gateway-'))
        .map((f) => fs.readFileSync(path.join(dataDir, 'logs', f), 'utf8'))
        .join('');
      assert.match(agentLog, /"message":"agent could not start"/);
      assert.equal(postmasterPid(dataDir), undefined, 'no server left behind');
    } finally {
      blocker.close();
    }
  });

  test('an external database that does not answer', async () => {
    const dataDir = tempDir('exit-external');
    const configFile = path.join(dataDir, 'gateway.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        aeTitle: 'EXITGW',
        port: await freePort(),
        dataDir,
        database: { url: `postgres://gateway:x@127.0.0.1:${await freePort()}/gateway` },
        limits: { minFreeDiskMb: 64 },
        api: { port: 0 },
      }),
    );
    const result = await cli(['run', '--config', configFile], 60000);
    assert.equal(result.code, 1, result.output);
    assert.match(result.output, /ECONNREFUSED|connect/);
  });

  test('an error nothing caught is logged, the database is stopped in order and the exit code is 1', async () => {
    const dataDir = tempDir('exit-fatal');
    // A fault injected into the running agent: a promise rejected with nobody to catch it, once the agent is ready.
    const fault = path.join(dataDir, 'fault.js');
    fs.writeFileSync(
      fault,
      `const fs = require('fs'); const timer = setInterval(() => { if (fs.existsSync(${JSON.stringify(path.join(dataDir, 'agent.json'))})) { clearInterval(timer); Promise.reject(new Error('injected fault')); } }, 100);`,
    );
    const gateway = await startGateway({ dataDir, database: 'embedded', aeTitle: 'FATALGW', nodeArgs: ['--require', fault] });
    const postmaster = postmasterPid(dataDir)!;
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the agent did not exit after the fault; output:\n${gateway.output().slice(-3000)}`)), 60000);
      gateway.child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    assert.equal(code, 1, gateway.output().slice(-3000));
    const fatal = gateway.logLines().find((l) => l.message === 'fatal error: the agent stops so that its service manager can start it again');
    assert.ok(fatal, 'the fatal error is in the log');
    assert.equal(fatal.error, 'injected fault');
    await waitForExit(postmaster);
    assert.match(fs.readFileSync(path.join(dataDir, 'logs', 'postgres.log'), 'utf8'), /database system is shut down/);
  });
});

/**
 * Pushes with storescu -v and kills the agent's process group (and, when asked, its postmaster: the whole server
 * dies like the old design's child or an OOM kill) once `after` instances are acknowledged. Resolves to how many
 * storescu saw acknowledged, in the order of the files.
 */
function pushAndKill(gateway: GatewayProcess, files: string[], after: number, alsoPostmaster: boolean): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('storescu', ['-v', '-aec', gateway.aeTitle, '127.0.0.1', String(gateway.port), ...files], { env: { ...process.env, TCP_NODELAY: '1' } });
    let output = '';
    let killing: Promise<void> | undefined;
    const acknowledged = () => {
      const responses = output.match(/Received Store Response \(([^)]*)\)/g) ?? [];
      const firstFailure = responses.findIndex((r) => !r.includes('Success'));
      return firstFailure === -1 ? responses.length : firstFailure;
    };
    const onOutput = (data: Buffer) => {
      output += data.toString();
      if (!killing && acknowledged() >= after) {
        const postmaster = postmasterPid(gateway.dataDir);
        killing = gateway.killGroup().then(() => {
          if (alsoPostmaster && postmaster) process.kill(postmaster, 'SIGKILL');
        });
      }
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    child.on('close', () => void (killing ?? Promise.resolve()).then(() => resolve(acknowledged())));
  });
}
