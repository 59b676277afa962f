// Windowing for a grid of fixed-size square cells in a scrolling viewport: which rows exist in the
// DOM (the ones in view plus an overscan), and where to scroll so a cell's row is in view. Shared
// by the Data stage's VirtualGrid and the Label stage's LabelGrid.

export interface GridWindow {
  columns: number;
  /** Rows of the whole grid (the spacer is rows * cell tall). */
  rows: number;
  /** Rows [firstRow, lastRow) exist in the DOM; the window is moved down firstRow * cell. */
  firstRow: number;
  lastRow: number;
  /** Items [start, end) are drawn. */
  start: number;
  end: number;
}

/** As many whole cells as fit the width, at least one. */
export function gridColumns(width: number, cell: number): number {
  return Math.max(1, Math.floor(width / cell));
}

export function gridWindow(o: {
  count: number;
  width: number;
  height: number;
  scrollTop: number;
  cell: number;
  overscan: number;
}): GridWindow {
  return gridRows({ ...o, columns: gridColumns(o.width, o.cell) });
}

/** The same with a fixed number of columns. */
export function gridRows(o: {
  count: number;
  columns: number;
  height: number;
  scrollTop: number;
  cell: number;
  overscan: number;
}): GridWindow {
  const { columns, cell, overscan } = o;
  const rows = Math.ceil(o.count / columns);
  const firstRow = Math.max(0, Math.floor(o.scrollTop / cell) - overscan);
  const lastRow = Math.min(rows, Math.ceil((o.scrollTop + o.height) / cell) + overscan);
  return { columns, rows, firstRow, lastRow, start: firstRow * columns, end: lastRow * columns };
}

/** The scrollTop that brings item `index`'s row into view, or null when it already is. */
export function scrollToCell(o: { index: number; columns: number; cell: number; scrollTop: number; height: number }): number | null {
  const top = Math.floor(o.index / o.columns) * o.cell;
  if (top < o.scrollTop) return top;
  if (top + o.cell > o.scrollTop + o.height) return top + o.cell - o.height;
  return null;
}
