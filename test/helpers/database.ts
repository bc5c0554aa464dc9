import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../agent/db/embedded-postgres';
import { consoleLogger } from '../../agent/logging';

/**
 * A fresh, empty database on the suite's PostgreSQL server (started once per run by test/run-suite.ts,
 * which exports TEST_DATABASE_URL). Every test gets its own, so tests never see each other's rows.
 */
export async function createTestDatabase(): Promise<string> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error('TEST_DATABASE_URL is not set: run the suite with `npm test` (test/run-suite.ts starts PostgreSQL)');
  const name = `gw_test_${crypto.randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs one query against a test database and closes the connection. */
export async function query<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * The test PostgreSQL for a run (the suite, a benchmark): TEST_DATABASE_URL when set, else a real server started
 * once in `dir` (the embedded-postgres binaries the agent ships with). Resolves to the function that stops it.
 */
export async function ensureTestPostgres(dir: string): Promise<() => Promise<void>> {
  if (process.env.TEST_DATABASE_URL) return async () => {};
  const databaseDir = path.join(dir, 'postgres');
  fs.mkdirSync(databaseDir, { recursive: true });
  // PostgreSQL (run as 'postgres' when the run is root's) must be able to enter both.
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(databaseDir, 0o755);
  const database = await startEmbeddedPostgres(databaseDir, 0, consoleLogger('warn'));
  // The superuser: tests create a database each.
  process.env.TEST_DATABASE_URL = database.adminUrl;
  return database.stop;
}

/** Drops test databases (made by createTestDatabase), even with connections still open. */
export async function dropTestDatabases(urls: string[]): Promise<void> {
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  try {
    for (const url of urls) await admin.query(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
