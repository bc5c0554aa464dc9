import type { MenuItem } from 'systray2';
import type { TrayView } from './tray-state';

export type MenuAction = 'toggle-pause' | 'connectivity-test' | 'check-this-pc' | 'status-page' | 'logs-folder' | 'quit';

/** A systray2 item plus what clicking it does (systray2 hands the same object back on a click). */
export interface TrayMenuItem extends MenuItem {
  action?: MenuAction;
}

const PAUSE = 'Pause uploads';
const RESUME = 'Resume uploads';
export const CONNECTIVITY_TEST = 'Run connectivity test';
export const CHECK_THIS_PC = 'Check this PC';

/**
 * The tray menu. The items are created once and keep their identity: systray2 numbers them at start, and an
 * update names an item by that number, so a change is made on the item and sent as an update-item.
 */
export class TrayMenu {
  readonly state = info('Agent not running');
  readonly queue = info('Queue: unknown');
  readonly lastUpload = info('Last upload: unknown');
  readonly pause = action(PAUSE, 'Stop sending to the cloud (studies are still received and kept)', 'toggle-pause');
  readonly connectivityTest = action(CONNECTIVITY_TEST, 'DNS, TCP, TLS and a test upload to the cloud', 'connectivity-test');
  readonly checkThisPc = action(CHECK_THIS_PC, "The PowerShell module's checks of this computer", 'check-this-pc');
  readonly statusPage = action('Open status page', 'The status page in the browser', 'status-page');
  readonly logsFolder = action('Open logs folder', "The agent's log files", 'logs-folder');
  readonly quit = action('Quit tray', 'Close this icon (the agent keeps running)', 'quit');
  readonly items: TrayMenuItem[] = [
    this.state,
    this.queue,
    this.lastUpload,
    separator(),
    this.pause,
    this.connectivityTest,
    this.checkThisPc,
    this.statusPage,
    this.logsFolder,
    separator(),
    this.quit,
  ];
  /** Items a running action has taken over (their title says it runs): a view does not touch them. */
  private readonly busy = new Set<TrayMenuItem>();

  /** Applies a view; returns the items that changed. */
  apply(view: TrayView): TrayMenuItem[] {
    const changed: TrayMenuItem[] = [];
    const set = (item: TrayMenuItem, title: string, enabled: boolean) => {
      if (this.busy.has(item) || (item.title === title && item.enabled === enabled)) return;
      item.title = title;
      item.enabled = enabled;
      changed.push(item);
    };
    set(this.state, view.stateLine, false);
    set(this.queue, view.queueLine, false);
    set(this.lastUpload, view.lastUploadLine, false);
    set(this.pause, view.paused ? RESUME : PAUSE, view.agentRunning);
    set(this.connectivityTest, CONNECTIVITY_TEST, view.agentRunning);
    set(this.checkThisPc, CHECK_THIS_PC, view.agentRunning);
    set(this.statusPage, 'Open status page', view.agentRunning);
    return changed;
  }

  /** Marks an action item as running (disabled, with a title that says so) until `done`. */
  setBusy(item: TrayMenuItem, title: string): TrayMenuItem {
    this.busy.add(item);
    item.title = title;
    item.enabled = false;
    return item;
  }

  done(item: TrayMenuItem, title: string, enabled: boolean): TrayMenuItem {
    this.busy.delete(item);
    item.title = title;
    item.enabled = enabled;
    return item;
  }
}

function info(title: string): TrayMenuItem {
  return { title, tooltip: '', enabled: false };
}

function action(title: string, tooltip: string, what: MenuAction): TrayMenuItem {
  return { title, tooltip, enabled: what === 'logs-folder' || what === 'quit', action: what };
}

/** Each separator its own object: systray2 numbers items by writing into them. */
function separator(): TrayMenuItem {
  return { title: '<SEPARATOR>', tooltip: '', enabled: true };
}
