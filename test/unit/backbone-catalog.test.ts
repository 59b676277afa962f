// The backbone catalog: its entries are Teachable Machine's exact URLs, and a catalog download
// (served here from a local server behind an injected fetch that only answers the catalog origin)
// is validated, fingerprinted and stored, while every failure (corrupt, oversized, truncated,
// cancelled, offline, disk full) stores nothing.
import 'fake-indexeddb/auto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import * as tf from '@tensorflow/tfjs';

const quota = vi.hoisted(() => ({ full: false }));
vi.mock('../../src/db/backbones', async (orig) => {
  const real = await orig<typeof import('../../src/db/backbones')>();
  return {
    ...real,
    addBackbone: (...args: Parameters<typeof real.addBackbone>) => {
      if (quota.full) return Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError'));
      return real.addBackbone(...args);
    },
  };
});

import {
  CATALOG,
  CATALOG_ORIGIN,
  catalogEntry,
  catalogMaxBytes,
  catalogUrl,
  checkCatalogContract,
  checkCatalogUrl,
  describeDownload,
  secondsLeft,
} from '../../src/lib/ml/backbone-catalog';
import { downloadCatalogBackbone, openBackbone } from '../../workers/ml/backbone-model';
import { listBackbones, deleteBackbone } from '../../src/db/backbones';
import { corruptWeights, oversizedWeights, tinyCatalogBackbone, type ServedModel } from '../fixtures/catalog-backbones';
import { formatBytes } from '../../src/lib/util/format';

const V2_035 = catalogEntry('mobilenet-v2-0.35-224')!;
let served: ServedModel;
let mode: 'good' | 'corrupt' | 'oversized' | 'truncated' | 'slow' = 'good';
let server: Server;
let local = '';
const requested: string[] = [];

/** Answers only URLs on the catalog origin, from the local server: proves nothing else is fetched. */
const catalogFetch = (url: string, init?: RequestInit) => {
  requested.push(url);
  const u = new URL(url);
  if (u.origin !== CATALOG_ORIGIN) return Promise.reject(new TypeError('Failed to fetch (not the catalog origin)'));
  return fetch(local + u.pathname, init);
};

