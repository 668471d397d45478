import { describe, expect, it } from 'vitest';
import { createAppState } from './app-state.js';
import { createStore, StoreOwnerError } from './store.js';

interface Counter {
  count: number;
  label: string;
  tags: readonly string[];
}
const owners = { count: 'counter', label: 'labeller', tags: 'labeller' } as const;

describe('store', () => {
  it('notifies a subscriber once per change, with the new and the previous value, after storing it', () => {
    const store = createStore<Counter, typeof owners>({ count: 0, label: 'a', tags: [] }, owners);
    const counter = store.writer('counter');
    const heard: [number, number, number][] = [];
    store.subscribe('count', (value, previous) => heard.push([value, previous, store.get('count')]));
    counter.set('count', 1);
    counter.set('count', 2);
    expect(heard).toEqual([
      [1, 0, 1],
      [2, 1, 2],
    ]);
  });

  it('does not notify when a field is set to the value it holds', () => {
    const tags = ['x'];
    const store = createStore<Counter, typeof owners>({ count: 0, label: 'a', tags }, owners);
    const labeller = store.writer('labeller');
    let calls = 0;
    store.subscribe('label', () => (calls += 1));
    store.subscribe('tags', () => (calls += 1));
    labeller.set('label', 'a');
    labeller.set('tags', tags);
    expect(calls).toBe(0);
    // An equal but new array is a change: the store compares identity, as the readers see it.
    labeller.set('tags', ['x']);
    expect(calls).toBe(1);
  });

  it('tells only the subscribers of the field that changed, and none after they unsubscribe', () => {
    const store = createStore<Counter, typeof owners>({ count: 0, label: 'a', tags: [] }, owners);
    const counter = store.writer('counter');
    const labeller = store.writer('labeller');
    const counts: number[] = [];
    const labels: string[] = [];
    const unsubscribe = store.subscribe('count', (v) => counts.push(v));
    store.subscribe('label', (v) => labels.push(v));
    counter.set('count', 1);
    unsubscribe();
    counter.set('count', 2);
    labeller.set('label', 'b');
    expect(counts).toEqual([1]);
    expect(labels).toEqual(['b']);
    expect(store.get('count')).toBe(2);
  });

  it('lets a field be written only by its owner', () => {
    const store = createStore<Counter, typeof owners>({ count: 0, label: 'a', tags: [] }, owners);
    const counter = store.writer('counter');
    // @ts-expect-error `label` is the labeller's: the counter's handle has no way to set it.
    expect(() => counter.set('label', 'b')).toThrow(new StoreOwnerError('label is owned by labeller, not counter'));
    expect(store.get('label')).toBe('a');
    // A second handle for the same owner would let another module pose as it.
    expect(() => store.writer('counter')).toThrow(StoreOwnerError);
    // @ts-expect-error nobody of that name owns a field.
    expect(() => store.writer('stranger').set('count', 3)).toThrow(StoreOwnerError);
    expect(store.get('count')).toBe(0);
  });

  it("keeps a subscriber's round whole when a listener unsubscribes another", () => {
    const store = createStore<Counter, typeof owners>({ count: 0, label: 'a', tags: [] }, owners);
    const counter = store.writer('counter');
    const heard: string[] = [];
    const unsubscribeSecond = store.subscribe('count', () => heard.push('second'));
    store.subscribe('count', () => {
      heard.push('first');
      unsubscribeSecond();
    });
    counter.set('count', 1);
    counter.set('count', 2);
    expect(heard).toEqual(['second', 'first', 'first']);
  });
});

describe("the dashboard's state", () => {
  it('gives each owner the fields of the table and no other', () => {
    const store = createAppState('live', null);
    const boot = store.writer('boot');
    const selection = store.writer('selection');
    boot.set('pilots', [{ id: 'p', name: { ja: 'p', en: 'p' } } as never]);
    selection.set('selectedVehicle', 'bus-1');
    expect(store.get('pilots')).toHaveLength(1);
    expect(store.get('selectedVehicle')).toBe('bus-1');
    // @ts-expect-error the mode is app.ts's: selection can only read it.
    expect(() => selection.set('mode', 'replay')).toThrow(StoreOwnerError);
    // @ts-expect-error the selection is selection.ts's, even for start-up.
    expect(() => boot.set('selectedSensor', 's')).toThrow(StoreOwnerError);
    expect(store.get('mode')).toBe('live');
  });
});
