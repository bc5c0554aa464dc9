// The compression worker thread's entry point: in development the pool loads it through tsx; the package build
// bundles it on its own and embeds the bundle as an SEA asset (see packaged-worker.ts).
import { runCompressionWorker } from './worker';

runCompressionWorker().catch((err: Error) => {
  throw new Error(`compression worker cannot start: ${err.message}`);
});
