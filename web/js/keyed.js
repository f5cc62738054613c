// Lists that are drawn again on every change without losing what the
// person is touching. Rows are kept by key and updated in place, and only
// moved when the order changes: rebuilding the list (several times a
// second, with the countdowns) would drop the focus of a keyboard user and
// could swallow a tap that lands while the list is being replaced.

// items: what to show, in order; keyOf(item): its key; make(item): a new
// row `{el, ...parts}`; update(row, item): bring a row up to date.
// Returns the rows in order. The root holds these rows and nothing else.
export function keyedList(root, items, keyOf, make, update) {
  const rows = keyedRows(root);
  const seen = new Set();
  const want = items.map((item) => {
    const key = String(keyOf(item));
    seen.add(key);
    let row = rows.get(key);
    if (!row) {
      row = make(item);
      row.key = key;
      rows.set(key, row);
    }
    update(row, item);
    return row;
  });
  for (const [key, row] of rows) {
    if (!seen.has(key)) {
      row.el.remove();
      rows.delete(key);
    }
  }
  want.forEach((row, i) => {
    if (root.children[i] !== row.el) root.insertBefore(row.el, root.children[i] || null);
  });
  return want;
}

const ROWS = new WeakMap();

// The rows a root holds now, by key (for a tick that only updates text).
export function keyedRows(root) {
  if (!ROWS.has(root)) ROWS.set(root, new Map());
  return ROWS.get(root);
}
