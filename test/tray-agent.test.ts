// The tray against a real `gateway run` (its own database, a STOW-RS upstream where nothing listens): the API
// client and the tray's view follow the real local API, Pause/Resume reach the real uploader, and the tray
// reconnects across a restart of the agent (a new free API port, which the agent publishes in <dataDir>/tray).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { AgentApiClient, AgentApiError } from '../agent/api/client';
import { trayAccessDir } from '../tray/agent-access';
import { statusPageUrl } from '../agent/api/types';
import { freePort } from '../agent/db/embedded-postgres';
import { createTestDatabase } from './helpers/database';
import { launchGateway, startGateway, type GatewayProcess } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';
import { trayIcon, trayRig } from './helpers/tray-rig';

let gateway: GatewayProcess | undefined;
after(async () => {
  await gateway?.stop();
});

test('the tray follows a real agent: its state, Pause/Resume with the token, a restart on another port', async () => {
  const dir = tempDir('tray-agent');
  const dataDir = path.join(dir, 'data');
  gateway = await startGateway({
    dataDir,
    database: await createTestDatabase(),
    config: { upstream: { kind: 'stow-rs', url: `https://127.0.0.1:${await freePort()}/dicomweb`, token: 'cloud-token' } },
  });

  const client = new AgentApiClient({ baseUrl: statusPageUrl(gateway.apiPort), dataDir });
  const status = await client.status();
  assert.equal(status.aeTitle, gateway.aeTitle);
  assert.equal(status.paused, false);
  assert.deepEqual(await client.pauseUploads(), { paused: true });
  assert.deepEqual(await client.resumeUploads(), { paused: false });
  const wrongToken = new AgentApiClient({ baseUrl: statusPageUrl(gateway.apiPort), dataDir: dir });
  await assert.rejects(wrongToken.pauseUploads(), (err: AgentApiError) => err.failure === 'token-missing');

  // The tray's own token (which every logged-on user may read on Windows): everything but stopping the agent.
  const asTray = new AgentApiClient({ baseUrl: statusPageUrl(gateway.apiPort), dataDir: trayAccessDir(dataDir) });
  assert.notEqual(asTray.readToken(), client.readToken());
  assert.deepEqual(await asTray.pauseUploads(), { paused: true });
  assert.deepEqual(await asTray.resumeUploads(), { paused: false });
  assert.equal((await asTray.studies()).total, 0);
  await assert.rejects(asTray.stopAgent(), (err: AgentApiError) => err.failure === 'unauthorized');
  assert.equal((await client.status()).receiver.listening, true, 'the agent still runs');

  // The configured port (0 here) is not where the agent listens: the tray finds the port in <dataDir>/tray.
  const rig = await trayRig(dir, { dataDir, apiPort: 0 });
  try {
    rig.tray.start();
    const { host } = rig;
    // The icon and the menu items are separate updates to the tray binary: wait for both.
    await host.waitFor('a running agent', () => host.find(/Pause uploads/)?.enabled === true && host.icon !== trayIcon('grey'));
    host.click(/Pause uploads/);
    await host.waitFor('paused', () => host.find(/Resume uploads/)?.enabled === true);
    assert.equal((await client.status()).paused, true);
    assert.ok((await client.status()).reasons.some((r) => r.code === 'paused'));

    await gateway.stop();
    await host.waitFor('grey while the agent is stopped', () => host.icon === trayIcon('grey') && host.find(/Agent not running/) !== undefined);
    assert.equal(host.item(/Agent not running/).enabled, false);
    gateway = await launchGateway(gateway.configFile, gateway.port, gateway.aeTitle, dataDir);
    // Pausing lasts until the agent restarts: the restarted agent uploads again.
    await host.waitFor('the restarted agent', () => host.find(/Pause uploads/)?.enabled === true && host.icon !== trayIcon('grey'), 30_000);
    assert.equal(rig.notices.length, 0, 'no notification for a restart');
  } finally {
    await rig.stop();
  }
});
