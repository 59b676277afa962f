import { describe, expect, it } from 'vitest';
import { gridColumns, gridRows, gridWindow, scrollToCell } from '../../src/lib/util/grid-window';

describe('grid windowing (VirtualGrid, LabelGrid)', () => {
  it('fits whole cells, at least one column', () => {
    expect(gridColumns(800, 120)).toBe(6);
    expect(gridColumns(839, 120)).toBe(6);
    expect(gridColumns(840, 120)).toBe(7);
    expect(gridColumns(50, 120)).toBe(1);
    expect(gridColumns(0, 120)).toBe(1);
  });

  it('draws the rows in view plus the overscan, and no more rows than there are', () => {
    // 20,000 items, 6 columns: 3,334 rows; a 560 px viewport scrolled to row 100
    const w = gridWindow({ count: 20_000, width: 800, height: 560, scrollTop: 100 * 120, cell: 120, overscan: 2 });
    expect(w).toEqual({ columns: 6, rows: 3334, firstRow: 98, lastRow: 107, start: 588, end: 642 });
    expect(gridWindow({ count: 20_000, width: 800, height: 560, scrollTop: 0, cell: 120, overscan: 2 })).toMatchObject({
      firstRow: 0,
      lastRow: 7,
      start: 0,
      end: 42,
    });
    // at the end the window stops at the last row
    expect(gridRows({ count: 13, columns: 4, height: 480, scrollTop: 0, cell: 112, overscan: 2 })).toEqual({
      columns: 4,
      rows: 4,
      firstRow: 0,
      lastRow: 4,
      start: 0,
      end: 16,
    });
    expect(gridRows({ count: 0, columns: 4, height: 480, scrollTop: 0, cell: 112, overscan: 2 })).toMatchObject({
      rows: 0,
      start: 0,
      end: 0,
    });
  });

  it('scrolls a cell row into view only when it is out of view', () => {
    const at = (index: number, scrollTop: number) => scrollToCell({ index, columns: 4, cell: 112, scrollTop, height: 300 });
    expect(at(0, 0)).toBeNull();
    expect(at(8, 0)).toBe(336 - 300); // row 2 ends at 336, below a 300 px viewport
    expect(at(8, 100)).toBeNull();
    expect(at(12, 0)).toBe(3 * 112 + 112 - 300);
    expect(at(4, 200)).toBe(112);
  });
});
