// Accessibility: axe-core finds no serious or critical violations on the project list, on a
// project's Data view with an import plan showing, and with an import report showing; and the
// project list works from the keyboard (Tab to "New project name", type, Enter creates it).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from './harness';
import {
  createProject,
  freshFixtures,
  importAndReport,
  openProjectList,
  pickFolder,
  planHeading,
  waitForDemoImported,
  type Fixtures,
} from './app-helpers';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: Array<{ target: string[]; html: string; failureSummary?: string }>;
}

/** Runs axe on the whole page; returns the serious and critical violations, printed readably. */
async function seriousViolations(page: TrackedPage, where: string): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const { violations, passed } = await page.evaluate(async () => {
    type Result = { violations: unknown[]; passes: unknown[] };
    const axe = (window as typeof window & { axe: { run: (ctx: Document, opts: object) => Promise<Result> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return { violations: result.violations, passed: result.passes.length };
  });
  // Sanity: axe really checked the page (an empty or blocked run passes nothing).
  expect(passed, `axe rules passed on the ${where}`).toBeGreaterThan(10);
  const bad = (violations as AxeViolation[]).filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const lines = bad.map(
    (v) =>
      `${where}: [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n` +
      v.nodes
        .map((n) => `    ${n.target.join(' ')}  ${n.html.slice(0, 160)}\n      ${(n.failureSummary ?? '').replace(/\n/g, '\n      ')}`)
        .join('\n'),
  );
  if (lines.length) console.log(lines.join('\n'));
  return lines;
}

describe('accessibility', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let fx: Fixtures;

  beforeAll(async () => {
    fx = await freshFixtures();
    b = await launchBrowser({ webgpu: false, demoImported: true });
    page = await newPage(b);
    await openProjectList(page);
    await waitForDemoImported(page);
  });
  afterAll(async () => {
    await b?.close();
    fx?.cleanup();
  });

  it('has no serious or critical axe violations on the project list', async () => {
    await openProjectList(page);
    expect(await seriousViolations(page, 'project list')).toEqual([]);
  });

  it('has no serious or critical axe violations on the Data view with an import plan showing', async () => {
    await createProject(page, 'Accessible pets');
    await pickFolder(page, fx.folder);
    await planHeading(page).waitFor();
    expect(await seriousViolations(page, 'data view with import plan')).toEqual([]);
  });

  it('has no serious or critical axe violations with an import report showing', async () => {
    await importAndReport(page);
    await page.getByRole('table', { name: 'Skipped files' }).waitFor();
    expect(await seriousViolations(page, 'data view with import report')).toEqual([]);
  });

  it('creates a project from the keyboard: Tab from the top reaches "New project name", Enter submits', async () => {
    await page.goto(appUrl('/#/'));
    await page.reload(); // a fresh document: focus starts at the top
    await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
    // Start from the top of the document, as a keyboard user arriving on the page does.
    await page.evaluate(() => {
      (document.activeElement as HTMLElement | null)?.blur();
      window.scrollTo(0, 0);
    });
    let reached = false;
    const visited: string[] = [];
    for (let i = 0; i < 10 && !reached; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return {
          label: el?.id ? (document.querySelector(`label[for="${el.id}"]`)?.textContent ?? '') : '',
          desc: el
            ? `${el.tagName.toLowerCase()}${el.getAttribute('aria-label') ? `[${el.getAttribute('aria-label')}]` : ''} ${el.textContent?.trim().slice(0, 30) ?? ''}`
            : 'none',
        };
      });
      visited.push(focused.desc);
      reached = focused.label.trim() === 'New project name';
    }
    expect(reached, `Tab order from the top: ${visited.join(' → ')}`).toBe(true);
    expect(visited.length, 'Tab presses to reach "New project name"').toBeLessThanOrEqual(3);
    await page.keyboard.type('Typed project');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/p\/[^/]+\/data$/);
    await page.getByRole('heading', { level: 1, name: 'Typed project', exact: true }).waitFor();
    expect(page.pageErrors()).toEqual([]);
  });
});
