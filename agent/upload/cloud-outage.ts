import type { Pool } from 'pg';
import { errorMessage } from '../errors';
import type { Logger } from '../logging';

/** The cloud is unreachable: since when, why, and when it is checked next. */
export interface CloudOutage {
  since: Date;
  lastError: string;
  nextProbeAt: Date;
}

export interface CloudOutageOptions {
  pool: Pool;
  /** The upstream's name (upstreamTarget): agents on one database that send to the same cloud share its outage. */
  upstream: string;
  /** Who probes (agent and pid): one probe at a time across workers and agents. */
  owner: string;
  probeSeconds: number;
  /** One cheap check that the cloud takes uploads again (TLS + C-ECHO, or an authenticated request); rejects when not. */
  probe(): Promise<void>;
  log: Logger;
  /** Called when the cloud is back (the uploader wakes its workers at once). */
  onBack(outage: CloudOutage): void;
}

/** How often an agent that is not probing reads whether the outage has ended (another agent may have probed). */
const REFRESH_MS = 1000;

/**
 * The state of the cloud as a whole, shared through the database: while it is unreachable, workers stop sending
 * (instances keep their own backoff, an outage is not theirs) and a single probe at a bounded interval checks for
 * its return, so that delivery resumes within one probe interval of it, however long it was away.
 */
export class CloudOutageWatch {
  private cached: CloudOutage | undefined;
  private refreshedAt = 0;
  private probing: Promise<void> | undefined;

  constructor(private readonly options: CloudOutageOptions) {}

  /** The outage as last read (at most REFRESH_MS old when `refresh` is called in the workers' loop). */
  current(): CloudOutage | undefined {
    return this.cached;
  }

  async refresh(): Promise<CloudOutage | undefined> {
    if (Date.now() - this.refreshedAt < REFRESH_MS) return this.cached;
    const { rows } = await this.options.pool.query<{ since: Date; last_error: string; next_probe_at: Date }>('SELECT since, last_error, next_probe_at FROM upstream_outages WHERE upstream = $1', [
      this.options.upstream,
    ]);
    this.refreshedAt = Date.now();
    const before = this.cached;
    this.cached = rows[0] ? { since: rows[0].since, lastError: rows[0].last_error, nextProbeAt: rows[0].next_probe_at } : undefined;
    if (before && !this.cached) this.options.onBack(before);
    return this.cached;
  }

  /** A batch reached no one for a reason of the cloud's (refused, TLS, timeout, 5xx): uploads wait for a probe. */
  async report(error: string): Promise<void> {
    const { rows } = await this.options.pool.query<{ since: Date; next_probe_at: Date; started: boolean }>(
      `INSERT INTO upstream_outages (upstream, last_error, next_probe_at) VALUES ($1, left($2, 1000), now() + make_interval(secs => $3))
       ON CONFLICT (upstream) DO UPDATE SET last_error = EXCLUDED.last_error
       RETURNING since, next_probe_at, (xmax = 0) AS started`,
      [this.options.upstream, error, this.options.probeSeconds],
    );
    this.cached = { since: rows[0].since, lastError: error, nextProbeAt: rows[0].next_probe_at };
    this.refreshedAt = Date.now();
    if (rows[0].started)
      this.options.log.warn('cloud unreachable: uploads wait, one check at a time until it answers', { upstream: this.options.upstream, error, probeSeconds: this.options.probeSeconds });
  }

  /** Runs the probe if it is due and no one else (worker or agent) runs it; resolves when done or not due. */
  probeIfDue(): Promise<void> {
    this.probing ??= this.probeOnce().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  private async probeOnce(): Promise<void> {
    const { pool, upstream, owner, probeSeconds, log } = this.options;
    // The lease outlives a probe that hangs (its agent died mid-probe): another may take over after it.
    const claimed = await pool.query<{ since: Date; probes: number }>(
      `UPDATE upstream_outages SET probe_owner = $2, probe_lease_until = now() + make_interval(secs => $3), probes = probes + 1
        WHERE upstream = $1 AND next_probe_at <= now() AND (probe_lease_until IS NULL OR probe_lease_until < now())
       RETURNING since, probes`,
      [upstream, owner, probeSeconds + 60],
    );
    if (claimed.rowCount === 0) return;
    try {
      await this.options.probe();
    } catch (err) {
      const error = errorMessage(err);
      const { rows } = await pool.query<{ next_probe_at: Date }>(
        `UPDATE upstream_outages SET last_error = left($3, 1000), next_probe_at = now() + make_interval(secs => $4), probe_owner = NULL, probe_lease_until = NULL
          WHERE upstream = $1 AND probe_owner = $2 RETURNING next_probe_at`,
        [upstream, owner, error, probeSeconds],
      );
      if (this.cached && rows[0]) Object.assign(this.cached, { lastError: error, nextProbeAt: rows[0].next_probe_at });
      log.info('cloud still unreachable', { upstream, probe: claimed.rows[0].probes, error });
      return;
    }
    await pool.query('DELETE FROM upstream_outages WHERE upstream = $1', [upstream]);
    const outage = this.cached ?? { since: claimed.rows[0].since, lastError: '', nextProbeAt: new Date() };
    this.cached = undefined;
    this.refreshedAt = Date.now();
    log.info('cloud reachable again: uploads resume', { upstream, unreachableSeconds: Math.round((Date.now() - outage.since.getTime()) / 1000), probes: claimed.rows[0].probes });
    this.options.onBack(outage);
  }
}
