// The status page: polls the agent's local API every 2 s and draws what it says. The status needs no token; the
// studies, pause, resume and the connectivity test send the API token, which arrives in the address fragment (#token=..., from
// the tray: a fragment is never sent to the server) or is pasted, and is kept in this tab's sessionStorage only.
// formatBytes comes from /format.js (the agent's own formatter).
'use strict';

const REFRESH_MS = 2000;
const TOKEN_KEY = 'gatewayApiToken';
const $ = (id) => document.getElementById(id);

function takeTokenFromAddress() {
  const match = /(?:^#|&)token=([0-9a-f]{64})(?:&|$)/.exec(location.hash);
  if (match) sessionStorage.setItem(TOKEN_KEY, match[1]);
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
}

const token = () => sessionStorage.getItem(TOKEN_KEY);

async function callApi(method, path) {
  const headers = { Accept: 'application/json' };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const response = await fetch(path, { method, headers, cache: 'no-store' });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showControls();
  }
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function fillList(dl, pairs) {
  dl.replaceChildren(...pairs.flatMap(([term, value]) => [element('dt', '', term), element('dd', '', value)]));
}

function formatTime(iso) {
  if (!iso) return 'never';
  const time = new Date(iso);
  return time.toDateString() === new Date().toDateString() ? time.toLocaleTimeString() : time.toLocaleString();
}

function showControls() {
  const hasToken = Boolean(token());
  $('token-prompt').hidden = hasToken;
  $('pause-button').disabled = !hasToken;
  $('connectivity-button').disabled = !hasToken;
}

let paused = false;

function drawStatus(status) {
  $('unreachable').hidden = true;
  $('identity').textContent = `${status.aeTitle} · version ${status.version}`;
  const state = $('state');
  state.className = `state ${status.state}`;
  state.textContent = status.state;
  $('reasons').replaceChildren(...status.reasons.map((reason) => element('li', reason.state, reason.message)));
  paused = status.paused;
  $('paused-banner').hidden = !status.paused;
  $('pause-button').textContent = status.paused ? 'Resume uploads' : 'Pause uploads';

  const receiver = status.receiver;
  fillList($('receiver'), [
    ['Listening', receiver.listening ? 'yes' : 'NO'],
    ['DICOM port', receiver.tlsPort ? `${receiver.port} (TLS ${receiver.tlsPort})` : String(receiver.port)],
    ['Associations', String(receiver.activeAssociations)],
    ['Last received', formatTime(status.lastReceivedAt)],
  ]);
  const upstream = status.upstream;
  fillList($('upstream'), upstream.configured
    ? [
        ['Target', `${upstream.kind} ${upstream.target}`],
        ['Reachable', upstream.reachable === null ? 'not tried yet' : upstream.reachable ? 'yes' : `NO, since ${formatTime(upstream.unreachableSince)}${upstream.nextCheckAt ? `; next check at ${formatTime(upstream.nextCheckAt)}` : ''}`],
        ...(upstream.lastError ? [['Last error', upstream.lastError]] : []),
      ]
    : [['Target', 'none configured']]);
  fillList($('queue'), [
    ['Studies', String(status.queue.studies)],
    ['Instances', String(status.queue.instances)],
    ['Size', formatBytes(status.queue.bytes)],
    ['Failed', String(status.queue.failed)],
  ]);
  const compression = status.compression;
  fillList($('throughput'), [
    ['Upload rate', `${status.uploadMbps} Mbps`],
    ['Last uploaded', formatTime(status.lastUploadedAt)],
    ...(compression
      ? [['Compression', `${compression.compressed} compressed${compression.ratio ? ` (${compression.ratio}:1)` : ''}, ${compression.keptAsReceived} as received, ${compression.pending} waiting`]]
      : []),
    ...(compression && compression.lossless ? [['Lossless', compression.lossless]] : []),
  ]);
  const hl7 = status.hl7;
  $('hl7-card').hidden = !hl7;
  if (hl7) {
    fillList($('hl7'), [
      ['Listening', hl7.listening ? `yes, port ${hl7.port}` : `NO (port ${hl7.port})`],
      ...(hl7.messages ? [['Messages in', `${hl7.messages.received} received, ${hl7.messages.queued} waiting, ${hl7.messages.delivered} to the cloud, ${hl7.messages.failed} failed`]] : []),
      ...(hl7.reports ? [['Reports out', `${hl7.reports.queued} waiting, ${hl7.reports.delivered} to the EMR, ${hl7.reports.failed} failed`]] : []),
      ...(hl7.lastError ? [['Last error', hl7.lastError]] : []),
    ]);
  }
  fillList($('host'), [
    ['Free disk', status.freeDiskBytes === null ? 'unknown' : formatBytes(status.freeDiskBytes)],
    ['Database', status.database.ok ? 'ok' : `DOWN: ${status.database.error || ''}`],
    ['Logs', status.logsDir],
    ['Running since', formatTime(status.startedAt)],
  ]);
}

function progressCell(done, total, label) {
  const cell = element('td');
  const bar = element('progress');
  bar.max = Math.max(total, 1);
  bar.value = done;
  cell.append(bar, element('span', '', label));
  return cell;
}

function drawStudies(page) {
  $('studies-total').textContent = `(${page.studies.length} of ${page.total})`;
  $('studies').tBodies[0].replaceChildren(
    ...page.studies.map((study) => {
      const row = element('tr');
      row.dataset.studyUid = study.studyUid;
      const percent = study.bytes > 0 ? Math.floor((study.bytesUploaded / study.bytes) * 100) : 0;
      row.append(
        element('td', 'uid', study.studyUid),
        element('td', '', study.modality || ''),
        element('td', `study-state ${study.state}`, study.instancesFailed > 0 ? `${study.state} (${study.instancesFailed})` : study.state),
        progressCell(study.instancesUploaded, study.instancesReceived, `${study.instancesUploaded}/${study.instancesReceived}`),
        progressCell(study.bytesUploaded, study.bytes, `${percent}% of ${formatBytes(study.bytes)}`),
        element('td', '', formatTime(study.lastReceivedAt)),
      );
      return row;
    }),
  );
}

let refreshTimer;

async function refresh() {
  try {
    const [status, studies] = await Promise.all([callApi('GET', '/api/status'), token() ? callApi('GET', '/api/studies?limit=20') : null]);
    drawStatus(status);
    if (studies) drawStudies(studies);
  } catch (err) {
    $('unreachable').hidden = false;
    $('state').className = 'state unknown';
    $('state').textContent = 'no answer';
  } finally {
    // One timer, however many refreshes overlapped (an action refreshes at once).
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, REFRESH_MS);
  }
}

