// The dashboard's entry point: configure MapLibre's worker, wire the real API, storage and URL
// into the app, and report what nobody else handles.

import 'maplibre-gl/dist/maplibre-gl.css';
import './styles/index.css';
import { createApi } from './api.js';
import { startApp } from './app.js';
import { createLangStore } from './i18n.js';
import { configureMaplibreWorker } from './map/maplibre-worker.js';
import { createPilotLocation } from './url-state.js';

configureMaplibreWorker();

const root = document.getElementById('app');
if (!root) throw new Error('index.html has no #app element');

const reportError = (err: unknown) => console.error('[michi]', err);
window.addEventListener('unhandledrejection', (event) => reportError(event.reason));

startApp({
  root,
  api: createApi(),
  langStore: createLangStore(),
  location: createPilotLocation(),
  reportError,
});
