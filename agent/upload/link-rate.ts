import { BusyRate } from '../busy-rate';

/** The cloud link's rate as the uploader measures it: the last 10 s of sending; known after 2 MiB or 0.5 s of it. */
export function createLinkRate(): BusyRate {
  return new BusyRate(10_000, { bytes: 2 * 1024 * 1024, ms: 500 });
}
