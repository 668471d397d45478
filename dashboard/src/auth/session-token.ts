// The bearer token of the person using the dashboard. A link may carry it in the fragment
// (`#token=…`, never sent to a server or written to its logs); it is moved into sessionStorage
// and taken out of the address bar at once, so it is neither bookmarked nor shared with a
// screenshot of the URL. sessionStorage: the token lasts for this tab, not beyond it.

const STORAGE_KEY = 'michi.token';
const FRAGMENT_PARAM = 'token';

export interface TokenStore {
  get(): string | null;
  set(token: string): void;
  clear(): void;
}

type Store = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export function createTokenStore(storage: Store | null = globalThis.sessionStorage ?? null): TokenStore {
  let memory: string | null = null;
  return {
    get() {
      try {
        return storage?.getItem(STORAGE_KEY) ?? memory;
      } catch {
        return memory;
      }
    },
    set(token) {
      memory = token;
      try {
        storage?.setItem(STORAGE_KEY, token);
      } catch {
        // Storage disabled: the token lasts for this page only.
      }
    },
    clear() {
      memory = null;
      try {
        storage?.removeItem(STORAGE_KEY);
      } catch {
        // Nothing stored.
      }
    },
  };
}

/** Takes a token out of `#token=…` (other fragment parameters stay), returning it or null. */
export function takeTokenFromFragment(win: Pick<Window, 'location' | 'history'> = window): string | null {
  const hash = win.location.hash.replace(/^#/, '');
  if (!hash) return null;
  const params = new URLSearchParams(hash);
  const token = params.get(FRAGMENT_PARAM);
  if (!token) return null;
  params.delete(FRAGMENT_PARAM);
  const rest = params.toString();
  const url = new URL(win.location.href);
  url.hash = rest ? `#${rest}` : '';
  win.history.replaceState(win.history.state, '', url.toString());
  return token.trim() || null;
}
