// The side panel's lists (vehicles, sensors) keep one row per id and update it in place, so focus
// and a screen reader's position survive the polls and the once-a-second ages.

/** What a row shows of a vehicle or sensor, whether the pilot file lists it or only the API reports it. */
export interface ListedItem {
  id: string;
  name: { ja: string; en: string };
  kind: string;
}

/** The pilot file's items in its order, then those the API reports that it does not list (a newer seed). */
export function listedFirst(listed: readonly ListedItem[], reported: Iterable<ListedItem>): ListedItem[] {
  const ids = new Set(listed.map((item) => item.id));
  return [...listed, ...[...reported].filter((item) => !ids.has(item.id))];
}

/**
 * Makes `list` hold one row per item, in the items' order: rows of items gone are removed, new
 * ones created, moved ones moved; `fill` then updates each row's content.
 */
export function syncRows<T extends { id: string }, R extends { item: HTMLElement }>(
  list: HTMLElement,
  rows: Map<string, R>,
  items: readonly T[],
  create: (id: string) => R,
  fill: (row: R, item: T) => void,
): void {
  const wanted = new Set(items.map((item) => item.id));
  for (const [id, row] of rows) {
    if (wanted.has(id)) continue;
    row.item.remove();
    rows.delete(id);
  }
  items.forEach((item, index) => {
    let row = rows.get(item.id);
    if (!row) rows.set(item.id, (row = create(item.id)));
    if (list.children[index] !== row.item) list.insertBefore(row.item, list.children[index] ?? null);
    fill(row, item);
  });
}
