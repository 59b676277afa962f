// The backbone loader end to end in Node: a small layers backbone and a hand-written graph
// backbone are built here, served by a local http server (URL path, injected fetch) or zipped,
// then validated, loaded, probed, stored (fake-indexeddb) and reopened from storage only.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import * as tf from '@tensorflow/tfjs';
import { BlobWriter, TextReader, Uint8ArrayReader, ZipWriter } from '@zip.js/zip.js';
import { fromUrl, readBackboneSource } from '../../workers/ml/backbone-source';
import { importBackbone, openBackbone } from '../../workers/ml/backbone-model';
import { versionModel } from '../../workers/ml/transfer';
import { getBackboneWeights, listBackbones, deleteBackbone } from '../../src/db/backbones';
import { buildModel } from '../../src/lib/ml/architectures';
import { validateModelJson } from '../../src/lib/ml/model-json-validate';
import { modelArtifacts } from '../../workers/ml/save-version';

let files = new Map<string, Uint8Array | string>();
const requests: string[] = [];
let server: Server;
let base = '';

async function layersBackbone(): Promise<{ json: object; weights: Uint8Array }> {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [32, 32, 3], filters: 6, kernelSize: 3, activation: 'relu' }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 8, activation: 'softmax' }),
    ],
  });
  let out: { json: object; weights: Uint8Array } | null = null;
  await m.save(
    tf.io.withSaveHandler(async (a) => {
      out = {
        json: {
          format: 'layers-model',
          modelTopology: a.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
        },
        weights: new Uint8Array(a.weightData as ArrayBuffer),
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  m.dispose();
  return out!;
}

/** A graph model by hand: mean over height and width, then a 3x5 matmul. */
function graphBackbone(): { json: object; weights: Uint8Array } {
  const dims = (...d: number[]) => ({ dim: d.map((size) => ({ size: String(size) })) });
  const json = {
    format: 'graph-model',
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dims(-1, 4, 4, 3) } } },
        {
          name: 'axes',
          op: 'Const',
          attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: dims(2) } }, dtype: { type: 'DT_INT32' } },
        },
        {
          name: 'w',
          op: 'Const',
          attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(3, 5) } }, dtype: { type: 'DT_FLOAT' } },
        },
        {
          name: 'mean',
          op: 'Mean',
          input: ['x', 'axes'],
          attr: { keep_dims: { b: false }, T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' } },
        },
        {
          name: 'out',
          op: 'MatMul',
          input: ['mean', 'w'],
          attr: { transpose_a: { b: false }, transpose_b: { b: false }, T: { type: 'DT_FLOAT' } },
        },
      ],
      versions: { producer: 1 },
    },
    weightsManifest: [
      {
        paths: ['g.bin'],
        weights: [
          { name: 'axes', shape: [2], dtype: 'int32' },
          { name: 'w', shape: [3, 5], dtype: 'float32' },
        ],
      },
    ],
  };
  const bytes = new Uint8Array(8 + 60);
  new Int32Array(bytes.buffer, 0, 2).set([1, 2]);
  new Float32Array(bytes.buffer, 8, 15).set(Array.from({ length: 15 }, (_, i) => i / 10));
  return { json, weights: bytes };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  const layers = await layersBackbone();
  const graph = graphBackbone();
  files = new Map<string, Uint8Array | string>([
    ['/net/model.json', JSON.stringify(layers.json)],
    ['/net/weights.bin', layers.weights],
    ['/graph/model.json', JSON.stringify(graph.json)],
    ['/graph/g.bin', graph.weights],
    [
      '/evil/model.json',
      JSON.stringify({
        ...layers.json,
        weightsManifest: [
          {
            paths: ['https://evil.example/w.bin'],
            weights: (layers.json as { weightsManifest: Array<{ weights: unknown }> }).weightsManifest[0].weights,
          },
        ],
      }),
    ],
    ['/big/model.json', JSON.stringify(layers.json)],
    ['/big/weights.bin', new Uint8Array(layers.weights.byteLength + 1000)],
  ]);
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files.get(req.url ?? '');
    res.statusCode = body === undefined ? 404 : 200;
    res.end(body === undefined ? '' : Buffer.from(body));
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => server?.close());

