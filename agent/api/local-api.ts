import type { AgentView } from './live-status';
import { apiRoutes } from './routes';
import { startApiServer, type ApiServer } from './server';
import { publishApiPort, readOrCreateApiToken, readOrCreateTrayToken } from './token';

/** The local API and status page of a running agent, on 127.0.0.1:<api.port>. */
export async function startLocalApi(view: AgentView): Promise<ApiServer> {
  const { dataDir } = view.config;
  const server = await startApiServer({ port: view.config.api.port, token: readOrCreateApiToken(dataDir), trayToken: readOrCreateTrayToken(dataDir), routes: apiRoutes(view), log: view.log });
  publishApiPort(dataDir, server.port);
  return server;
}
