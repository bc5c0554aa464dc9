import path from 'node:path';
import SysTray, { type Action, type Menu } from 'systray2';
import { AgentApiClient, AgentApiError } from '../agent/api/client';
import { statusPageUrl } from '../agent/api/types';
import { isApiToken, readPublishedApiPort, trayAccessDir } from './agent-access';
import { loadTrayIcons, type TrayFiles } from './icons';
import { CHECK_THIS_PC, CONNECTIVITY_TEST, TrayMenu, type TrayMenuItem } from './menu';
import { connectivityNotice, thisPcNotice, type ShowNotice } from './notifications';
import type { OpenTarget } from './open';
import { prepareTrayBinary } from './tray-binary';
import type { TrayLogger } from './tray-logger';
import { TrayState, type AgentPoll, type NoticeKind, type TrayColour, type TrayNotice, type TrayStateOptions, type TrayView } from './tray-state';

export interface TrayOptions {
  /** The agent's data folder: the tray reads only <dataDir>/tray (API port and token) and opens <dataDir>/logs. */
  dataDir: string;
  /** api.port from the configuration; the port a running agent published in <dataDir>/tray wins. */
  apiPort: number;
  files: TrayFiles;
  /** A writable folder of the user's where the binary runs from. */
  binaryCopyDir: string;
  logger: TrayLogger;
  showNotice: ShowNotice;
  open: OpenTarget;
  /** Default 3 s. */
  pollMs?: number;
  /** First wait before the binary is started again after it failed; doubles up to 60 s. Default 2 s. */
  restartMs?: number;
  /** How long the binary may take to say it is ready (the desktop may still be starting). Default 15 s. */
  readyTimeoutMs?: number;
  stateOptions?: TrayStateOptions;
  now?: () => Date;
}

const MAX_RESTART_MS = 60_000;

/**
 * The tray process's driver: polls the agent, feeds the state machine, shows its view through systray2 and acts
 * on menu clicks. It runs before the agent is up and across its restarts (grey meanwhile), and starts the icon
 * again, with a growing pause, whenever the binary fails (no tray host yet at logon, Explorer restarting).
 */
export class Tray {
  private readonly options: TrayOptions;
  private readonly log: TrayLogger;
  private readonly state: TrayState;
  private readonly menu = new TrayMenu();
  private readonly icons: Record<TrayColour, string>;
  private readonly now: () => Date;
  private view: TrayView;
  private agentAnswered: boolean | null = null;
  private systray: SysTray | null = null;
  private iconShown = false;
  private sending: Promise<void> = Promise.resolve();
  private stopping = false;
  private restartMs: number;
  private pollTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly stopped: Promise<void>;
  private markStopped!: () => void;

  constructor(options: TrayOptions) {
    this.options = options;
    this.log = options.logger;
    this.state = new TrayState(options.stateOptions);
    this.icons = loadTrayIcons(options.files.iconsDir);
    this.now = options.now ?? (() => new Date());
    this.view = this.state.observe({ error: 'not polled yet' }, this.now()).view;
    this.menu.apply(this.view);
    this.restartMs = options.restartMs ?? 2000;
    this.stopped = new Promise((resolve) => (this.markStopped = resolve));
  }

  start(): void {
    void this.poll();
    void this.startIcon();
  }

  /** Resolves once the tray has stopped (Quit in the menu, or stop()). */
  whenStopped(): Promise<void> {
    return this.stopped;
  }

