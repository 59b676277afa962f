import { describe, expect, it } from 'vitest';
import {
  backboneDisplayName,
  backboneInputShape,
  checkBackboneUrl,
  embeddingCut,
  embeddingSummary,
  normalizePixels,
  weightUrl,
} from '../../src/lib/ml/backbone';
import { restoreBackbone } from '../../src/db/restore';

describe('embeddingCut', () => {
  it('drops a softmax Dense classifier and the Dropout before it', () => {
    expect(
      embeddingCut([{ className: 'Conv2D' }, { className: 'GlobalAveragePooling2D' }, { className: 'Dense', activation: 'softmax' }]),
    ).toBe(1);
    expect(embeddingCut([{ className: 'Flatten' }, { className: 'Dropout' }, { className: 'Dense', activation: 'softmax' }])).toBe(2);
  });
  it('drops Dense + Activation(softmax) together', () => {
    expect(
      embeddingCut([
        { className: 'GlobalAveragePooling2D' },
        { className: 'Dense', activation: 'linear' },
        { className: 'Activation', activation: 'softmax' },
      ]),
    ).toBe(2);
  });
  it('keeps a model that already ends in features', () => {
    expect(embeddingCut([{ className: 'Conv2D' }, { className: 'GlobalAveragePooling2D' }])).toBe(0);
    expect(embeddingCut([{ className: 'Flatten' }, { className: 'Dense', activation: 'relu' }])).toBe(0);
    expect(embeddingCut([{ className: 'Dense', activation: 'softmax' }])).toBe(0); // nothing would be left
  });
});

describe('backboneInputShape', () => {
  it('accepts square, fixed, 1 or 3 channel image inputs', () => {
    expect(backboneInputShape([null, 224, 224, 3])).toEqual([224, 224, 3]);
    expect(backboneInputShape([-1, 32, 32, 1])).toEqual([32, 32, 1]);
  });
  it('refuses other shapes with a reason', () => {
    expect(backboneInputShape([null, 10])).toMatch(/rank 4/);
    expect(backboneInputShape([null, null, null, 3])).toMatch(/fixed input size/);
    expect(backboneInputShape([-1, -1, -1, 3])).toMatch(/fixed input size/);
    expect(backboneInputShape([null, 32, 48, 3])).toMatch(/square/);
    expect(backboneInputShape([null, 32, 32, 4])).toMatch(/1 or 3/);
    expect(backboneInputShape([null, 1024, 1024, 3])).toMatch(/too large/);
    expect(backboneInputShape(undefined)).toMatch(/rank 4/);
  });
});

describe('URLs', () => {
  it('accepts only http(s) without credentials', () => {
    expect(checkBackboneUrl('https://example.com/m/model.json')).toBeInstanceOf(URL);
    expect(checkBackboneUrl('ftp://example.com/model.json')).toMatch(/http/);
    expect(checkBackboneUrl('data:application/json,{}')).toMatch(/http/);
    expect(checkBackboneUrl('https://u:p@example.com/model.json')).toMatch(/password/);
    expect(checkBackboneUrl('not a url')).toMatch(/not a valid URL/);
  });
  it('resolves weight files next to model.json, same origin only', () => {
    const base = new URL('https://example.com/models/mnet/model.json');
    expect(weightUrl(base, 'group1-shard1of2.bin')).toBe('https://example.com/models/mnet/group1-shard1of2.bin');
    expect(weightUrl(base, 'sub/w.bin')).toBe('https://example.com/models/mnet/sub/w.bin');
    expect(() => weightUrl(base, '//evil.example/w.bin')).toThrow(/another origin/);
  });
});

describe('normalizePixels', () => {
  it('maps to [0, 1] or [-1, 1], into an offset of a shared buffer', () => {
    expect([...normalizePixels(new Uint8Array([0, 255]), '0..1')]).toEqual([0, 1]);
    expect([...normalizePixels(new Uint8Array([0, 255]), '-1..1')]).toEqual([-1, 1]);
    const out = new Float32Array(4);
    normalizePixels(new Uint8Array([255, 0]), '0..1', out, 2);
    expect([...out]).toEqual([0, 0, 1, 0]);
  });
});

describe('labels', () => {
  it('summarises embedding reuse', () => {
    expect(embeddingSummary({ computed: 0, reused: 72 })).toBe('Embeddings: 0 computed, 72 reused.');
  });
  it('names a backbone after its zip, folder or URL', () => {
    expect(backboneDisplayName({ kind: 'zip', fileName: 'mobilenet.zip' })).toBe('mobilenet');
    expect(backboneDisplayName({ kind: 'files', paths: ['mnet/model.json', 'mnet/w.bin'] })).toBe('mnet');
    expect(backboneDisplayName({ kind: 'url', url: 'https://x.org/a/mnet_v2/model.json?v=1' })).toBe('mnet_v2');
  });
});

describe('restoreBackbone', () => {
  const good = {
    id: 'b1',
    name: 'Net',
    format: 'layers-model',
    inputShape: [32, 32, 3],
    embeddingSize: 16,
    normalization: '-1..1',
    createdAt: 5,
    source: 'zip',
  };
  it('keeps a valid record', () => {
    expect(restoreBackbone(good)).toEqual(good);
  });
  it('repairs unknown enums and drops unusable records', () => {
    expect(restoreBackbone({ ...good, format: 'x', normalization: 'x', source: 'x', name: '' })).toMatchObject({
      format: 'layers-model',
      normalization: '0..1',
      source: 'zip',
      name: 'Backbone',
    });
    expect(restoreBackbone({ ...good, inputShape: [32, 32] })).toBeNull();
    expect(restoreBackbone({ ...good, embeddingSize: 0 })).toBeNull();
    expect(restoreBackbone(null)).toBeNull();
  });
});
