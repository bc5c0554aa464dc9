import type { Pool } from 'pg';
import { listAssets, readAsset } from '../assets';
import { errorMessage } from '../errors';
import type { Logger } from '../logging';
import { VERSION } from '../version';
import { withTransaction } from './transaction';

/**
 * Numbered, forward-only SQL files: agent/db/migrations/NNNN_name.sql, read as assets (embedded in the packaged
 * executable, from the repository otherwise); the folder is given relative to the repository root.
 */
export const MIGRATIONS_DIR = 'agent/db/migrations';

// Any constant shared by all agents: serialises migration when several agents share one server.
const MIGRATION_LOCK = 4104_0001;

interface Migration {
  version: number;
  name: string;
}

/**
 * Applies every migration not yet recorded, each in its own transaction, under an advisory lock. Several agents may
 * share one database: one that does not know the newest migration recorded there (a newer agent applied it) refuses
 * to start rather than write rows in a shape the newer schema no longer means.
 */
export async function migrate(pool: Pool, log: Logger, dir = MIGRATIONS_DIR): Promise<void> {
  const known: Migration[] = listAssets(dir)
    .filter((f) => /^\d{4}_.+\.sql$/.test(f))
    .sort()
    .map((name) => ({ version: Number(name.slice(0, 4)), name }));
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    const { rows: applied } = await client.query<Migration>('SELECT version, name FROM schema_migrations ORDER BY version');
    const newestApplied = applied.at(-1);
    const newestKnown = known.at(-1);
    if (newestApplied && newestApplied.version > (newestKnown?.version ?? 0)) {
      throw new Error(
        `the database's schema is at migration ${newestApplied.name}, newer than this agent (version ${VERSION}) knows: its newest is ${newestKnown?.name ?? 'none'}. ` +
          'A newer agent shares this database: install that version here too (an older agent must not write to a newer schema)',
      );
    }
    const done = new Set(applied.map((m) => m.version));
    for (const migration of known) {
      if (done.has(migration.version)) continue;
      const sql = readAsset(`${dir}/${migration.name}`);
      await withTransaction(client, async (tx) => {
        await tx.query(sql);
        await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      }).catch((err: unknown) => {
        throw new Error(`database migration ${migration.name} failed: ${errorMessage(err)}`);
      });
      log.info('database migration applied', { migration: migration.name });
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
}
