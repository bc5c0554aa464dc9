// The status page in a real browser (Debian's Chromium driven by playwright-core): a real agent uploading to the
// STOW-RS simulator; a study pushed with storescu appears and reaches done; pause shows the banner; the
// connectivity-test button lists each step. Saves a screenshot to test/output/status-page.png (git-ignored).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { formatBytes, statusPageUrl, type ApiStudiesPage } from '../agent/api/types';
import { makeCloudPki } from './cloud-simulator/pki';
import { startStowRsSimulator } from './cloud-simulator/stow-rs-server';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';
import { createTestDatabase } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { REPO_ROOT, startGateway } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';

const SCREENSHOT = path.join(REPO_ROOT, 'test', 'output', 'status-page.png');

test('the status page shows a pushed study reaching done, pauses uploads and runs the connectivity test', async () => {
  const pki = makeCloudPki(tempDir('page-pki'));
  const cloud = await startStowRsSimulator({ pki, storeDir: tempDir('page-cloud'), token: 'site-token' });
  const gateway = await startGateway({
    dataDir: tempDir('page'),
    database: await createTestDatabase(),
    aeTitle: 'PAGEGW',
    config: {
      upstream: { kind: 'stow-rs', url: cloud.url, caFile: pki.caFile, token: 'site-token' },
      upload: { workers: 1, retryBaseSeconds: 1, retryMaxSeconds: 2 },
      studies: { seriesQuietSeconds: 1, studyQuietSeconds: 1, forceCompleteMinutes: 60 },
      // The page, not the codecs, is under test here: instances go as received, sooner.
      compression: { enabled: false },
    },
  });
  // Root may not use Chromium's sandbox; the page is our own and local.
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));

    // Without a token the page is read-only and asks for one.
    await page.goto(statusPageUrl(gateway.apiPort));
    await page.locator('#state.green').waitFor({ timeout: 10000 });
    assert.equal(await page.locator('#token-prompt').isVisible(), true);
    assert.equal(await page.locator('#connectivity-button').isDisabled(), true);

    // As the tray opens it: the token in the fragment, which the page keeps and takes out of the address bar.
    const token = fs.readFileSync(path.join(gateway.dataDir, 'api-token'), 'utf8').trim();
    await page.goto(statusPageUrl(gateway.apiPort, token));
    await page.locator('#state.green').waitFor({ timeout: 10000 });
    assert.equal(new URL(page.url()).hash, '', 'the token left the address bar');
    assert.equal(await page.locator('#token-prompt').isVisible(), false);

    const series = writeSyntheticCtSeries(tempDir('page-ct'), { slices: 5, rows: 64, columns: 64 });
    assert.equal((await runDcmtk('storescu', ['-aec', 'PAGEGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
    const row = page.locator(`#studies tr[data-study-uid="${series.studyInstanceUid}"]`);
    await row.locator('.study-state.done').waitFor({ timeout: 30000 });
    assert.match(await row.innerText(), /5\/5/);
    // Sizes read as everywhere else: the page formats with the agent's own formatBytes (served as /format.js).
    const listed = (await (await fetch(`http://127.0.0.1:${gateway.apiPort}/api/studies`, { headers: { authorization: `Bearer ${token}` } })).json()) as ApiStudiesPage;
    assert.ok((await row.innerText()).includes(`100% of ${formatBytes(listed.studies[0].bytes)}`), await row.innerText());
    assert.deepEqual(await row.locator('progress').evaluateAll((bars) => bars.map((b) => (b as unknown as { position: number }).position)), [1, 1]);

    await page.click('#pause-button');
    await page.locator('#paused-banner').waitFor({ state: 'visible' });
    await page.locator('#state.amber').waitFor({ timeout: 5000 });
    assert.match(await page.locator('#reasons').innerText(), /Uploads are paused/);
    await page.click('#pause-button');
    await page.locator('#paused-banner').waitFor({ state: 'hidden' });
    await page.locator('#state.green').waitFor({ timeout: 5000 });

    await page.click('#connectivity-button');
    await page.locator('#connectivity-steps li').first().waitFor({ timeout: 30000 });
    const steps = await page.locator('#connectivity-steps li').evaluateAll((items) => items.map((li) => [li.querySelector('.step-name')!.textContent, li.getAttribute('data-status')]));
    assert.deepEqual(
      steps.map(([name]) => name),
      ['DNS', 'TCP connect', 'TLS handshake', 'HTTPS request', 'upload rate'],
    );
    // The simulator's certificate is short-lived (TLS may warn); the upload rate depends on how the few test uploads
    // spread over time. Nothing fails.
    assert.deepEqual(
      steps.filter(([name]) => name !== 'TLS handshake' && name !== 'upload rate'),
      [
        ['DNS', 'pass'],
        ['TCP connect', 'pass'],
        ['HTTPS request', 'pass'],
      ],
    );
    assert.ok(
      steps.every(([, status]) => status !== 'fail'),
      JSON.stringify(steps),
    );
    assert.match(await page.locator('#connectivity-summary').innerText(), /passed/);

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
    await gateway.stop();
    await cloud.stop();
  }
});
