// What every part of the app is wired with (selection, live and replay modes, start-up): the state
// it reads, the API, the clock and where errors go. app.ts builds it once and spreads it into each
// part's deps beside what is that part's own.

import type { MichiApi } from './api.js';
import type { AppStateReader } from './app-state.js';

export interface AppContext {
  state: AppStateReader;
  api: MichiApi;
  now: () => number;
  reportError: (err: unknown) => void;
}
