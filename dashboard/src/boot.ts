// Start-up: a token or the sign-in dialog, who is signed in, the cloud's configuration, the
// pilots' list and the pilot to show first. While the cloud is not up yet, it asks again.

import type { AppContext } from './app-context.js';
import type { AppStateWriter, BannerState } from './app-state.js';
import type { TokenStore } from './auth/session-token.js';
import { ApiError } from './errors.js';
import type { ViewLocation } from './url-state.js';
import type { HeaderView } from './views/header.js';
import type { SignInView } from './views/sign-in.js';

export interface BootDeps extends AppContext {
  /** Boot owns who is signed in, the tile source and the pilots' list. */
  writer: AppStateWriter<'boot'>;
  tokens: TokenStore;
  location: ViewLocation;
  /** Wait before asking again when the server is not up yet. */
  retryMs: number;
  signIn: SignInView;
  header: HeaderView;
  setBanner: (next: BannerState) => void;
  applyRole: () => void;
  showPilot: (pilotId: string) => Promise<void>;
}

/** Returns the start-up, to run once the page is drawn and again after a sign-in. */
export function createBoot({
  state,
  writer,
  api,
  tokens,
  location,
  retryMs,
  reportError,
  signIn,
  header,
  setBanner,
  applyRole,
  showPilot,
}: BootDeps): () => Promise<void> {
  async function waitForServer(): Promise<void> {
    setBanner({ key: 'error.pilots', tone: 'error' });
    header.setStatus({ kind: 'offline' });
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }

  async function boot(): Promise<void> {
    while (!state.get('stopped')) {
      if (!tokens.get()) {
        signIn.show(false);
        return;
      }
      try {
        writer.set('me', await api.me());
        break;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          tokens.clear();
          signIn.show(true);
          return;
        }
        await waitForServer();
      }
    }
    if (state.get('stopped')) return;
    applyRole();
    try {
      const config = await api.config();
      if (config?.tiles !== undefined) writer.set('tiles', config.tiles);
    } catch (err) {
      reportError(err);
    }
    await loadPilots();
    if (state.get('stopped')) return;
    const initial = chooseInitialPilot();
    header.setPilots(state.get('pilots'), initial);
    if (initial) await showPilot(initial);
  }

  async function loadPilots(): Promise<void> {
    while (!state.get('stopped')) {
      try {
        writer.set('pilots', await api.listPilots());
        if (state.get('banner')?.key === 'error.pilots') setBanner(null);
        return;
      } catch {
        await waitForServer();
      }
    }
  }

  function chooseInitialPilot(): string | null {
    const pilots = state.get('pilots');
    const first = pilots[0];
    if (!first) return null;
    const wanted = location.get().pilot;
    if (wanted && pilots.some((p) => p.id === wanted)) return wanted;
    if (wanted) setBanner({ key: 'error.unknownPilot', params: { id: wanted, name: first.name }, tone: 'warning' });
    location.set({ pilot: first.id }, 'replace');
    return first.id;
  }

  return boot;
}
