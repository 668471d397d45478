// A small store of named fields, each written by exactly one owner. Owners are declared once, as a
// table from field to owner name (app-state.ts's OWNERS); `writer(owner)` hands an owner a handle
// that can set only its own fields (checked by the types, and at run time for code that casts),
// and everyone else gets `get` and `subscribe`. A listener hears each change once, after the value
// is stored, and not at all when a field is set to the value it holds (compared with Object.is).

/** Read-only access: what every module other than a field's owner gets. */
export interface ReadStore<S> {
  get<K extends keyof S>(field: K): S[K];
  /** Calls `listener` after each change of `field`; returns the unsubscribe. */
  subscribe<K extends keyof S>(field: K, listener: (value: S[K], previous: S[K]) => void): () => void;
}

/** The fields of S whose owner in O is N. */
export type OwnedBy<S, O extends Record<keyof S, string>, N extends string> = { [K in keyof S]: O[K] extends N ? K : never }[keyof S];

/** An owner's handle: sets its own fields, F, and no other. */
export interface Writer<S, F extends keyof S> {
  set<K extends F>(field: K, value: S[K]): void;
}

export interface Store<S, O extends Record<keyof S, string>> extends ReadStore<S> {
  /** The handle of `owner`'s fields; each owner takes its handle once. */
  writer<N extends O[keyof S]>(owner: N): Writer<S, OwnedBy<S, O, N>>;
}

export class StoreOwnerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreOwnerError';
  }
}

export function createStore<S extends object, const O extends Record<keyof S, string>>(initial: S, owners: O): Store<S, O> {
  const values = { ...initial };
  const listeners = new Map<keyof S, Set<(value: never, previous: never) => void>>();
  const claimed = new Set<string>();

  return {
    get: (field) => values[field],
    subscribe(field, listener) {
      let set = listeners.get(field);
      if (!set) listeners.set(field, (set = new Set()));
      set.add(listener);
      return () => void set.delete(listener);
    },
    writer(owner) {
      // A second handle would let another module pose as the owner.
      if (claimed.has(owner)) throw new StoreOwnerError(`${owner} has already taken its writer`);
      claimed.add(owner);
      return {
        set(field, value) {
          if ((owners[field] as string) !== owner) throw new StoreOwnerError(`${String(field)} is owned by ${owners[field]}, not ${owner}`);
          const previous = values[field];
          if (Object.is(previous, value)) return;
          values[field] = value;
          // A copy: a listener that unsubscribes (or subscribes another) does not disturb this round.
          for (const listener of [...(listeners.get(field) ?? [])]) listener(value as never, previous as never);
        },
      };
    },
  };
}
