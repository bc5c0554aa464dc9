import pg from 'pg';
import type { GatewayConfig } from '../config/config';
import type { Logger } from '../logging';
import { startEmbeddedPostgres } from './embedded-postgres';
import { migrate } from './migrate';

export interface Database {
  pool: pg.Pool;
  /** The connection URL in use (the embedded server's, or the configured one). */
  url: string;
  close(): Promise<void>;
}

/** Connects to the configured PostgreSQL (or starts the embedded one) and brings the schema up to date. */
export async function openDatabase(config: GatewayConfig, log: Logger, spoolId: string): Promise<Database> {
  const embedded = config.database.url ? undefined : await startEmbeddedPostgres(config.dataDir, config.database.embeddedPort, log);
  const url = config.database.url ?? embedded!.url;
  const pool = new pg.Pool({
    connectionString: url,
    max: config.limits.maxAssociations + 4,
    // Rows this agent writes record its spool (see migration 0004), on every connection of the pool. The pool waits
    // for this before handing the connection out (a 'connect' listener's query would race the caller's first one).
    onConnect: (client) => client.query("SELECT set_config('gateway.spool_id', $1, false)", [spoolId]),
  });
  // A dropped idle connection must not crash the agent; the next query gets a fresh one.
  pool.on('error', (err) => log.warn('database connection lost', { error: err.message }));
  try {
    await migrate(pool, log);
  } catch (err) {
    await pool.end().catch(() => undefined);
    await embedded?.stop();
    throw err;
  }
  return {
    pool,
    url,
    async close() {
      await pool.end();
      await embedded?.stop();
    },
  };
}
