// Every screen as a newcomer meets it, on the Digits demo with one trained version: training and
// project export from the keyboard alone (the run's progress is brought into view and focused),
// the project import plan with its cancel, then every stage at 1440x900 and 390x844 with no
// horizontal overflow and no serious axe-core violations; plus the small things (rename Escape,
// formatted version timings, the drift panel's rule).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from './harness';
import {
  DEMO_NAME,
  createProject,
  importAndReport,
  openProjectList,
  pickFolder,
  projectCard,
  textOf,
  waitForDemoImported,
  writeHalvesDataset,
} from './app-helpers';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const STAGES = ['data', 'label', 'train', 'tune', 'models', 'deploy', 'monitor', 'pipeline'] as const;
const SIZES = [
  { width: 1440, height: 900 },
  { width: 390, height: 844 },
];

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[]; html: string }>;
}

async function seriousViolations(page: TrackedPage, where: string): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const { violations, passed } = await page.evaluate(async () => {
    type Result = { violations: unknown[]; passes: unknown[] };
    const axe = (window as typeof window & { axe: { run: (ctx: Document, opts: object) => Promise<Result> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return { violations: result.violations, passed: result.passes.length };
  });
  expect(passed, `axe rules passed on ${where}`).toBeGreaterThan(10);
  return (violations as AxeViolation[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${where}: [${v.impact}] ${v.id}: ${v.help}\n${v.nodes.map((n) => `    ${n.target.join(' ')}  ${n.html.slice(0, 160)}`).join('\n')}`,
    );
}

/** Elements sticking out to the right of the viewport (not inside a scrolling box), for the failure message. */
function overflowing(page: TrackedPage): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.right <= innerWidth + 1) continue;
      let p = el.parentElement;
      let clipped = false;
      for (; p; p = p.parentElement) if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) clipped = true;
      if (!clipped) out.push(`${el.tagName.toLowerCase()}.${el.className} right=${Math.round(r.right)}`);
    }
    return out.slice(0, 8);
  });
}

describe('every screen, at desktop and phone sizes', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  let base: string;

  const focused = () =>
    page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return el ? `${el.tagName.toLowerCase()} ${el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 40) ?? ''}` : 'none';
    });

  /** Presses Tab until the focused element's text or label matches (at most `max` presses). */
  async function tabTo(name: RegExp, max = 40): Promise<void> {
    const seen: string[] = [];
    for (let i = 0; i < max; i++) {
      await page.keyboard.press('Tab');
      const f = await focused();
      seen.push(f);
      if (name.test(f)) return;
    }
    throw new Error(`Tab never reached ${name}: ${seen.join(' → ')}`);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-screens-'));
    writeHalvesDataset(join(dir, 'img'), 1, ['left']);
    writeHalvesDataset(join(dir, 'small'), 2);
    b = await launchBrowser({ webgpu: false, demoImported: true });
    page = await newPage(b);
    await page.setViewportSize(SIZES[0]);
    await openProjectList(page);
    await waitForDemoImported(page);
    await projectCard(page, DEMO_NAME).getByRole('link', { name: DEMO_NAME }).click();
    await page.waitForURL(/#\/p\/[^/]+\/data$/);
    base = page.url().replace(/\/data$/, '');
  }, 180_000);

  afterAll(async () => {
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('trains a version from the keyboard; the run is brought into view and its timings are real', async () => {
    await page.goto(`${base}/train`);
    await page.getByRole('heading', { name: 'Train a classifier' }).waitFor();
    // The checkbox sits beside its label, on one line. Both boxes are measured in one evaluate:
    // panels above the form (the backbone catalog) fill in after the heading and move the form
    // down, so two separate boundingBox calls can straddle that shift.
    const offset = await page.getByLabel('Leave auto-accepted labels out').evaluate((box) => {
      const label = box.closest('label')!;
      const range = document.createRange();
      range.selectNodeContents(label);
      range.setStartAfter(box);
      const b = box.getBoundingClientRect();
      const t = range.getBoundingClientRect();
      return Math.abs(b.top + b.height / 2 - (t.top + t.height / 2));
    });
    expect(offset).toBeLessThan(8);

    await page.getByLabel('Epochs').focus();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('1');
    await page.keyboard.press('Enter'); // submits the settings form: Start training
    const live = page.getByRole('region', { name: 'Training progress' });
    await live.waitFor({ timeout: 30_000 });
    await expect.poll(focused, { timeout: 10_000 }).toMatch(/^section Training progress/);
    await expect
      .poll(() => live.evaluate((el) => el.getBoundingClientRect().top < innerHeight && el.getBoundingClientRect().bottom > 0))
      .toBe(true);
    // Legends show numbers, never a row of "--" once there is a point.
    await page.getByTestId('train-outcome').waitFor({ timeout: 240_000 });
    expect(await page.getByTestId('train-outcome').innerText()).toMatch(/Run completed/);
    const legends = await live.locator('.u-legend').allInnerTexts();
    expect(legends.length).toBe(4);
    for (const l of legends) expect(l).not.toMatch(/--/);

    await tabTo(/See the new model version/);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Version 1' }).waitFor();
    const timing = (await textOf(page.getByTestId('version-training')))!;
    const m = /^1 epochs, (\d+) s, ([\d,]+) img\/s$/.exec(timing);
    expect(m, timing).not.toBeNull();
    expect(Number(m![2].replace(/,/g, ''))).toBeGreaterThan(0);
  }, 300_000);

  it('logs a prediction, and the drift panel says "not judged" (with its rule) below 30, once', async () => {
    await page.goto(`${base}/deploy`);
    await page.getByLabel('Choose images to predict').setInputFiles(join(dir, 'img', 'left', 'left-0.png'));
    await page.getByRole('list', { name: 'Predictions' }).getByRole('listitem').first().getByText(/ms$/).waitFor({ timeout: 60_000 });
    await page.goto(`${base}/monitor`);
    // The version list loads after the page: pick version 1 (listed first, "All versions" last) once offered.
    const check = page.getByRole('button', { name: 'Check drift now' });
    await expect
      .poll(
        async () => {
          const select = page.getByLabel('Model version');
          if ((await select.locator('option').count()) > 1) await select.selectOption({ index: 0 });
          return check.isEnabled();
        },
        { timeout: 30_000 },
      )
      .toBe(true);
    await check.click();
    await page.getByTestId('drift-result').waitFor({ timeout: 60_000 });
    expect(await page.getByText(/Not enough predictions/).count()).toBe(1);
    const drifted = await page.getByRole('table', { name: 'Latest drift check' }).locator('tbody tr td:nth-child(6)').allInnerTexts();
    expect(drifted.length).toBeGreaterThan(0);
    expect(new Set(drifted)).toEqual(new Set(['not judged']));
    expect(await page.getByTestId('drift-rule').innerText()).toMatch(/p-value is below 0\.05/);
  }, 120_000);

  it('exports a project with one key press; its import shows a plan, Cancel writes nothing, Import project writes it', async () => {
    await createProject(page, 'Small');
    await pickFolder(page, join(dir, 'small'));
    await importAndReport(page);
    await openProjectList(page);
    await page.getByRole('button', { name: 'Export Small', exact: true }).focus();
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.keyboard.press('Enter')]);
    expect(download.suggestedFilename()).toBe('Small.trainyard.zip');
    const file = join(dir, 'small.trainyard.zip');
    await download.saveAs(file);
    const cards = page.getByRole('list', { name: 'Projects' }).getByRole('listitem');
    const before = await cards.count();

    const pick = async () => {
      const [chooser] = await Promise.all([
        page.waitForEvent('filechooser'),
        page.getByRole('button', { name: 'Import project file…' }).click(),
      ]);
      await chooser.setFiles(file);
      await page.getByRole('heading', { name: 'Import project “Small (imported)”?' }).waitFor({ timeout: 120_000 });
    };
    await pick();
    const holds = await page.getByRole('list', { name: 'What the project file holds' }).innerText();
    expect(holds).toMatch(/^6 images \(.+\) in 3 classes: left, right, top/);
    expect(holds).toMatch(/0 model versions/);
    // Focus is on the plan; Tab reaches its buttons; Cancel writes nothing.
    expect(await focused()).toMatch(/^h2 Import project/);
    await tabTo(/^button Cancel$/, 3);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Project import cancelled' }).waitFor();
    expect(
      await page
        .getByRole('status')
        .filter({ hasText: /nothing was stored/ })
        .count(),
    ).toBe(1);
    await page.getByRole('button', { name: 'Close report' }).click();
    expect(await cards.count()).toBe(before);

    await pick();
    await tabTo(/^button Import project$/, 3);
    await page.keyboard.press('Enter');
    await page
      .getByRole('status')
      .filter({ hasText: /^Imported “Small \(imported\)”\.$/ })
      .waitFor({ timeout: 120_000 });
    await expect.poll(() => cards.count()).toBe(before + 1);
    expect(await textOf(projectCard(page, 'Small (imported)').getByTestId('sample-count'))).toBe('6 images');
  }, 240_000);

  it('Escape cancels a rename and gives focus back to Rename', async () => {
    await openProjectList(page);
    await page.getByRole('button', { name: `Rename ${DEMO_NAME}` }).click();
    await page.keyboard.type('Something else');
    await page.keyboard.press('Escape');
    await page.getByRole('heading', { level: 2, name: DEMO_NAME }).waitFor();
    expect(await focused()).toBe(`button Rename ${DEMO_NAME}`);
  });

  it('fits every stage in the width at 1440x900 and 390x844, with no serious axe violations', async () => {
    const problems: string[] = [];
    for (const size of SIZES) {
      await page.setViewportSize(size);
      for (const where of ['list', ...STAGES]) {
        await page.goto(where === 'list' ? appUrl('/#/') : `${base}/${where}`);
        await page.getByRole('heading', { level: 2 }).first().waitFor();
        await page.waitForTimeout(400); // lists and charts fill in after the heading
        const [scrollWidth, viewport] = await page.evaluate((): [number, number] => [
          document.documentElement.scrollWidth,
          window.innerWidth,
        ]);
        if (scrollWidth > viewport)
          problems.push(`${where} at ${size.width}: page is ${scrollWidth} px wide: ${(await overflowing(page)).join('; ')}`);
        problems.push(...(await seriousViolations(page, `${where} at ${size.width}x${size.height}`)));
      }
    }
    expect(problems).toEqual([]);
    expect(page.pageErrors()).toEqual([]);
  }, 180_000);
});
