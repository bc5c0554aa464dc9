import type { GatewayConfig } from './config/config';
import { AgentApiClient, AgentApiError } from './api/client';
import { errorMessage } from './errors';
import { isProcessAlive } from './process-alive';
import { readRunningAgent } from './runtime-file';

/**
 * `gateway stop`: asks the running agent for an orderly stop through its local API (in-flight C-STOREs finish,
 * PostgreSQL is shut down cleanly) and waits until its process has exited. This is how the Windows service host
 * stops the agent: a program without a console gets no Ctrl+C, and killing it would be a crash. Where the API
 * does not answer, POSIX systems fall back to SIGTERM, which the agent handles the same way.
 */
export async function stopRunningAgent(config: GatewayConfig, timeoutMs: number): Promise<{ pid: number } | undefined> {
  const running = readRunningAgent(config.dataDir);
  if (!running) return undefined;
  const client = new AgentApiClient({ baseUrl: `http://127.0.0.1:${running.apiPort ?? config.api.port}`, dataDir: config.dataDir });
  try {
    await client.stopAgent();
  } catch (err) {
    if (process.platform === 'win32' || (err instanceof AgentApiError && err.failure === 'unauthorized')) {
      throw new Error(`could not ask the agent (pid ${running.pid}) to stop: ${errorMessage(err)}`);
    }
    process.kill(running.pid, 'SIGTERM');
  }
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(running.pid)) {
    if (Date.now() > deadline) throw new Error(`the agent (pid ${running.pid}) was asked to stop but still runs after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { pid: running.pid };
}