  /** Removes the icon (the binary is told to exit, so no dead icon stays behind) and stops polling. */
  async stop(): Promise<void> {
    if (this.stopping) return this.stopped;
    this.stopping = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.restartTimer);
    const systray = this.systray;
    if (systray) await removeIcon(systray);
    this.log.info('tray stopped');
    this.markStopped();
  }

  /** The client reads the token from <dataDir>/tray, the copy the agent publishes for users. */
  private client(): AgentApiClient {
    return new AgentApiClient({ baseUrl: statusPageUrl(this.apiPort()), dataDir: trayAccessDir(this.options.dataDir) });
  }

  private apiPort(): number {
    return readPublishedApiPort(this.options.dataDir) ?? this.options.apiPort;
  }

  private schedulePoll(delayMs: number): void {
    clearTimeout(this.pollTimer);
    if (!this.stopping) this.pollTimer = setTimeout(() => void this.poll(), delayMs);
  }

  private async poll(): Promise<void> {
    const client = this.client();
    let poll: AgentPoll;
    try {
      poll = { status: await client.status() };
    } catch (err) {
      poll = { error: (err as Error).message };
    }
    if (this.stopping) return;
    const answered = 'status' in poll;
    if (answered !== this.agentAnswered) {
      this.agentAnswered = answered;
      this.log.info(answered ? 'agent answers' : 'agent not answering', { api: client.baseUrl, ...('error' in poll ? { error: poll.error } : {}) });
    }
    const { view, notices } = this.state.observe(poll, this.now());
    this.show(view);
    for (const notice of notices) this.options.showNotice(notice);
    this.schedulePoll(this.options.pollMs ?? 3000);
  }

  private show(view: TrayView): void {
    const iconChanged = view.colour !== this.view.colour || view.tooltip !== this.view.tooltip;
    this.view = view;
    const changed = this.menu.apply(view);
    if (iconChanged) this.sendMenu();
    for (const item of changed) this.sendItem(item);
  }

  private sendMenu(): void {
    this.send({ type: 'update-menu', menu: this.wholeMenu() });
  }

  private sendItem(item: TrayMenuItem): void {
    this.send({ type: 'update-item', item });
  }

  /** In order: systray2 writes an update-menu only after an await, so a later update-item could overtake it. */
  private send(action: Action): void {
    const systray = this.systray;
    if (!this.iconShown || !systray) return;
    this.sending = this.sending
      .then(() => systray.sendAction(action))
      .then(
        () => undefined,
        (err: Error) => {
          this.log.warn('tray update failed', { type: action.type, error: err.message });
        },
      );
  }

  private wholeMenu(): Menu {
    return { icon: this.icons[this.view.colour], title: '', tooltip: this.view.tooltip, items: this.menu.items };
  }

  private async startIcon(): Promise<void> {
    if (this.stopping) return;
    let systray: SysTray | undefined;
    try {
      const copyDir = prepareTrayBinary(this.options.files.binary, this.options.binaryCopyDir);
      systray = new SysTray({ menu: this.wholeMenu(), copyDir });
      this.systray = systray;
      await whenReady(systray, this.options.readyTimeoutMs ?? 15_000);
    } catch (err) {
      if (systray) await removeIcon(systray);
      this.systray = null;
      if (this.stopping) return;
      this.log.warn('tray icon could not be shown; trying again', { error: (err as Error).message, retryInSeconds: this.restartMs / 1000 });
      this.restartIconLater();
      return;
    }
    if (this.stopping) {
      await removeIcon(systray);
      return;
    }
    this.iconShown = true;
    this.restartMs = this.options.restartMs ?? 2000;
    this.log.info('tray icon shown', { binary: systray.binPath });
    systray.process.once('exit', (code, signal) => {
      this.iconShown = false;
      this.systray = null;
      if (this.stopping) return;
      this.log.warn('tray binary exited; starting it again', { code, signal, retryInSeconds: this.restartMs / 1000 });
      this.restartIconLater();
    });
    void systray.onClick((event) => this.clicked(event.item as TrayMenuItem));
    // The view may have changed while the binary started: send all of it once.
    this.sendMenu();
    for (const item of this.menu.items) if (item.title !== '<SEPARATOR>') this.sendItem(item);
  }

  private restartIconLater(): void {
    this.restartTimer = setTimeout(() => void this.startIcon(), this.restartMs);
    this.restartMs = Math.min(this.restartMs * 2, MAX_RESTART_MS);
  }

  private clicked(item: TrayMenuItem): void {
    if (!item.action) return;
    this.log.info('menu', { action: item.action });
    switch (item.action) {
      case 'toggle-pause':
        void this.togglePause();
        break;
      case 'connectivity-test':
        void this.runCheck(this.menu.connectivityTest, 'Connectivity test running...', CONNECTIVITY_TEST, 'connectivity-result', async (client) => connectivityNotice(await client.testConnectivity()));
        break;
      case 'check-this-pc':
        void this.runCheck(this.menu.checkThisPc, 'Checking this PC...', CHECK_THIS_PC, 'check-this-pc', async (client) => thisPcNotice(await client.checkThisPc()));
        break;
      case 'status-page':
        this.openStatusPage();
        break;
      case 'logs-folder':
        // Built here, never taken from whatever answers on the API port.
        this.options.open(path.join(this.options.dataDir, 'logs'));
        break;
      case 'quit':
        void this.stop();
        break;
    }
  }

  private async togglePause(): Promise<void> {
    const resume = this.view.paused === true;
    try {
      const client = this.client();
      await (resume ? client.resumeUploads() : client.pauseUploads());
      this.log.info(resume ? 'uploads resumed from the tray' : 'uploads paused from the tray');
    } catch (err) {
      this.log.warn(resume ? 'could not resume uploads' : 'could not pause uploads', { error: (err as Error).message });
      this.options.showNotice({ kind: 'action-failed', title: resume ? 'Could not resume uploads' : 'Could not pause uploads', message: actionFailure(err) });
    }
    this.schedulePoll(0);
  }

  private async runCheck(item: TrayMenuItem, runningTitle: string, title: string, kind: NoticeKind, run: (client: AgentApiClient) => Promise<TrayNotice>): Promise<void> {
    this.sendItem(this.menu.setBusy(item, runningTitle));
    let notice: TrayNotice;
    try {
      notice = await run(this.client());
      this.log.info('menu check finished', { kind, title: notice.title });
    } catch (err) {
      this.log.warn('menu check could not run', { kind, error: (err as Error).message });
      notice = { kind, title: `${title}: could not run`, message: actionFailure(err) };
    }
    this.sendItem(this.menu.done(item, title, this.view.agentRunning));
    this.options.showNotice(notice);
  }

  private openStatusPage(): void {
    let token: string | undefined;
    try {
      token = this.client().readToken();
    } catch (err) {
      this.log.warn('status page opens without the token (read-only)', { error: (err as Error).message });
    }
    if (token !== undefined && !isApiToken(token)) {
      this.log.warn('status page opens without the token: the token file does not hold a token of this agent');
      token = undefined;
    }
    this.options.open(statusPageUrl(this.apiPort(), token));
  }
}

