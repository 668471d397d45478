import { describe, expect, it } from 'vitest';
import { parseViewState, parseViewport, writeViewState } from './url-state.js';

describe('view state in the URL', () => {
  it('round-trips pilot, mode, times and viewport', () => {
    const url = new URL('http://x/?other=1');
    writeViewState(url, {
      pilot: 'maebashi-l4-bus',
      mode: 'replay',
      from: 1000,
      to: 2000,
      t: 1500,
      view: { lon: 139.07123456, lat: 36.389, zoom: 15.5 },
    });
    expect(url.search).toBe('?other=1&pilot=maebashi-l4-bus&mode=replay&from=1000&to=2000&t=1500&view=139.07123%2C36.38900%2C15.50');
    expect(parseViewState(url.search)).toEqual({
      pilot: 'maebashi-l4-bus',
      mode: 'replay',
      from: 1000,
      to: 2000,
      t: 1500,
      view: { lon: 139.07123, lat: 36.389, zoom: 15.5 },
    });
  });

  it('leaves replay times out of a live URL and ignores nonsense', () => {
    const url = new URL('http://x/?from=1&to=2&t=3');
    writeViewState(url, { pilot: 'p', mode: 'live', from: 1, to: 2, t: 3, view: null });
    expect(url.search).toBe('?pilot=p');
    expect(parseViewState('?mode=bogus&from=abc&view=1,2')).toEqual({
      pilot: null,
      mode: 'live',
      from: null,
      to: null,
      t: null,
      view: null,
    });
    expect(parseViewport('500,1,1')).toBeNull();
  });
});
