import { readAsset } from '../assets';
import { runConnectivityTest } from '../connectivity/test-connectivity';
import { checkThisPc } from '../host/powershell-bridge';
import { requeueFailed } from '../upload/queue';
import { readLiveStatus, type AgentView } from './live-status';
import { formatMetrics } from './metrics';
import { HttpError, jsonReply, type Reply, type Route } from './server';
import { listStudies, STUDIES_DEFAULT_LIMIT, STUDIES_MAX_LIMIT } from './study-list';
import { formatBytes, type ApiConnectivityReport, type ApiRetryResult, type ApiStopReply, type ApiThisPcReport, type ApiUploadsState } from './types';

const STATUS_PAGE_DIR = 'agent/api/status-page';
const STATUS_PAGE_FILES: Record<string, string> = {
  '/': 'index.html',
  '/status.css': 'status.css',
  '/status.js': 'status.js',
};
const CONTENT_TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8' };
/** A DICOM UID: digits and dots, at most 64 characters (PS3.5 9.1). */
const UID_PATTERN = /^[0-9]+(\.[0-9]+)*$/;

/** Every endpoint of the local API (see README, "Local API and status page"). */
export function apiRoutes(view: AgentView): Route[] {
  const { config, pool, uploader, log } = view;
  // The status page's files are read once: from the repository, or from the packaged executable's assets.
  const pages: Route[] = Object.entries(STATUS_PAGE_FILES).map(([path, file]) => {
    const reply: Reply = { contentType: CONTENT_TYPES[file.split('.').pop()!], body: readAsset(`${STATUS_PAGE_DIR}/${file}`) };
    return { method: 'GET', path, needsToken: false, handle: () => reply };
  });
  // The page formats sizes with the very function `gateway status` and the tray use: its compiled source, as a script.
  const formatScript: Reply = { contentType: CONTENT_TYPES.js, body: `'use strict';\nconst formatBytes = ${formatBytes.toString()};\n` };
  pages.push({ method: 'GET', path: '/format.js', needsToken: false, handle: () => formatScript });
  // A second click while a long check runs gets the same answer rather than a second run.
  const connectivityTest = shared<ApiConnectivityReport>(() => runConnectivityTest(config, { databaseUrl: view.databaseUrl }));
  const thisPcCheck = shared<ApiThisPcReport>(() => checkThisPc({ port: config.port, dataPath: config.dataDir }));

  const setPaused = (paused: boolean): Reply => {
    if (!uploader) throw new HttpError(409, 'no upstream is configured: there are no uploads to pause or resume');
    if (paused !== uploader.paused) log.info(paused ? 'uploads paused through the local API' : 'uploads resumed through the local API');
    if (paused) uploader.pause();
    else uploader.resume();
    return jsonReply({ paused: uploader.paused } satisfies ApiUploadsState);
  };

  return [
    ...pages,
    { method: 'GET', path: '/api/status', needsToken: false, handle: async () => jsonReply(await readLiveStatus(view)) },
    {
      method: 'GET',
      path: '/api/studies',
      needsToken: true,
      handle: async ({ query }) => {
        for (const key of query.keys()) if (!['limit', 'offset', 'patient'].includes(key)) throw new HttpError(400, `unknown parameter ${key} (allowed: limit, offset, patient)`);
        const limit = wholeNumber(query.get('limit'), 'limit', 1, STUDIES_MAX_LIMIT) ?? STUDIES_DEFAULT_LIMIT;
        const offset = wholeNumber(query.get('offset'), 'offset', 0, 1e9) ?? 0;
        // patient=1 is accepted, but the database keeps no patient names: there is nothing to add.
        wholeNumber(query.get('patient'), 'patient', 0, 1);
        return jsonReply(await listStudies(pool, { limit, offset }));
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      needsToken: false,
      handle: async () => {
        return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: formatMetrics(await readLiveStatus(view)) };
      },
    },
    { method: 'POST', path: '/api/connectivity-test', needsToken: true, handle: async () => jsonReply(await connectivityTest()) },
    { method: 'POST', path: '/api/check-this-pc', needsToken: true, handle: async () => jsonReply(await thisPcCheck()) },
    {
      method: 'POST',
      path: '/api/stop',
      // Not with the tray's token, which every logged-on user may read.
      needsToken: 'admin',
      handle: () => {
        if (!view.requestStop) throw new HttpError(409, 'this agent cannot be stopped through its API');
        view.requestStop('gateway stop');
        // Connection: close, so that the stopping server is not kept waiting by this caller's keep-alive connection.
        return { ...jsonReply({ stopping: true, pid: process.pid } satisfies ApiStopReply, 202), headers: { Connection: 'close' } };
      },
    },
    { method: 'POST', path: '/api/uploads/pause', needsToken: true, handle: () => setPaused(true) },
    { method: 'POST', path: '/api/uploads/resume', needsToken: true, handle: () => setPaused(false) },
    {
      method: 'POST',
      path: /^\/api\/studies\/([^/]*)\/retry$/,
      needsToken: true,
      handle: async ({ params }) => {
        const studyUid = studyUidParam(params[0]);
        const known = await pool.query('SELECT 1 FROM studies WHERE study_uid = $1', [studyUid]);
        if (known.rowCount === 0) throw new HttpError(404, `no study ${studyUid} here`);
        const requeued = await requeueFailed(pool, studyUid);
        log.info('failed uploads queued again through the local API', { studyUid, requeued });
        return jsonReply({ studyUid, requeued } satisfies ApiRetryResult);
      },
    },
  ];
}

function wholeNumber(value: string | null, name: string, min: number, max: number): number | undefined {
  if (value === null) return undefined;
  const number = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (!(number >= min && number <= max)) throw new HttpError(400, `${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value.slice(0, 40))})`);
  return number;
}

function studyUidParam(raw: string): string {
  let uid: string;
  try {
    uid = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'the study UID is not valid URL encoding');
  }
  if (uid.length > 64 || !UID_PATTERN.test(uid)) throw new HttpError(400, `${JSON.stringify(uid.slice(0, 80))} is not a study instance UID (digits and dots, at most 64 characters)`);
  return uid;
}

/** Runs `work` once for all callers that arrive while it runs. */
function shared<T>(work: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= work().finally(() => {
      running = undefined;
    });
    return running;
  };
}