describe('backbone loading', () => {
  it('fetches model.json and only its listed weights from a URL', async () => {
    requests.length = 0;
    const got = await fromUrl(`${base}/net/model.json`, fetch);
    expect(got.checked.format).toBe('layers-model');
    expect(got.weightData.byteLength).toBe(got.checked.expectedBytes);
    expect(requests.filter((r) => r !== '/net/metadata.json')).toEqual(['/net/model.json', '/net/weights.bin']);
  });

  it('refuses URL weight paths before requesting any weights', async () => {
    requests.length = 0;
    await expect(fromUrl(`${base}/evil/model.json`, fetch)).rejects.toThrow(/network request/);
    expect(requests).toEqual(['/evil/model.json']);
  });

  it('stops reading weights beyond what model.json declares', async () => {
    await expect(fromUrl(`${base}/big/model.json`, fetch)).rejects.toThrow(/limit|larger/);
  });

  it('explains a blocked fetch (CSP or CORS)', async () => {
    const blocked = () => Promise.reject(new TypeError('Failed to fetch'));
    await expect(fromUrl('https://cdn.example/model.json', blocked)).rejects.toThrow(/connect-src 'self'.*import the zip/);
  });

  it('reads a zip with a folder inside, never fetching', async () => {
    const writer = new ZipWriter(new BlobWriter('application/zip'));
    await writer.add('net/model.json', new TextReader(files.get('/net/model.json') as string));
    await writer.add('net/weights.bin', new Uint8ArrayReader(files.get('/net/weights.bin') as Uint8Array));
    const zip = new File([await writer.close()], 'net.zip');
    const got = await readBackboneSource({ kind: 'zip', file: zip }, () => Promise.reject(new Error('no fetch allowed')));
    expect(got.weightData.byteLength).toBe((files.get('/net/weights.bin') as Uint8Array).byteLength);
  });

  it('imports a layers classifier cut at its pooled features, stores it, and reopens it from storage', async () => {
    const tensors = tf.memory().numTensors;
    const b = await importBackbone({ kind: 'url', url: `${base}/net/model.json` }, 'net', { fetchImpl: fetch });
    expect(b).toMatchObject({ format: 'layers-model', inputShape: [32, 32, 3], embeddingSize: 6, source: 'url' });
    expect((await listBackbones()).map((x) => x.id)).toContain(b.id);
    expect(await getBackboneWeights(b.id)).toBeTruthy();

    // The saved version model (backbone cut + copied head) predicts what head(embed(x)) does.
    const net = await openBackbone(b.id);
    const head = buildModel({ kind: 'head', embeddingSize: 6, numClasses: 3, dropout: 0.2, hidden: 4 }, 1);
    const combined = await versionModel(b, head);
    const [viaParts, viaCombined] = tf.tidy(() => {
      const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
      return [(head.predict(net.embed(x)) as tf.Tensor).arraySync(), (combined.model.predict(x) as tf.Tensor).arraySync()];
    });
    expect(viaCombined).toEqual(viaParts);
    expect(combined.meta).toMatchObject({ normalization: b.normalization, backbone: { id: b.id } });
    expect(combined.meta.backboneId).toBeUndefined();
    // What gets saved (and exported) passes the same validation a model zip import applies.
    const saved = await modelArtifacts(combined.model);
    const check = validateModelJson({
      format: 'layers-model',
      modelTopology: saved.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: saved.weightSpecs }],
    });
    expect(check).toMatchObject({ ok: true, expectedBytes: saved.weightData.byteLength });
    combined.release();
    head.dispose();
    net.dispose();
    await deleteBackbone(b.id);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('imports a graph model and keeps the head apart (meta.backboneId)', async () => {
    const tensors = tf.memory().numTensors;
    const b = await importBackbone({ kind: 'url', url: `${base}/graph/model.json` }, 'graph', { fetchImpl: fetch, normalization: '0..1' });
    expect(b).toMatchObject({ format: 'graph-model', inputShape: [4, 4, 3], embeddingSize: 5, outputNode: 'out' });
    const net = await openBackbone(b.id);
    const y = tf.tidy(() => net.embed(tf.ones([1, 4, 4, 3]) as tf.Tensor4D).arraySync());
    // mean of ones is 1 per channel, so each output is the column sum of w.
    expect(y[0][0]).toBeCloseTo(0 + 0.5 + 1.0, 5);
    net.dispose();
    const head = buildModel({ kind: 'head', embeddingSize: 5, numClasses: 2, dropout: 0, hidden: 0 }, 1);
    const v = await versionModel(b, head);
    expect(v.model).toBe(head);
    expect(v.meta.backboneId).toBe(b.id);
    v.release();
    head.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });
});
