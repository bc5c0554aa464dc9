import pg from 'pg';

/**
 * Runs `work` in one transaction: COMMIT when it resolves, ROLLBACK when it throws (the error is passed on). Given a
 * pool, it takes a connection for the transaction and gives it back; given a connection (one that holds a session
 * lock, say), it uses that one. A pooled connection whose ROLLBACK failed is in an unknown state: it is dropped.
 */
export async function withTransaction<T>(db: pg.Pool | pg.PoolClient, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const ownConnection = db instanceof pg.Pool;
  const client = ownConnection ? await db.connect() : db;
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    let result: T;
    try {
      result = await work(client);
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw err;
    }
    await client.query('COMMIT').catch((commitError: Error) => {
      broken = commitError;
      throw commitError;
    });
    return result;
  } finally {
    if (ownConnection) client.release(broken);
  }
}
