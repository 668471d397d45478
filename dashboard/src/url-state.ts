// The chosen pilot lives in the URL (`?pilot=<id>`), so a link or a reload shows the same pilot
// and the browser's back button returns to the previous one.

export interface PilotLocation {
  get(): string | null;
  /** `push` for a choice the user made, `replace` for one the dashboard made (a default, a fallback). */
  set(pilotId: string, how: 'push' | 'replace'): void;
  onChange(listener: (pilotId: string | null) => void): () => void;
}

const PARAM = 'pilot';

export function createPilotLocation(win: Window = window): PilotLocation {
  const read = () => new URL(win.location.href).searchParams.get(PARAM) || null;
  return {
    get: read,
    set(pilotId, how) {
      if (read() === pilotId) return;
      const url = new URL(win.location.href);
      url.searchParams.set(PARAM, pilotId);
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
