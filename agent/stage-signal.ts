/**
 * Wakes the next stage of this agent as soon as the one before it wrote work for it (an instance's rows recorded, a
 * compression decided), instead of at its next poll of the database: on a fast link the poll intervals would add up
 * to most of a study's way to the cloud. The stages still poll: other agents on the same database, and work that
 * becomes due later, are found that way.
 */
export type StageWork = 'instances recorded' | 'compressions decided';

const listeners = new Map<StageWork, Set<() => void>>();

/** Called by the stage that just committed work of this kind. */
export function stageWrote(work: StageWork): void {
  for (const listener of listeners.get(work) ?? []) listener();
}

/** Calls `listener` whenever work of this kind was written; returns the unsubscribe. */
export function onStageWrote(work: StageWork, listener: () => void): () => void {
  const set = listeners.get(work) ?? new Set();
  listeners.set(work, set);
  set.add(listener);
  return () => set.delete(listener);
}
