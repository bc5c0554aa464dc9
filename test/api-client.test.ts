// The local API client's errors: each failure says what is wrong in words a support engineer can act on.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { AgentApiClient, type AgentApiError } from '../agent/api/client';
import { statusPageUrl } from '../agent/api/types';
import { freePort } from '../agent/db/embedded-postgres';
import { tempDir } from './helpers/temp-dir';

async function serve(handler: http.RequestListener): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const failure = (expected: string, message: RegExp) => (err: AgentApiError) => {
  assert.equal(err.failure, expected);
  assert.match(err.message, message);
  return true;
};

test('nothing listening: not-running; no answer in time: timeout', async () => {
  const dir = tempDir('api-client');
  const port = await freePort();
  await assert.rejects(new AgentApiClient({ baseUrl: statusPageUrl(port), dataDir: dir }).status(), failure('not-running', /agent is not running/));

  const silent = await serve(() => undefined);
  try {
    await assert.rejects(new AgentApiClient({ baseUrl: statusPageUrl(silent.port), dataDir: dir, timeoutMs: 200 }).status(), failure('timeout', /within 200 ms/));
  } finally {
    await silent.close();
  }
});

test('the token: sent as a bearer token, missing named, refused as unauthorized; error bodies and non-JSON answers', async () => {
  const dir = tempDir('api-client');
  const seen: Array<string | undefined> = [];
  const server = await serve((req, res) => {
    seen.push(req.headers.authorization);
    if (req.url === '/api/status') {
      res.writeHead(500, { 'content-type': 'text/html' });
      return res.end('<html>oops</html>');
    }
    const ok = req.headers.authorization === 'Bearer good';
    res.writeHead(ok ? 409 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: ok ? 'no upstream is configured' : 'a valid token is needed' }));
  });
  try {
    const client = new AgentApiClient({ baseUrl: statusPageUrl(server.port), dataDir: dir });
    await assert.rejects(client.pauseUploads(), failure('token-missing', /no API token at .*api-token/));
    assert.equal(seen.length, 0, 'nothing sent without a token');
    fs.writeFileSync(path.join(dir, 'api-token'), 'bad\n');
    await assert.rejects(client.pauseUploads(), (err: AgentApiError) => err.failure === 'unauthorized' && err.status === 401 && /a valid token is needed/.test(err.message));
    fs.writeFileSync(path.join(dir, 'api-token'), 'good\n');
    await assert.rejects(client.resumeUploads(), failure('failed', /^POST \/api\/uploads\/resume: no upstream is configured$/));
    assert.deepEqual(seen, ['Bearer bad', 'Bearer good']);
    await assert.rejects(client.status(), failure('failed', /HTTP 500 with something that is not JSON/));
  } finally {
    await server.close();
  }
});
