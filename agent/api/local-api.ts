import type { AgentView } from './live-status';
import { apiRoutes } from './routes';
import { startApiServer, type ApiServer } from './server';
import { publishForTray, readOrCreateApiToken } from './token';

/** The local API and status page of a running agent, on 127.0.0.1:<api.port>. */
export async function startLocalApi(view: AgentView): Promise<ApiServer> {
  const token = readOrCreateApiToken(view.config.dataDir);
  const server = await startApiServer({ port: view.config.api.port, token, routes: apiRoutes(view), log: view.log });
  publishForTray(view.config.dataDir, server.port, token);
  return server;
}
