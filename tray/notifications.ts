import notifier from 'node-notifier';
import type { ApiConnectivityReport, ApiThisPcReport } from '../agent/api/types';
import type { TrayLogger } from './tray-logger';
import type { TrayNotice } from './tray-state';

/** Shows a notice to whoever sits at the screen. Never throws: a notice that cannot be shown is logged. */
export type ShowNotice = (notice: TrayNotice) => void;

/** `windowsToaster`: SnoreToast's path when it is not beside node-notifier (the packaged executable). */
export function desktopNotifier(logger: TrayLogger, windowsToaster?: string): ShowNotice {
  return (notice) => {
    logger.info('notification', { kind: notice.kind, title: notice.title });
    try {
      notifier.notify({ title: notice.title, message: notice.message, appID: 'DICOM Gateway', wait: false, ...(windowsToaster ? { customPath: windowsToaster } : {}) }, (err) => {
        if (err) logger.warn('notification could not be shown', { kind: notice.kind, error: err.message });
      });
    } catch (err) {
      logger.warn('notification could not be shown', { kind: notice.kind, error: (err as Error).message });
    }
  };
}

export function connectivityNotice(report: ApiConnectivityReport): TrayNotice {
  if (report.ok) {
    const rate = report.uploadMbps === undefined ? '' : `, upload ${report.uploadMbps.toFixed(1)} Mbit/s`;
    return { kind: 'connectivity-result', title: 'Connectivity test passed', message: `All ${report.steps.length} steps passed${rate}.` };
  }
  const failed = report.steps.find((step) => step.status === 'fail');
  const message = failed ? `${failed.name}: ${failed.detail}${failed.hint ? ` ${failed.hint}` : ''}` : 'See the status page.';
  return { kind: 'connectivity-result', title: 'Connectivity test failed', message };
}

export function thisPcNotice(report: ApiThisPcReport): TrayNotice {
  if (!report.available) return { kind: 'check-this-pc', title: 'PowerShell not available', message: report.message ?? 'The checks of this PC need Windows PowerShell or PowerShell 7.' };
  const count = (status: string) => report.results.filter((r) => r.Status === status).length;
  const failed = report.results.filter((r) => r.Status === 'Fail').map((r) => r.Name);
  const summary = `${count('Pass')} Pass, ${count('Warn')} Warn, ${count('Fail')} Fail`;
  return {
    kind: 'check-this-pc',
    title: failed.length > 0 ? 'Check this PC: problems found' : 'Check this PC: no problems',
    message: `${summary}${failed.length > 0 ? ` (${failed.slice(0, 3).join(', ')}${failed.length > 3 ? ', ...' : ''})` : ''}. See the status page.`,
  };
}
