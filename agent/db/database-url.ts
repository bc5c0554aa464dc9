import type { GatewayConfig } from '../config/config';
import { readSecrets } from '../config/secrets';
import { readRunningAgent } from '../runtime-file';

/**
 * The database a command outside the agent (status, retry) should use: the configured external server, else the
 * running agent's embedded one (agent.json names it without its password, which comes from the secret store).
 * Undefined when the database is embedded and the agent is not running.
 */
export function databaseUrlFor(config: GatewayConfig): string | undefined {
  if (config.database.url) return config.database.url;
  const running = readRunningAgent(config.dataDir)?.databaseUrl;
  return running && withPassword(running, readSecrets(config.dataDir)['database.password']);
}

/** The URL with the stored password filled in, unless it gives one itself (or none is stored). */
export function withPassword(url: string, password: string | undefined): string {
  const parsed = new URL(url);
  if (password === undefined || parsed.password || !parsed.username) return url;
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/** The URL as other programs may see it (agent.json): no password. */
export function withoutPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = '';
  return parsed.toString();
}
