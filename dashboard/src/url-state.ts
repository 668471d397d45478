// What is on screen lives in the URL, so a link or a reload shows the same view and the back
// button returns to the previous pilot: `?pilot=<id>&mode=live|replay&from=&to=&t=&view=lon,lat,zoom`
// (times in ms since the epoch, `t` the replay cursor).

export type ViewMode = 'live' | 'replay';

export interface Viewport {
  lon: number;
  lat: number;
  zoom: number;
}

export interface ViewState {
  pilot: string | null;
  mode: ViewMode;
  from: number | null;
  to: number | null;
  t: number | null;
  view: Viewport | null;
}

export interface ViewLocation {
  get(): ViewState;
  /** `push` for a choice the user made, `replace` for one the dashboard made or a continuous change (cursor, viewport). */
  set(change: Partial<ViewState>, how: 'push' | 'replace'): void;
  onChange(listener: (state: ViewState) => void): () => void;
}

function int(value: string | null): number | null {
  if (value === null || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? Math.round(n) : null;
}

export function parseViewport(value: string | null): Viewport | null {
  if (!value) return null;
  const [lon, lat, zoom] = value.split(',').map(Number);
  if (![lon, lat, zoom].every((n) => n !== undefined && Number.isFinite(n))) return null;
  if (Math.abs(lat!) > 90 || Math.abs(lon!) > 180 || zoom! < 0 || zoom! > 24) return null;
  return { lon: lon!, lat: lat!, zoom: zoom! };
}

export function formatViewport(v: Viewport): string {
  // ~1 m at 5 decimals; zoom to 2 decimals: enough to reproduce a view, short enough to share.
  return `${v.lon.toFixed(5)},${v.lat.toFixed(5)},${v.zoom.toFixed(2)}`;
}

export function parseViewState(search: string): ViewState {
  const p = new URLSearchParams(search);
  return {
    pilot: p.get('pilot') || null,
    mode: p.get('mode') === 'replay' ? 'replay' : 'live',
    from: int(p.get('from')),
    to: int(p.get('to')),
    t: int(p.get('t')),
    view: parseViewport(p.get('view')),
  };
}

export function writeViewState(url: URL, state: ViewState): void {
  const p = url.searchParams;
  const put = (key: string, value: string | null) => (value === null ? p.delete(key) : p.set(key, value));
  put('pilot', state.pilot);
  put('mode', state.mode === 'replay' ? 'replay' : null);
  const replay = state.mode === 'replay';
  put('from', replay && state.from !== null ? String(state.from) : null);
  put('to', replay && state.to !== null ? String(state.to) : null);
  put('t', replay && state.t !== null ? String(state.t) : null);
  put('view', state.view ? formatViewport(state.view) : null);
}

export function createViewLocation(win: Window = window): ViewLocation {
  const read = () => parseViewState(win.location.search);
  return {
    get: read,
    set(change, how) {
      const next = { ...read(), ...change };
      const url = new URL(win.location.href);
      writeViewState(url, next);
      if (url.href === win.location.href) return;
      if (how === 'push') win.history.pushState(null, '', url);
      else win.history.replaceState(null, '', url);
    },
    onChange(listener) {
      const onPop = () => listener(read());
      win.addEventListener('popstate', onPop);
      return () => win.removeEventListener('popstate', onPop);
    },
  };
}
