// A STOW-RS cloud simulator for tests that follow instances from the modality to the cloud, and the agent
// configuration that sends to it.
import { makeCloudPki } from '../cloud-simulator/pki';
import { startStowRsSimulator, type StowRsSimulator } from '../cloud-simulator/stow-rs-server';
import { query } from './database';
import { tempDir } from './temp-dir';

type Config = Record<string, unknown>;

/**
 * Runs `run` with a fresh simulator (token 'site-token') and a function giving the agent's configuration for it:
 * short retries, leases and quiet periods, then `extra`; `compressionDefaults` under extra's own compression keys.
 */
export async function withStowCloud(label: string, run: (cloud: StowRsSimulator, config: (extra?: Config) => Config) => Promise<void>, compressionDefaults: Config = {}): Promise<void> {
  const pki = makeCloudPki(tempDir(`${label}-pki`));
  const cloud = await startStowRsSimulator({ pki, storeDir: tempDir(`${label}-cloud`), token: 'site-token' });
  const config = (extra: Config = {}) => {
    const compression = { ...compressionDefaults, ...(extra.compression as Config | undefined) };
    return {
      upstream: { kind: 'stow-rs', url: cloud.url, caFile: pki.caFile, token: 'site-token' },
      upload: { workers: 2, batchMaxInstances: 20, retryBaseSeconds: 1, retryMaxSeconds: 2, leaseSeconds: 10 },
      studies: { seriesQuietSeconds: 1, studyQuietSeconds: 2, forceCompleteMinutes: 60 },
      ...extra,
      ...(Object.keys(compression).length > 0 ? { compression } : {}),
    };
  };
  try {
    await run(cloud, config);
  } finally {
    await cloud.stop();
  }
}

/** Instances the agent has delivered (uploads done). */
export async function deliveredCount(databaseUrl: string): Promise<number> {
  return (await query(databaseUrl, "SELECT count(*)::int AS n FROM uploads WHERE state = 'done'"))[0].n as number;
}
