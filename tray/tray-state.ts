import { formatBytes, type ApiStatus, type OverallState } from '../agent/api/types';

/** What one poll of the agent gave: its status, or why there was none. */
export type AgentPoll = { status: ApiStatus } | { error: string };

/** Grey means the agent is not running (or not answering). */
export type TrayColour = OverallState | 'grey';

/** The first three are transitions the state machine finds; the others answer a menu action. */
export type NoticeKind = 'upstream-unreachable' | 'upstream-back' | 'uploads-failed' | 'hl7-failed' | 'disk-low' | 'connectivity-result' | 'check-this-pc' | 'action-failed';

export interface TrayNotice {
  kind: NoticeKind;
  title: string;
  message: string;
}

/** Everything the tray shows, derived from one poll. */
export interface TrayView {
  colour: TrayColour;
  /** One line (Windows cuts tooltips at 127 characters). */
  tooltip: string;
  stateLine: string;
  queueLine: string;
  lastUploadLine: string;
  /** Null when the agent is not running (the pause item is disabled then). */
  paused: boolean | null;
  agentRunning: boolean;
}

export interface TrayStateOptions {
  /** Notify when the cloud has been unreachable for longer than this. */
  unreachableMinutes: number;
  /** At most one notification of a kind within this long. */
  repeatMinutes: number;
}

export const DEFAULT_TRAY_STATE_OPTIONS: TrayStateOptions = { unreachableMinutes: 10, repeatMinutes: 30 };

const TOOLTIP_MAX = 127;
const PRODUCT = 'DICOM Gateway';

/**
 * The tray's state machine: a pure function of the polls it is fed and the clock it is given, so it is tested
 * without timers. It notifies on transitions only (a condition that starts, or failures that grow), each kind
 * at most once per `repeatMinutes`.
 */
export class TrayState {
  private readonly options: TrayStateOptions;
  /** Conditions seen at the last successful poll; kept while the agent is away so a restart is no transition. */
  private unreachable = false;
  /** Since when the outage that was notified began: its end is notified too. */
  private notifiedOutageSince: number | undefined;
  private diskLow = false;
  private failed = 0;
  private hl7Failed = 0;
  private readonly lastNoticeAt = new Map<NoticeKind, number>();

  constructor(options: TrayStateOptions = DEFAULT_TRAY_STATE_OPTIONS) {
    this.options = options;
  }

  observe(poll: AgentPoll, now: Date): { view: TrayView; notices: TrayNotice[] } {
    if ('error' in poll) return { view: agentAwayView(), notices: [] };
    const status = poll.status;
    const notices: TrayNotice[] = [];

    const unreachableMs = status.upstream.reachable === false && status.upstream.unreachableSince ? now.getTime() - Date.parse(status.upstream.unreachableSince) : 0;
    const unreachable = unreachableMs > this.options.unreachableMinutes * 60_000;
    if (unreachable && !this.unreachable) {
      const message = reasonMessage(status, 'upstream-unreachable') ?? `The cloud has not answered for ${Math.floor(unreachableMs / 60_000)} minutes: studies wait here.`;
      if (this.notice(notices, now, { kind: 'upstream-unreachable', title: 'Cloud unreachable', message })) this.notifiedOutageSince = now.getTime() - unreachableMs;
    }
    this.unreachable = unreachable;
    if (status.upstream.reachable === true && this.notifiedOutageSince !== undefined) {
      const minutes = Math.max(1, Math.round((now.getTime() - this.notifiedOutageSince) / 60_000));
      notices.push({ kind: 'upstream-back', title: 'Cloud reachable again', message: `Uploads resumed after ${minutes} minute${minutes === 1 ? '' : 's'} without the cloud.` });
      this.notifiedOutageSince = undefined;
    }

    if (status.queue.failed > this.failed) {
      const message = reasonMessage(status, 'uploads-failed') ?? `${plural(status.queue.failed, 'upload')} failed permanently.`;
      this.notice(notices, now, { kind: 'uploads-failed', title: 'Upload failed', message: `${message} See the status page.` });
    }
    this.failed = status.queue.failed;

    const hl7Failed = (status.hl7?.messages?.failed ?? 0) + (status.hl7?.reports?.failed ?? 0);
    if (hl7Failed > this.hl7Failed) {
      const reason = status.reasons.find((r) => r.code === 'hl7-reports-failed' || r.code === 'hl7-messages-failed');
      this.notice(notices, now, { kind: 'hl7-failed', title: 'HL7 message failed', message: `${reason?.message ?? `${plural(hl7Failed, 'HL7 message')} failed.`} See the status page.` });
    }
    this.hl7Failed = hl7Failed;

    const diskReason = status.reasons.find((reason) => reason.code === 'disk-low' || reason.code === 'disk-full');
    if (diskReason && !this.diskLow) this.notice(notices, now, { kind: 'disk-low', title: diskReason.code === 'disk-full' ? 'Disk full' : 'Disk nearly full', message: diskReason.message });
    this.diskLow = diskReason !== undefined;

    return { view: agentView(status, now), notices };
  }

  /** Adds the notice unless one of its kind went out within repeatMinutes; says whether it did. */
  private notice(notices: TrayNotice[], now: Date, notice: TrayNotice): boolean {
    const last = this.lastNoticeAt.get(notice.kind);
    if (last !== undefined && now.getTime() - last < this.options.repeatMinutes * 60_000) return false;
    this.lastNoticeAt.set(notice.kind, now.getTime());
    notices.push(notice);
    return true;
  }
}

function agentAwayView(): TrayView {
  return {
    colour: 'grey',
    tooltip: `${PRODUCT}: the agent is not running`,
    stateLine: 'Agent not running',
    queueLine: 'Queue: unknown',
    lastUploadLine: 'Last upload: unknown',
    paused: null,
    agentRunning: false,
  };
}

function agentView(status: ApiStatus, now: Date): TrayView {
  const reason = status.reasons.find((r) => r.state === status.state) ?? status.reasons[0];
  const summary = status.state === 'green' || !reason ? 'working normally' : reason.message;
  const queue = status.queue;
  const queueLine =
    queue.studies === 0 && queue.failed === 0
      ? 'Queue: empty'
      : `Queue: ${plural(queue.studies, 'study', 'studies')}, ${plural(queue.instances, 'image')} (${formatBytes(queue.bytes)})${queue.failed > 0 ? `, ${queue.failed} failed` : ''}`;
  const lastUploadLine = `Last upload: ${status.lastUploadedAt ? ago(Date.parse(status.lastUploadedAt), now) : 'never'}`;
  return {
    colour: status.state,
    tooltip: clip(`${PRODUCT}: ${summary}; ${queueLine.toLowerCase()}`, TOOLTIP_MAX),
    stateLine: clip(`State: ${summary}`, 80),
    queueLine,
    lastUploadLine,
    paused: status.paused,
    agentRunning: true,
  };
}

/** The agent's own sentence for a reason, when it gives one. */
function reasonMessage(status: ApiStatus, code: string): string | undefined {
  return status.reasons.find((reason) => reason.code === code)?.message;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function ago(then: number, now: Date): string {
  const minutes = Math.floor((now.getTime() - then) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
