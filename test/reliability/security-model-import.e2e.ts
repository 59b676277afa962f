// Reliability catalog, "Security": model import never fetches, malformed model.json, bad weights.
// One browser session imports hostile model zips through the Models stage ("Import model zip…"),
// the way a person would, and checks for each: one clear error, zero network requests (any
// origin, the app's own included: `../x` resolves against it), nothing stored (the version list
// and a reload agree), zero CSP violations, no page errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { TextReader, Uint8ArrayReader, Uint8ArrayWriter, ZipWriter, configure } from '@zip.js/zip.js';
import type { Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import { createProject, waitForDemoImported } from '../e2e/app-helpers';

configure({ useWebWorkers: false });

interface Artifacts {
  modelTopology: Record<string, unknown>;
  weightSpecs: Array<{ name: string; shape: number[]; dtype: string }>;
  weightData: Uint8Array;
}

/** A tiny valid layers model: 8x8x1 → flatten → dense(2, softmax). */
async function tinyModel(): Promise<Artifacts> {
  await tf.setBackend('cpu');
  const model = tf.sequential({
    layers: [tf.layers.flatten({ inputShape: [8, 8, 1] }), tf.layers.dense({ units: 2, activation: 'softmax' })],
  });
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  const a = saved! as tf.io.ModelArtifacts;
  const data = a.weightData as ArrayBuffer;
  return {
    modelTopology: a.modelTopology as Record<string, unknown>,
    weightSpecs: a.weightSpecs as Artifacts['weightSpecs'],
    weightData: new Uint8Array(data.slice(0)),
  };
}

function modelJson(a: Artifacts, patch: { paths?: string[]; topology?: unknown; specs?: unknown } = {}): string {
  return JSON.stringify({
    format: 'layers-model',
    generatedBy: 'reliability test',
    modelTopology: patch.topology ?? a.modelTopology,
    weightsManifest: [{ paths: patch.paths ?? ['weights.bin'], weights: patch.specs ?? a.weightSpecs }],
  });
}

async function writeModelZip(path: string, json: string, weights: Uint8Array | null): Promise<string> {
  const zip = new ZipWriter(new Uint8ArrayWriter());
  await zip.add('model.json', new TextReader(json));
  if (weights) await zip.add('weights.bin', new Uint8ArrayReader(weights));
  writeFileSync(path, await zip.close());
  return path;
}

describe('Security: importing hostile model zips', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  let art: Artifacts;
  let requests: string[] = [];
  let faults = 0;
  const onRequest = (r: Request) => requests.push(r.url());

  const versions = () => page.getByRole('button', { name: /^Version \d+$/ }).count();

  /** Picks a zip and waits for the alert whose text matches `expected`; returns it and the time taken. */
  async function importExpectingError(path: string, expected: RegExp): Promise<{ text: string; ms: number }> {
    faults++;
    const before = await versions();
    requests = [];
    const t0 = Date.now();
    await page.getByLabel('Choose a model zip to import').setInputFiles(path);
    const alert = page.getByRole('alert').filter({ hasText: expected });
    await alert.waitFor({ timeout: 30_000 });
    const ms = Date.now() - t0;
    const text = (await alert.innerText()).trim();
    // Import finished (the button is enabled again) and nothing was stored.
    await expect.poll(() => page.getByRole('button', { name: 'Import model zip…' }).isEnabled()).toBe(true);
    expect(await versions(), `versions after ${path}`).toBe(before);
    expect(requests, `network requests while importing ${path}`).toEqual([]);
    return { text, ms };
  }

  beforeAll(async () => {
    art = await tinyModel();
    dir = mkdtempSync(join(tmpdir(), 'trainyard-rel-model-'));
    b = await launchBrowser({ webgpu: false, demoImported: true });
    page = await newPage(b);
    await page.goto(appUrl());
    await waitForDemoImported(page);
    await createProject(page, 'Hostile models');
    await page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: 'Models', exact: true }).click();
    await page.getByRole('heading', { name: 'Model versions' }).waitFor();
    // The control: the untouched tiny model imports, so every refusal below is about the fault.
    // (It also warms up the inference worker, so the timing check measures validation only.)
    const good = await writeModelZip(join(dir, 'good.zip'), modelJson(art), art.weightData);
    await page.getByLabel('Choose a model zip to import').setInputFiles(good);
    await page.getByText(/Imported as version 1 \(2 classes\)/).waitFor({ timeout: 60_000 });
    expect(await versions()).toBe(1);
    b.context.on('request', onRequest);
  });

  afterAll(async () => {
    b?.context.off('request', onRequest);
    await b?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('Model import never fetches: weight paths that are URLs, //host/x, ../x or data: cause zero network requests and a clear error', async () => {
    const hostile: Array<[string, string]> = [
      ['url', 'https://evil.example/weights.bin'],
      ['protocol-relative', '//evil.example/weights.bin'],
      ['parent', '../weights.bin'],
      ['data', `data:application/octet-stream;base64,${Buffer.from(art.weightData).toString('base64')}`],
      // Variations a URL parser would still resolve: same-origin absolute, encoded dots, backslash.
      ['absolute', '/assets/weights.bin'],
      ['encoded-dots', '%2e%2e/weights.bin'],
      ['backslash', '..\\weights.bin'],
    ];
    for (const [name, p] of hostile) {
      const zip = await writeModelZip(join(dir, `paths-${name}.zip`), modelJson(art, { paths: [p] }), art.weightData);
      // The message names the offending path (JSON-quoted, cut at 120 characters).
      const shown = JSON.stringify(p)
        .slice(0, 40)
        .replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      const { text } = await importExpectingError(zip, new RegExp(`refused: Weight path ${shown}`));
      expect(text, name).toMatch(/^model\.json refused: /);
      expect(text, name).toMatch(/network request|not a plain file name/);
    }
  });

  it('Malformed model.json: validated before TF.js sees it and rejected within a second; unknown layer classes and a Dense layer with 1e9 units rejected before building', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['truncated-json', modelJson(art).slice(0, 60), /not valid JSON/],
      ['not-an-object', '[1, 2, 3]', /must contain a JSON object/],
      ['no-topology', JSON.stringify({ weightsManifest: [] }), /no modelTopology/],
      ['no-manifest', JSON.stringify({ modelTopology: art.modelTopology }), /no weightsManifest/],
    ];
    // Unknown layer class.
    const unknown = structuredClone(art.modelTopology) as { config: { layers: Array<{ class_name: string }> } };
    unknown.config.layers[1].class_name = 'EvilLambda';
    cases.push(['unknown-layer', modelJson(art, { topology: unknown }), /Unsupported layer type 'EvilLambda'/]);
    // Absurd size in the topology alone (the manifest still matches the tiny weights).
    const huge = structuredClone(art.modelTopology) as { config: { layers: Array<{ config: { units?: number } }> } };
    huge.config.layers[1].config.units = 1e9;
    cases.push(['dense-1e9-topology', modelJson(art, { topology: huge }), /declares units = 1000000000: absurd size/]);
    // ... and in the manifest: a kernel of 64 x 1e9 weights.
    const hugeSpecs = art.weightSpecs.map((s) => (s.shape.length === 2 ? { ...s, shape: [64, 1e9] } : s));
    cases.push(['dense-1e9-manifest', modelJson(art, { topology: huge, specs: hugeSpecs }), /more than [\d,]+ parameters .*absurd size/]);

    for (const [name, json, expected] of cases) {
      const zip = await writeModelZip(join(dir, `json-${name}.zip`), json, art.weightData);
      const { text, ms } = await importExpectingError(zip, expected);
      expect(text, name).toMatch(expected);
      // Validated before TF.js builds anything: the answer comes within a second.
      expect(ms, `${name} answered in ${ms} ms`).toBeLessThan(1000);
    }
  });

  it('Bad weights: truncated, misaligned, wrong shape and NaN values give one friendly error each, nothing stored', async () => {
    const w = art.weightData;
    const nan = new Uint8Array(w);
    new DataView(nan.buffer).setFloat32(0, NaN, true);
    const inf = new Uint8Array(w);
    new DataView(inf.buffer).setFloat32(4, Infinity, true);
    // Same byte count, wrong shape for the Dense kernel ([64,2] → [2,64]).
    const swapped = art.weightSpecs.map((s) => (s.shape.length === 2 ? { ...s, shape: [...s.shape].reverse() } : s));
    const cases: Array<[string, string, Uint8Array | null, RegExp]> = [
      // Consecutive cases have different messages, so a stale alert can never satisfy the next wait.
      ['nan', modelJson(art), nan, /NaN or infinite/],
      ['truncated', modelJson(art), w.subarray(0, w.length - 100), /truncated/],
      ['infinity', modelJson(art), inf, /NaN or infinite/],
      ['misaligned', modelJson(art), new Uint8Array([...w, 0, 0, 0]), /expects [\d,]+/],
      ['missing-file', modelJson(art), null, /not in the zip/],
      ['wrong-shape', modelJson(art, { specs: swapped }), w, /shape/i],
    ];
    const seen = new Set<string>();
    for (const [name, json, weights, expected] of cases) {
      const zip = await writeModelZip(join(dir, `weights-${name}.zip`), json, weights);
      const { text } = await importExpectingError(zip, expected);
      // One message, readable: no stack trace, not empty.
      expect(text.split('\n'), name).toHaveLength(1);
      expect(text, name).not.toMatch(/\bat \S+ \(|Error:|undefined/);
      seen.add(text);
    }
    expect(seen.size).toBeGreaterThanOrEqual(cases.length - 1);
    // Nothing stored, after a reload too.
    await page.reload();
    await page.getByRole('heading', { name: 'Model versions' }).waitFor();
    await expect.poll(versions).toBe(1);
    expect(page.cspViolations()).toEqual([]);
    expect(page.pageErrors()).toEqual([]);
    console.log(`[reliability] model import: ${faults} hostile zips, 0 stored, 0 requests`);
  });
});
