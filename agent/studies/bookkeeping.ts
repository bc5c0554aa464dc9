import type { Pool } from 'pg';
import type { StudiesConfig } from '../config/upstream-config';
import type { Logger } from '../logging';
import { completeQuietStudies, finishDeliveredStudies } from './completion';
import { purgeDeliveredStudies, type RetentionConfig, type RetentionDirs } from './retention';

const INTERVAL_MS = 5000;
/** Retention looks at the disk and the done studies once a minute. */
const RETENTION_EVERY_TICKS = 12;

/** Every few seconds: complete quiet studies, and turn delivered ones into receipts; now and then, purge old ones. */
export function startStudyBookkeeping(pool: Pool, studies: StudiesConfig, log: Logger, retention?: { config: RetentionConfig; dirs: RetentionDirs }): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  let ticks = 0;
  const tick = async () => {
    if (retention && ++ticks % RETENTION_EVERY_TICKS === 0) {
      await purgeDeliveredStudies(pool, retention.dirs, retention.config, log).catch((err: Error) => log.warn('retention pass failed; will try again', { error: err.message }));
    }
    try {
      for (const study of await completeQuietStudies(pool, studies)) {
        log.info(study.forced ? 'study force-completed while instances were still arriving' : 'study complete', { studyUid: study.studyUid });
      }
      for (const receipt of await finishDeliveredStudies(pool)) {
        log.info('study done: every instance confirmed by the cloud', { ...receipt });
      }
    } catch (err) {
      log.warn('study bookkeeping failed; will try again', { error: (err as Error).message });
    }
  };
  const timer = setInterval(() => {
    running = running.then(tick);
  }, INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
