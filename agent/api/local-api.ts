import type { AgentView } from './live-status';
import { apiRoutes } from './routes';
import { startApiServer, type ApiServer } from './server';
import { readOrCreateApiToken } from './token';

/** The local API and status page of a running agent, on 127.0.0.1:<api.port>. */
export function startLocalApi(view: AgentView): Promise<ApiServer> {
  const token = readOrCreateApiToken(view.config.dataDir);
  return startApiServer({ port: view.config.api.port, token, routes: apiRoutes(view), log: view.log });
}
