// The database layer: migrations and the guard against a newer schema (several agents share one database), the one
// transaction helper, and the pool every agent connection comes from.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { listAssets } from '../agent/assets';
import { parseConfig } from '../agent/config/config';
import { openDatabase } from '../agent/db/database';
import { migrate, MIGRATIONS_DIR } from '../agent/db/migrate';
import { withTransaction } from '../agent/db/transaction';
import { consoleLogger } from '../agent/logging';
import { VERSION } from '../agent/version';
import { createTestDatabase, query } from './helpers/database';
import { GATEWAY_BIN } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';

const log = consoleLogger('warn');
const newestMigration = listAssets(MIGRATIONS_DIR)
  .filter((f) => f.endsWith('.sql'))
  .sort()
  .at(-1)!;

describe('database schema', () => {
  test('migrations apply once: a second agent start changes nothing', async () => {
    const url = await createTestDatabase();
    const pool = new pg.Pool({ connectionString: url });
    try {
      await migrate(pool, log);
      const first = await query<{ version: number; applied_at: Date }>(url, 'SELECT version, applied_at FROM schema_migrations ORDER BY version');
      await migrate(pool, log);
      assert.deepEqual(await query(url, 'SELECT version, applied_at FROM schema_migrations ORDER BY version'), first);
      assert.equal(first.at(-1)!.version, Number(newestMigration.slice(0, 4)));
    } finally {
      await pool.end();
    }
  });

  test('an agent refuses to start on a database a newer agent has migrated, naming both versions', async () => {
    const url = await createTestDatabase();
    const pool = new pg.Pool({ connectionString: url });
    try {
      await migrate(pool, log);
      await pool.query("INSERT INTO schema_migrations (version, name) VALUES (9001, '9001_from_a_newer_agent.sql')");
      await assert.rejects(migrate(pool, log), (err: Error) => {
        assert.match(err.message, /9001_from_a_newer_agent\.sql/);
        assert.ok(err.message.includes(newestMigration), err.message);
        return true;
      });
    } finally {
      await pool.end();
    }

    // As an administrator meets it: `gateway run` exits 1 with the message, and writes nothing.
    const dir = tempDir('newer-schema');
    const configFile = path.join(dir, 'gateway.json');
    fs.writeFileSync(configFile, JSON.stringify({ aeTitle: 'OLDAGENT', dataDir: 'data', database: { url }, api: { port: 0 } }));
    const tablesBefore = await query(url, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
    const run = spawnSync(process.execPath, [GATEWAY_BIN, 'run', '--config', configFile], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /9001_from_a_newer_agent\.sql/);
    assert.ok(run.stderr.includes(newestMigration) && run.stderr.includes(`version ${VERSION}`), run.stderr);
    assert.ok(!fs.existsSync(path.join(dir, 'data', 'agent.json')), 'the refused agent never announced itself');
    assert.deepEqual(await query(url, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'"), tablesBefore);
  });
});

describe('withTransaction', () => {
  test('commits what the work wrote; on an error rolls all of it back, passes the error on and frees the connection', async () => {
    const url = await createTestDatabase();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    try {
      await pool.query('CREATE TABLE notes (text text NOT NULL)');
      const kept = await withTransaction(pool, async (client) => {
        await client.query("INSERT INTO notes VALUES ('first'), ('second')");
        return (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM notes')).rows[0].n;
      });
      assert.equal(kept, 2);
      await assert.rejects(
        withTransaction(pool, async (client) => {
          await client.query("INSERT INTO notes VALUES ('lost')");
          await client.query('INSERT INTO notes VALUES (NULL)');
        }),
        /null value/,
      );
      assert.deepEqual(
        (await query<{ text: string }>(url, 'SELECT text FROM notes ORDER BY text')).map((r) => r.text),
        ['first', 'second'],
      );
      assert.equal(pool.totalCount, pool.idleCount, 'every connection is back in the pool');
    } finally {
      await pool.end();
    }
  });
});

describe('the agent pool', () => {
  test("every connection carries this agent's spool id, without pg's concurrent-query warning", async () => {
    const url = await createTestDatabase();
    const config = parseConfig({ aeTitle: 'POOLGW', dataDir: tempDir('pool'), database: { url } }, '/');
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    const database = await openDatabase(config, log, 'spool-under-test');
    try {
      // Several connections opened at once, each used the moment the pool hands it out.
      const ids = await Promise.all(Array.from({ length: 6 }, () => database.pool.query<{ id: string }>("SELECT pg_sleep(0.05), current_setting('gateway.spool_id') AS id")));
      assert.deepEqual(new Set(ids.map((r) => r.rows[0].id)), new Set(['spool-under-test']));
      assert.ok(database.pool.totalCount > 1);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        warnings.filter((w) => /already executing a query/.test(w)),
        [],
      );
    } finally {
      process.off('warning', onWarning);
      await database.close();
    }
  });
});
