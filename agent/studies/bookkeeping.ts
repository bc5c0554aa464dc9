import type { Pool } from 'pg';
import type { StudiesConfig } from '../config/upstream-config';
import type { Logger } from '../logging';
import { completeQuietStudies, finishDeliveredStudies } from './completion';

const INTERVAL_MS = 5000;

/** Every few seconds: complete quiet studies, and turn delivered ones into receipts. */
export function startStudyBookkeeping(pool: Pool, studies: StudiesConfig, log: Logger): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
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
