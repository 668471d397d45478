/**
 * More than one ingest observer (alarms, the operating-state record) behind the one `observer` that
 * BatchIngest calls. Each is called in turn; one that throws is logged and does not keep the others
 * from seeing the batch, nor ingest from writing it.
 */
import type { Logger } from 'pino';
import type { IngestObserver } from './ingest-batch.js';

export function fanOutObservers(observers: readonly (IngestObserver | undefined)[], logger: Logger): IngestObserver | undefined {
  const present = observers.filter((o): o is IngestObserver => o !== undefined);
  if (present.length <= 1) return present[0];
  return {
    observeBatch(gw, recvMs, items, valid) {
      for (const o of present) {
        try {
          o.observeBatch(gw, recvMs, items, valid);
        } catch (err) {
          logger.error({ err, pilot: gw.pilot, gateway: gw.gateway }, 'an ingest observer failed on a batch');
        }
      }
    },
  };
}
