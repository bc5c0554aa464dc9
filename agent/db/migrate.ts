import type { Pool } from 'pg';
import { listAssets, readAsset } from '../assets';
import type { Logger } from '../logging';

/**
 * Numbered, forward-only SQL files: agent/db/migrations/NNNN_name.sql, read as assets (embedded in the packaged
 * executable, from the repository otherwise); the folder is given relative to the repository root.
 */
export const MIGRATIONS_DIR = 'agent/db/migrations';

// Any constant shared by all agents: serialises migration when several agents share one server.
const MIGRATION_LOCK = 4104_0001;

/** Applies every migration not yet recorded, each in its own transaction, under an advisory lock. */
export async function migrate(pool: Pool, log: Logger, dir = MIGRATIONS_DIR): Promise<void> {
  const files = listAssets(dir).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort();
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    const applied = new Set((await client.query('SELECT version FROM schema_migrations')).rows.map((r) => r.version as number));
    for (const file of files) {
      const version = Number(file.slice(0, 4));
      if (applied.has(version)) continue;
      const sql = readAsset(`${dir}/${file}`);
      try {
        await client.query('BEGIN');
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [version, file]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`database migration ${file} failed: ${(err as Error).message}`);
      }
      log.info('database migration applied', { migration: file });
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
}
