// MapLibre 6 is ESM-only and finds its worker as `./maplibre-gl-worker.mjs` beside its own module
// URL. Once Vite has bundled maplibre into a hashed chunk there is no such file, so the worker is
// imported through Vite's worker pipeline (`?worker&url`: bundled, emitted under assets/, its URL
// returned) and handed to MapLibre before the first map is created. This works in `vite dev` and
// in the build served by any static server.

import { setWorkerUrl } from 'maplibre-gl';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url';

export function configureMaplibreWorker(): void {
  setWorkerUrl(workerUrl);
}
