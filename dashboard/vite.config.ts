// Builds the dashboard into dashboard/dist/, which the cloud serves at `/` beside its /api/v1.
import { defineConfig } from 'vite';

// The cloud's default HTTP port; `vite dev` forwards the API there.
const CLOUD_HTTP = 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // maplibre-gl alone is ~1.1 MB minified: one chunk of its own, so an app change does not
    // invalidate it in the browser's cache, and the warning fires only if something else bloats.
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [{ name: 'maplibre', test: /node_modules[\\/]maplibre-gl[\\/]/ }],
        },
      },
    },
  },
  // MapLibre 6 starts its worker as a module worker (`new Worker(url, {type: 'module'})`).
  worker: { format: 'es' },
  server: {
    host: '127.0.0.1',
    proxy: {
      // ws: the live feed (issue 5) is a WebSocket under /api/v1 as well.
      '/api': { target: CLOUD_HTTP, changeOrigin: false, ws: true },
    },
  },
  preview: { host: '127.0.0.1' },
});
