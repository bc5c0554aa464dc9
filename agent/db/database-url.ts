import type { GatewayConfig } from '../config/config';
import { readRunningAgent } from '../runtime-file';

/**
 * The database a command outside the agent (status, retry) should use: the configured external server, else the
 * running agent's embedded one. Undefined when the database is embedded and the agent is not running.
 */
export function databaseUrlFor(config: GatewayConfig): string | undefined {
  return config.database.url ?? readRunningAgent(config.dataDir)?.databaseUrl;
}
