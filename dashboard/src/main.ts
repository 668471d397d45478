// The dashboard's entry point: configure MapLibre's worker, take the access token out of the URL,
// wire the real API, storage and URL into the app, and report what nobody else handles.

import 'maplibre-gl/dist/maplibre-gl.css';
import './styles/index.css';
import { createApi } from './api.js';
import { startApp } from './app.js';
import { createTokenStore, takeTokenFromFragment } from './auth/session-token.js';
import { createLangStore } from './i18n.js';
import { configureMaplibreWorker } from './map/maplibre-worker.js';
import { tilesFromEnv } from './map/tiles.js';
import { parseReportLink } from './report/report-link.js';
import { startReportPage } from './report/report-page.js';
import { createViewLocation } from './url-state.js';

configureMaplibreWorker();

const root = document.getElementById('app');
if (!root) throw new Error('index.html has no #app element');

const reportError = (err: unknown) => console.error('[michi]', err);
window.addEventListener('unhandledrejection', (event) => reportError(event.reason));

const tokens = createTokenStore();
const fromLink = takeTokenFromFragment();
if (fromLink) tokens.set(fromLink);

const api = createApi({ token: () => tokens.get() });
// The printable report is a page of its own (report/report-page.ts); everything else is the app.
const reportLink = parseReportLink(window.location.hash);
if (reportLink) void startReportPage({ root, api, link: reportLink });
else
  startApp({
    root,
    api,
    tokens,
    langStore: createLangStore(),
    location: createViewLocation(),
    buildTiles: tilesFromEnv(import.meta.env['VITE_MICHI_TILES'] as string | undefined, reportError),
    reportError,
  });
