import type { OverallState, StatusReason } from './types';

/** What the overall state is decided from. */
/**
 * The agent as `gateway status` finds it: running (the agent decides its own state), stopped, or running without
 * answering on its local API (then only what the database says is known).
 */
export type AgentPresence = 'running' | 'stopped' | 'not-answering';

export interface StateFacts {
  agent: AgentPresence;
  receiverListening: boolean;
  databaseOk: boolean;
  freeDiskBytes: number | null;
  /** limits.minFreeDiskMb in bytes: below it new stores are refused. */
  minFreeDiskBytes: number;
  upstreamConfigured: boolean;
  upstreamReachable: boolean | null;
  unreachableSince?: Date;
  /** While unreachable: when the cloud is checked next. */
  nextCheckAt?: Date;
  /** api.upstreamAlertMinutes. */
  upstreamAlertMinutes: number;
  paused: boolean;
  failedUploads: number;
  /** With hl7 configured: its listener, and messages and reports refused for good (kept until retried). */
  hl7?: { listening: boolean; failedMessages: number; failedReports: number };
  /** Indexed instances whose spool file is gone (startup recovery marks them). */
  missingFiles: number;
  now: Date;
}

/**
 * The rules of green / amber / red. Red: the gateway loses or refuses studies now, or soon (nothing listens, no
 * database, disk below the limit, the cloud gone longer than api.upstreamAlertMinutes). Amber: a person should look
 * but nothing more is lost (paused, failed uploads kept until retried, the cloud gone a short while, disk getting
 * low, no upstream configured, spool files found missing at startup: the sender must resend those). Green: none of these.
 * An agent that is not running (or not answering) is red, whatever else holds; what only the running agent knows
 * (its listener, the cloud's answers, pausing) is then left out.
 */
export function decideState(facts: StateFacts): { state: OverallState; reasons: StatusReason[] } {
  const reasons: StatusReason[] = [];
  const add = (code: string, state: OverallState, message: string) => reasons.push({ code, state, message });

  if (facts.agent === 'stopped') add('agent-not-running', 'red', 'The gateway agent is not running: modalities cannot send and nothing is uploaded.');
  if (facts.agent === 'not-answering') add('agent-not-answering', 'red', 'The gateway agent runs but does not answer: it may be stuck (restart it).');
  if (facts.agent === 'running') {
    if (!facts.receiverListening) add('receiver-not-listening', 'red', 'The DICOM receiver is not listening: modalities cannot send.');
    if (!facts.databaseOk) add('database-down', 'red', 'The database does not answer: new studies are refused.');
    if (facts.hl7 && !facts.hl7.listening) add('hl7-not-listening', 'red', 'The HL7 listener is not listening: the RIS/EMR cannot send orders.');
  }
  if (facts.freeDiskBytes !== null) {
    const freeMb = Math.floor(facts.freeDiskBytes / 1048576);
    if (facts.freeDiskBytes < facts.minFreeDiskBytes) add('disk-full', 'red', `Only ${freeMb} MB free on the data disk: new studies are refused.`);
    else if (facts.freeDiskBytes < 2 * facts.minFreeDiskBytes) add('disk-low', 'amber', `Only ${freeMb} MB free on the data disk: studies will be refused soon.`);
  }
  if (!facts.upstreamConfigured) add('upstream-not-configured', 'amber', 'No cloud is configured: studies are kept here and not uploaded.');
  if (facts.upstreamReachable === false) {
    const minutes = facts.unreachableSince ? Math.floor((facts.now.getTime() - facts.unreachableSince.getTime()) / 60000) : 0;
    const late = minutes >= facts.upstreamAlertMinutes;
    const since = facts.unreachableSince ? `since ${clockTime(facts.unreachableSince)} (${minutes} minute${minutes === 1 ? '' : 's'})` : `for ${minutes} minutes`;
    const next = facts.nextCheckAt ? `; next check in ${Math.max(0, Math.ceil((facts.nextCheckAt.getTime() - facts.now.getTime()) / 1000))} s` : '';
    add('upstream-unreachable', late ? 'red' : 'amber', `Cloud unreachable ${since}${next}: studies wait here.`);
  }
  if (facts.missingFiles > 0)
    add(
      'spool-files-missing',
      'amber',
      `${facts.missingFiles} received instance${facts.missingFiles === 1 ? ' has' : 's have'} no file on disk: the sender must send ${facts.missingFiles === 1 ? 'it' : 'them'} again.`,
    );
  if (facts.failedUploads > 0) add('uploads-failed', 'amber', `${facts.failedUploads} instance${facts.failedUploads === 1 ? ' was' : 's were'} refused by the cloud: kept here until retried.`);
  if (facts.hl7?.failedMessages)
    add('hl7-messages-failed', 'amber', `${facts.hl7.failedMessages} HL7 message${facts.hl7.failedMessages === 1 ? ' was' : 's were'} refused by the cloud: kept here until retried.`);
  if (facts.hl7?.failedReports)
    add('hl7-reports-failed', 'amber', `${facts.hl7.failedReports} report${facts.hl7.failedReports === 1 ? ' was' : 's were'} not accepted by the EMR: kept here until retried.`);
  if (facts.paused) add('paused', 'amber', 'Uploads are paused.');

  const state: OverallState = reasons.some((r) => r.state === 'red') ? 'red' : reasons.length > 0 ? 'amber' : 'green';
  return { state, reasons };
}

/** HH:MM in the agent's local time: what a person at the PC compares with the clock on the wall. */
function clockTime(date: Date): string {
  return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
}
