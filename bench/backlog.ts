import type { Store } from '../src/db/index.js';

/** What the bench reads of a service's event queue, from its own connection to the service's database. */

/** Events stored before `receivedBefore` (ms) that are not applied yet: pending, in process, or failed and waiting for a retry. */
export async function unfinishedEvents(store: Store, receivedBefore = Number.MAX_SAFE_INTEGER): Promise<number> {
  const row = await store.db
    .selectFrom('webhook_events')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('status', 'in', ['pending', 'processing', 'failed'])
    .where('received_at', '<', receivedBefore)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** How long after now (ms) every stored event is applied, polled every 50 ms; Infinity past `limitMs`. */
export async function msUntilApplied(store: Store, limitMs: number): Promise<number> {
  const started = performance.now();
  while ((await unfinishedEvents(store)) > 0) {
    if (performance.now() - started > limitMs) return Number.POSITIVE_INFINITY;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return performance.now() - started;
}