/** What to tell staff when a menu action failed. */
function actionFailure(err: unknown): string {
  if (err instanceof AgentApiError && err.failure === 'token-unreadable') return 'This needs administrator rights: ask IT, or start the tray as an administrator.';
  if (err instanceof AgentApiError && err.failure === 'not-running') return 'The agent is not running.';
  return (err as Error).message;
}

/**
 * Resolves when the binary says it is ready; rejects when it exits first, fails to start, or stays silent.
 * systray2 only spawns the binary after some file work, so its process is watched for once it exists.
 */
function whenReady(systray: SysTray, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    const finish = (err?: Error) => {
      clearTimeout(timer);
      clearInterval(watch);
      if (err) reject(new Error(`${err.message}${stderr.trim() ? ` (it said: ${stderr.trim().slice(-300)})` : ''}`));
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`the tray binary did not say "ready" within ${timeoutMs} ms`)), timeoutMs);
    const watch = setInterval(() => {
      const child = systray.process;
      if (!child) return;
      clearInterval(watch);
      // A binary that died must not take the tray down with it (EPIPE on its stdin); its stderr must be read or it blocks.
      child.stdin?.on('error', () => undefined);
      child.stderr?.on('data', (data: Buffer) => (stderr = (stderr + data.toString()).slice(-2000)));
      const exited = () => finish(new Error(`the tray binary exited (${child.signalCode ?? `code ${child.exitCode}`})`));
      // 'close' comes after its stderr is read to the end: the message says why it exited.
      if (child.exitCode !== null || child.signalCode !== null) exited();
      else child.once('close', exited);
    }, 20);
    systray.ready().then(
      () => finish(),
      (err: Error) => finish(new Error(`the tray binary could not start: ${err.message}`)),
    );
  });
}

/** Tells the binary to exit (it removes its icon), and kills it if it does not within 3 s. */
async function removeIcon(systray: SysTray): Promise<void> {
  const child = systray.process;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timer = setTimeout(() => child.kill(), 3000);
  systray.kill(false).catch(() => child.kill());
  await exited;
  clearTimeout(timer);
}
