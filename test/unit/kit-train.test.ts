// The kit's train.py on a kit built in Node from real digits (no browser): one process, one epoch,
// then --resume for a second; out/ loads in TF.js and scores what metrics.json says; the ONNX file
// passes onnx's checker where onnx is installed; a damaged data file or job.json stops it with the reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { decodeNpy } from '../../src/lib/kit/npy';
import { findTorchPython } from '../kit/python';
import { writeSyntheticKit } from '../kit/synthetic-kit';

const { python, reason } = findTorchPython();

function train(dir: string, ...args: string[]) {
  const r = spawnSync(python!, ['train.py', '--threads', '1', ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe.skipIf(!python)(`kit train.py (${reason})`, () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kit-train-'));
    await writeSyntheticKit(dir, { perClass: { train: 30, val: 10, test: 20 }, epochs: 2, batchSize: 32 });
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('trains, checkpoints, resumes, and writes a TF.js model that scores what metrics.json says', async () => {
    const first = train(dir, '--epochs', '1', '--no-onnx');
    expect(first.code, first.out).toBe(0);
    const second = train(dir, '--resume');
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain('resumed from epoch 1');
    const metrics = JSON.parse(readFileSync(join(dir, 'out/metrics.json'), 'utf8'));
    expect(metrics.history.map((h: { epoch: number }) => h.epoch)).toEqual([1, 2]);
    expect(metrics.trainedOn).toMatchObject({ framework: 'PyTorch', devices: 1, device: 'CPU' });
    expect(metrics.onnx).toBe('model.onnx');

    await tf.setBackend('cpu');
    const modelJson = JSON.parse(readFileSync(join(dir, 'out/model.json'), 'utf8'));
    const weights = readFileSync(join(dir, 'out/weights.bin'));
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: modelJson.weightsManifest[0].weights,
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      }),
    );
    const x = decodeNpy(new Uint8Array(readFileSync(join(dir, 'data/test_x.npy'))));
    const y = decodeNpy(new Uint8Array(readFileSync(join(dir, 'data/test_y.npy')))).data;
    const predicted = tf.tidy(() =>
      (
        model.predict(
          tf.tensor4d(
            Float32Array.from(x.data, (v) => v / 255),
            x.shape as [number, number, number, number],
          ),
        ) as tf.Tensor
      )
        .argMax(1)
        .dataSync(),
    );
    model.dispose();
    const accuracy = Array.from(predicted).reduce((n: number, p: number, i: number) => n + (p === y[i] ? 1 : 0), 0) / y.length;
    expect(Math.abs(accuracy - metrics.testAccuracy)).toBeLessThanOrEqual(0.005);

    const check = spawnSync(
      python!,
      ['-c', 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1])); print("onnx ok")', join(dir, 'out/model.onnx')],
      { encoding: 'utf8' },
    );
    if (check.status === 0) expect(check.stdout).toContain('onnx ok');
    else console.warn(`[kit tests] onnx checker not run: ${check.stderr.trim().split('\n').pop()}`);
  }, 180_000);

  it("follows the app's early-stopping schedule: rate halved after 2 epochs without improvement, stop after the patience", () => {
    // The app's rule (src/lib/ml/train-loop.ts with PLATEAU(0.002), patience 4), worked by hand for
    // these validation losses: improvements at epochs 1, 2 and 5; halvings after epochs 4, 7 and 9; stop after 9.
    const losses = [1.0, 0.8, 0.85, 0.9, 0.7, 0.75, 0.76, 0.77, 0.78];
    const script = [
      'import json, sys',
      'from trainyard_kit.schedule import EarlyStopping',
      "s = EarlyStopping(4, {'patience': 2, 'factor': 0.5, 'minLearningRate': 0.002 / 16}, 0.002)",
      'print(json.dumps([list(s.update(x)) + [s.rate] for x in json.loads(sys.argv[1])]))',
      "n = EarlyStopping(4, None, 0.1); print(json.dumps([n.update(float('nan')), n.update(float('nan'))]))",
    ].join('\n');
    const r = spawnSync(python!, ['-c', script, JSON.stringify(losses)], { cwd: dir, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [steps, nan] = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(steps).toEqual([
      [true, false, 0.002],
      [true, false, 0.002],
      [false, false, 0.002],
      [false, false, 0.001],
      [true, false, 0.001],
      [false, false, 0.001],
      [false, false, 0.0005],
      [false, false, 0.0005],
      [false, true, 0.00025],
    ]);
    expect(nan).toEqual([
      [false, false],
      [false, false],
    ]); // a NaN loss never counts as an improvement
  });

  it('refuses a damaged data file and a malformed job.json, with the reason', () => {
    const path = join(dir, 'data/val_y.npy');
    const original = readFileSync(path);
    const damaged = Buffer.from(original);
    damaged[damaged.length - 1] ^= 1;
    writeFileSync(path, damaged);
    const r = train(dir, '--no-onnx');
    writeFileSync(path, original);
    expect(r.code).toBe(2);
    expect(r.out).toContain('data/val_y.npy does not match its SHA-256 in job.json');

    const jobPath = join(dir, 'job.json');
    const job = readFileSync(jobPath, 'utf8');
    writeFileSync(jobPath, JSON.stringify({ ...JSON.parse(job), classes: ['only one'] }));
    const bad = train(dir, '--no-onnx');
    writeFileSync(jobPath, job);
    expect(bad.code).toBe(2);
    expect(bad.out).toMatch(/job\.json refused: .*classes must list at least 2/);
  }, 60_000);
});
