// Parity: the same weights and inputs give the same probabilities in TF.js (the app) and in the
// kit's PyTorch models, within 1e-4, for each architecture. TF.js weights go into PyTorch through
// trainyard_kit/convert.py and back out byte for byte, so both layout conversions are checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildModel, type ArchitectureConfig } from '../../src/lib/ml/architectures';
import { mulberry32 } from '../../src/lib/ml/random';
import { findTorchPython, KIT_PYTHON_DIR } from '../kit/python';

const { python, reason } = findTorchPython();

const ARCHS: ArchitectureConfig[] = [
  { kind: 'cnn', inputSize: 28, channels: 1, numClasses: 10, dropout: 0.25, filters: 16 },
  // 35 px: odd sizes exercise TF's asymmetric 'same' padding and the odd max-pool edge.
  { kind: 'cnn', inputSize: 35, channels: 3, numClasses: 4, dropout: 0, filters: 8 },
  { kind: 'mobilenet', inputSize: 33, channels: 3, numClasses: 5, dropout: 0.2, widthMultiplier: 0.25 },
  { kind: 'mlp', inputSize: 16, channels: 1, numClasses: 3, dropout: 0.2, hidden: [32, 16] },
];

const SCRIPT = `
import json, sys
import numpy as np, torch
from trainyard_kit import models, convert
d = sys.argv[1]
spec = json.load(open(d + '/spec.json'))
net = models.build(spec['arch'])
data = open(d + '/weights.bin', 'rb').read()
convert.load_tfjs(net, spec['topology'], spec['manifest'], data)
net.eval()
x = np.fromfile(d + '/x.bin', dtype='<f4').reshape(spec['xShape'])
with torch.no_grad():
    p = torch.softmax(net(torch.from_numpy(x)), dim=1).numpy().astype('<f4')
p.tofile(d + '/probs.bin')
back = convert.to_tfjs(net, spec['topology'], spec['manifest'])
print(json.dumps({'roundTrip': back == data}))
`;
import { modelArtifacts } from '../../workers/ml/save-version';

describe.skipIf(!python)(`kit parity, TF.js against PyTorch (${reason})`, () => {
  let dir: string;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'kit-parity-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const arch of ARCHS) {
    it(`${arch.kind} ${'inputSize' in arch ? arch.inputSize : ''}: probabilities within 1e-4`, async () => {
      const before = tf.memory().numTensors;
      const model = buildModel(arch, 7);
      // Moving statistics away from 0/1 so batch norm's conversion is really exercised.
      const rand = mulberry32(99);
      for (const layer of model.layers) {
        if (layer.getClassName() === 'BatchNormalization') {
          const w = layer.getWeights();
          const fresh = w.map((t, i) =>
            tf.tensor(
              Array.from({ length: t.size }, () => (i === 3 ? 0.5 + rand() : rand() - 0.5)),
              t.shape,
            ),
          );
          layer.setWeights(fresh);
          fresh.forEach((t) => t.dispose());
        }
      }
      const { modelTopology: topology, weightSpecs: manifest, weightData: weights } = await modelArtifacts(model);
      const size = 'inputSize' in arch ? arch.inputSize : 1;
      const channels = 'channels' in arch ? arch.channels : 1;
      const n = 6;
      const x = new Float32Array(n * size * size * channels).map(() => rand());
      const sub = mkdtempSync(join(dir, arch.kind));
      writeFileSync(join(sub, 'spec.json'), JSON.stringify({ arch, topology, manifest, xShape: [n, size, size, channels] }));
      writeFileSync(join(sub, 'weights.bin'), new Uint8Array(weights));
      writeFileSync(join(sub, 'x.bin'), new Uint8Array(x.buffer));
      const out = execFileSync(python!, ['-c', SCRIPT, sub], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: KIT_PYTHON_DIR } });
      expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ roundTrip: true });
      const theirs = new Float32Array(new Uint8Array(readFileSync(join(sub, 'probs.bin'))).buffer);
      const ours = tf.tidy(() => (model.predict(tf.tensor4d(x, [n, size, size, channels])) as tf.Tensor).dataSync() as Float32Array);
      expect(theirs.length).toBe(ours.length);
      let worst = 0;
      for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
      expect(worst).toBeLessThan(1e-4);
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }, 60_000);
  }
});
