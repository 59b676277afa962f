// First run: a fresh browser profile gets the Digits demo project (5,000 digits, 10 classes of
// 500), its grid is virtualized, filters work, a reload does not add a second demo, and projects
// can be created, renamed and deleted (with a confirmation that can be cancelled).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from './harness';
import {
  DEMO_NAME,
  createProject,
  datasetTotal,
  filterSelect,
  openProjectList,
  perClass,
  projectCard,
  sampleGrid,
  shownCount,
  textOf,
  tileNames,
  waitForDemoImported,
} from './app-helpers';

describe('first run', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;

  beforeAll(async () => {
    b = await launchBrowser({ webgpu: false });
    page = await newPage(b);
  });
  afterAll(async () => {
    await b?.close();
  });

  it('shows the Digits demo with 5,000 images in 10 classes once its import finishes', async () => {
    await page.goto(appUrl());
    await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
    const card = projectCard(page, DEMO_NAME);
    await card.waitFor({ timeout: 30_000 });
    // While the demo imports, its card carries a progress bar.
    await page.getByRole('progressbar', { name: `Importing into ${DEMO_NAME}` }).waitFor({ timeout: 30_000 });
    await waitForDemoImported(page);
    expect(await textOf(card.getByTestId('sample-count'))).toBe('5,000 images');
    expect(await textOf(card)).toContain('10 classes');
    expect(await card.getByRole('link', { name: DEMO_NAME, exact: true }).count()).toBe(1);
    expect(await page.getByRole('button', { name: `Add ${DEMO_NAME}` }).count()).toBe(0);
    expect(page.pageErrors()).toEqual([]);
    expect(page.cspViolations()).toEqual([]);
  });

  it('opens the demo: 5,000 images, 10 classes of 500, a virtualized grid and working filters', async () => {
    await projectCard(page, DEMO_NAME).getByRole('link', { name: DEMO_NAME, exact: true }).click();
    await page.waitForURL(/#\/p\/[^/]+\/data$/);
    await page.getByRole('heading', { level: 1, name: DEMO_NAME, exact: true }).waitFor();
    await page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: 'Data' }).waitFor();
    await expect.poll(() => datasetTotal(page), { timeout: 30_000 }).toBe(5000);
    expect(await textOf(page.getByRole('heading', { name: /images · \d+ classes$/ }))).toBe('5,000 images · 10 classes');
    const counts = await perClass(page);
    expect(counts).toEqual(Object.fromEntries(Array.from({ length: 10 }, (_, d) => [String(d), 500])));
    expect(await shownCount(page)).toBe(5000);

    // Virtualized: the grid region announces all 5,000, but only a window of tiles is in the DOM.
    const grid = sampleGrid(page);
    expect(await grid.getAttribute('aria-label')).toBe('Samples (5,000)');
    await grid.getByRole('button').first().waitFor();
    const first = await tileNames(page);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(200);
    for (const name of first) expect(name).toMatch(/^.+, \d$/);

    // Scrolling to the bottom renders the tiles at the end of the list, still only a window.
    await grid.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await expect.poll(async () => (await tileNames(page)).filter((n) => first.includes(n)).length, { timeout: 10_000 }).toBe(0);
    const last = await tileNames(page);
    expect(last.length).toBeGreaterThan(0);
    expect(last.length).toBeLessThan(200);
    const { lastTileBottom, viewportBottom, atEnd } = await grid.evaluate((el) => {
      const tiles = el.querySelectorAll('button');
      const lastTile = tiles[tiles.length - 1];
      return {
        lastTileBottom: lastTile.getBoundingClientRect().bottom,
        viewportBottom: el.getBoundingClientRect().bottom,
        atEnd: Math.abs(el.scrollTop + el.clientHeight - el.scrollHeight) <= 1,
      };
    });
    expect(atEnd).toBe(true);
    // The last rendered tile is the last sample: it sits at the very bottom of the scrolled grid.
    expect(Math.abs(viewportBottom - lastTileBottom)).toBeLessThan(20);

    // Filter by label 7: exactly its 500 images.
    await filterSelect(page, 'Label').selectOption({ label: '7' });
    await expect.poll(() => textOf(page.getByTestId('shown-count'))).toBe('500 shown');
    expect(await grid.getAttribute('aria-label')).toBe('Samples (500)');
    await grid.getByRole('button').first().waitFor();
    for (const name of await tileNames(page)) expect(name).toMatch(/, 7$/);
    await filterSelect(page, 'Label').selectOption({ label: 'All labels' });
    await expect.poll(() => shownCount(page)).toBe(5000);
  });

  it('does not create a second demo project when the page is reloaded', async () => {
    await openProjectList(page);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
    await projectCard(page, DEMO_NAME).waitFor();
    // First-run setup runs under a Web Lock: once no tab holds or waits for it, it has decided.
    await page.waitForFunction(async () => {
      const { held = [], pending = [] } = await navigator.locks.query();
      return ![...held, ...pending].some((l) => l.name === 'trainyard-demo-setup');
    });
    const stored = await page.evaluate(
      () =>
        new Promise<string[]>((resolve, reject) => {
          const req = indexedDB.open('trainyard');
          req.onerror = () => reject(req.error);
          req.onsuccess = () => {
            const db = req.result;
            const get = db.transaction('projects').objectStore('projects').getAll();
            get.onsuccess = () => {
              resolve((get.result as Array<{ name: string }>).map((p) => p.name));
              db.close();
            };
            get.onerror = () => reject(get.error);
          };
        }),
    );
    expect(stored.filter((n) => n === DEMO_NAME)).toHaveLength(1);
    expect(await projectCard(page, DEMO_NAME).count()).toBe(1);
    expect(await page.getByRole('progressbar', { name: `Importing into ${DEMO_NAME}` }).count()).toBe(0);
    expect(await textOf(projectCard(page, DEMO_NAME).getByTestId('sample-count'))).toBe('5,000 images');
  });

  it('creates, renames and deletes a project, with a confirmation that can be cancelled', async () => {
    await openProjectList(page);
    const id = await createProject(page, 'Birds');
    expect(page.url()).toBe(appUrl(`/#/p/${encodeURIComponent(id)}/data`));
    expect(await datasetTotal(page)).toBe(0);

    await openProjectList(page);
    const card = projectCard(page, 'Birds');
    await card.waitFor();
    expect(await textOf(card.getByTestId('sample-count'))).toBe('0 images');
    expect(await textOf(card)).toContain('0 classes');

    // Rename.
    await page.getByRole('button', { name: 'Rename Birds', exact: true }).click();
    const box = page.getByRole('textbox', { name: 'New name for Birds', exact: true });
    expect(await box.inputValue()).toBe('Birds');
    await box.fill('Songbirds');
    await page.getByRole('button', { name: 'Save name' }).click();
    await projectCard(page, 'Songbirds').getByRole('link', { name: 'Songbirds', exact: true }).waitFor();
    expect(await projectCard(page, 'Birds').count()).toBe(0);
    // The new name is stored, not just shown.
    await page.reload();
    await projectCard(page, 'Songbirds').waitFor();
    expect(await projectCard(page, 'Birds').count()).toBe(0);

    // Delete, cancelled: the project stays.
    const dialog = page.getByRole('dialog', { name: 'Delete project?' });
    await page.getByRole('button', { name: 'Delete Songbirds', exact: true }).click();
    await dialog.waitFor();
    expect(await textOf(dialog)).toContain('“Songbirds”');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await projectCard(page, 'Songbirds').count()).toBe(1);

    // Delete, confirmed: the project is gone (and stays gone after a reload).
    await page.getByRole('button', { name: 'Delete Songbirds', exact: true }).click();
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Delete project' }).click();
    await projectCard(page, 'Songbirds').waitFor({ state: 'detached' });
    await page.reload();
    await projectCard(page, DEMO_NAME).waitFor();
    expect(await projectCard(page, 'Songbirds').count()).toBe(0);
  });

  it('offers "Add Digits demo" after the demo project is deleted', async () => {
    await openProjectList(page);
    expect(await page.getByRole('button', { name: `Add ${DEMO_NAME}` }).count()).toBe(0);
    await page.getByRole('button', { name: `Delete ${DEMO_NAME}`, exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete project?' });
    await dialog.waitFor();
    expect(await textOf(dialog)).toContain('5,000 images');
    await dialog.getByRole('button', { name: 'Delete project' }).click();
    await projectCard(page, DEMO_NAME).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: `Add ${DEMO_NAME}` }).waitFor();
    // Deleting the demo is remembered: a reload does not bring it back on its own.
    await page.reload();
    await page.getByRole('button', { name: `Add ${DEMO_NAME}` }).waitFor();
    expect(await projectCard(page, DEMO_NAME).count()).toBe(0);
    expect(page.pageErrors()).toEqual([]);
    expect(page.cspViolations()).toEqual([]);
  });
});