beforeAll(async () => {
  await tf.setBackend('cpu');
  served = await tinyCatalogBackbone(V2_035);
  server = createServer((req, res) => {
    const name = (req.url ?? '').split('/').pop() as keyof ServedModel;
    const files = mode === 'corrupt' ? corruptWeights(served) : mode === 'oversized' ? oversizedWeights(served) : served;
    const body = files[name];
    if (body === undefined) {
      res.statusCode = 404;
      return res.end();
    }
    const bytes = Buffer.from(body);
    if (name === 'weights.bin' && (mode === 'truncated' || mode === 'slow')) {
      res.writeHead(200, { 'Content-Length': bytes.byteLength });
      res.write(bytes.subarray(0, bytes.byteLength >> 1));
      // Truncated: the connection drops half way. Slow: the rest never comes (until cancelled).
      if (mode === 'truncated') setTimeout(() => res.destroy(), 20);
      return;
    }
    res.end(bytes);
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  local = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => server?.closeAllConnections?.() ?? server?.close());
afterEach(() => {
  mode = 'good';
  quota.full = false;
});

describe('catalog entries', () => {
  it("are the exact URLs Teachable Machine's libraries load, all on one origin", () => {
    expect(CATALOG_ORIGIN).toBe('https://storage.googleapis.com');
    expect(CATALOG.map((e) => catalogUrl(e))).toEqual([
      'https://storage.googleapis.com/teachable-machine-models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top/model.json',
      'https://storage.googleapis.com/teachable-machine-models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.50_224_no_top/model.json',
      'https://storage.googleapis.com/teachable-machine-models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.75_224_no_top/model.json',
      'https://storage.googleapis.com/teachable-machine-models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.00_224_no_top/model.json',
      'https://storage.googleapis.com/teachable-machine-models/mobilenet_v1_grayscale_025_96/model.json',
    ]);
    expect(catalogUrl(V2_035, 'http://localhost:5000/')).toBe('http://localhost:5000' + V2_035.path);
    for (const e of CATALOG) expect(e.license).toBe('Apache-2.0');
  });

  it('refuses other origins and contract changes, and says bytes and time left', () => {
    expect(checkCatalogUrl(catalogUrl(V2_035))).toBeNull();
    expect(checkCatalogUrl('https://evil.example/model.json')).toMatch(/only come from https:\/\/storage\.googleapis\.com/);
    expect(checkCatalogContract(V2_035, { inputShape: [224, 224, 3], embeddingSize: 1280 })).toBeNull();
    expect(checkCatalogContract(V2_035, { inputShape: [96, 96, 1], embeddingSize: 1280 })).toMatch(/224×224×3.*96×96×1/);
    expect(checkCatalogContract(V2_035, { inputShape: [224, 224, 3], embeddingSize: 8 })).toMatch(/1280 features.*8/);
    expect(secondsLeft({ received: 1000, total: 4000, elapsedMs: 1000 })).toBe(3);
    expect(secondsLeft({ received: 1000, total: null, elapsedMs: 1000 })).toBeNull();
    expect(describeDownload({ received: 1024 * 1024, total: 4 * 1024 * 1024, elapsedMs: 2000 }, formatBytes)).toBe(
      '1.0 MB of 4.0 MB, about 6 s left',
    );
    expect(catalogMaxBytes(V2_035)).toBeGreaterThan(V2_035.approxBytes);
  });
});

describe('catalog download', () => {
  it('downloads from the catalog origin only, validates, fingerprints and stores; opens offline', async () => {
    requested.length = 0;
    const progress: Array<[number, number | null]> = [];
    const b = await downloadCatalogBackbone(V2_035, { fetchImpl: catalogFetch, onProgress: (r, t) => progress.push([r, t]) });
    expect(requested.every((u) => u.startsWith(CATALOG_ORIGIN + '/teachable-machine-models/'))).toBe(true);
    const sha = createHash('sha256').update(served['weights.bin']).digest('hex');
    expect(b).toMatchObject({
      source: 'catalog',
      catalogId: V2_035.id,
      inputShape: [224, 224, 3],
      embeddingSize: 1280,
      sha256: sha,
      license: 'Apache-2.0',
      pooling: 'avg',
    });
    expect(b.files?.map((f) => f.path)).toEqual(['model.json', 'weights.bin']);
    expect(b.files?.[1].sha256).toBe(sha);
    const total = served['model.json'].length + served['weights.bin'].byteLength;
    expect(progress.at(-1)).toEqual([total, total]);
    // Reopened from IndexedDB alone: no fetch is possible here.
    const tensors = tf.memory().numTensors;
    const net = await openBackbone(b.id);
    const shape = tf.tidy(() => net.embed(tf.zeros([2, 224, 224, 3]) as tf.Tensor4D).shape);
    expect(shape).toEqual([2, 1280]);
    net.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    await deleteBackbone(b.id);
  }, 60_000);

  it.each([
    ['corrupt', /NaN or infinite/],
    ['oversized', /weights.bin is [\d,]+ bytes; the limit is/],
    ['truncated', /was cut off after/],
  ] as const)(
    'a %s download is refused and leaves nothing behind',
    async (m, why) => {
      mode = m;
      await expect(downloadCatalogBackbone(V2_035, { fetchImpl: catalogFetch })).rejects.toThrow(why);
      expect(await listBackbones()).toEqual([]);
    },
    30_000,
  );

  it('a cancelled download leaves nothing behind', async () => {
    mode = 'slow';
    const controller = new AbortController();
    const run = downloadCatalogBackbone(V2_035, {
      fetchImpl: catalogFetch,
      signal: controller.signal,
      onProgress: (received) => received > served['model.json'].length && controller.abort(),
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(await listBackbones()).toEqual([]);
  }, 30_000);

  it('offline: says to import a zip instead', async () => {
    const offline = () => Promise.reject(new TypeError('Failed to fetch'));
    const nav = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', { value: { onLine: false }, configurable: true });
    try {
      await expect(downloadCatalogBackbone(V2_035, { fetchImpl: offline })).rejects.toThrow(
        'You are offline: import a backbone zip instead.',
      );
    } finally {
      if (nav) Object.defineProperty(globalThis, 'navigator', nav);
      else delete (globalThis as { navigator?: unknown }).navigator;
    }
    expect(await listBackbones()).toEqual([]);
  }, 30_000);

  it('a full disk says so and stores nothing', async () => {
    quota.full = true;
    await expect(downloadCatalogBackbone(V2_035, { fetchImpl: catalogFetch })).rejects.toThrow(/Storage is full.*not stored/);
    expect(await listBackbones()).toEqual([]);
  }, 30_000);

  it('refuses a model that breaks the catalog contract', async () => {
    const gray = catalogEntry('mobilenet-v1-0.25-96-gray')!;
    // The colour model served where the grayscale one should be: refused, nothing stored.
    const wrong = (url: string, init?: RequestInit) =>
      catalogFetch(url.replace(gray.path.replace('/model.json', ''), V2_035.path.replace('/model.json', '')), init);
    await expect(downloadCatalogBackbone(gray, { fetchImpl: wrong })).rejects.toThrow(/no layer named conv_pw_13_relu/);
    expect(await listBackbones()).toEqual([]);
  }, 30_000);
});