async function runAction(button, work) {
  button.disabled = true;
  $('action-message').textContent = '';
  try {
    await work();
  } catch (err) {
    $('action-message').textContent = err.message;
  } finally {
    button.disabled = !token();
  }
}

function drawConnectivity(report) {
  $('connectivity').hidden = false;
  $('connectivity-summary').textContent = report.ok ? '— passed' : '— failed';
  $('connectivity-steps').replaceChildren(
    ...report.steps.map((step) => {
      const item = element('li', `step ${step.status}`);
      item.dataset.status = step.status;
      item.append(element('span', 'step-status', step.status), element('strong', 'step-name', step.name), document.createTextNode(` ${step.detail} (${step.ms} ms)`));
      if (step.hint) item.append(element('span', 'step-hint', `Hint: ${step.hint}`));
      return item;
    }),
  );
}

function start() {
  takeTokenFromAddress();
  showControls();
  // The tray may hand the token to a page that is already open: only the fragment changes then.
  window.addEventListener('hashchange', () => {
    takeTokenFromAddress();
    showControls();
  });
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('token-input').value.trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    $('token-input').value = '';
    showControls();
  });
  $('pause-button').addEventListener('click', () =>
    runAction($('pause-button'), async () => {
      const result = await callApi('POST', paused ? '/api/uploads/resume' : '/api/uploads/pause');
      paused = result.paused;
      $('paused-banner').hidden = !paused;
      $('pause-button').textContent = paused ? 'Resume uploads' : 'Pause uploads';
      refresh();
    }),
  );
  $('connectivity-button').addEventListener('click', () =>
    runAction($('connectivity-button'), async () => {
      $('action-message').textContent = 'Testing the way to the cloud…';
      drawConnectivity(await callApi('POST', '/api/connectivity-test'));
      $('action-message').textContent = '';
    }),
  );
  refresh();
}

start();
