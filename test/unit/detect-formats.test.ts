import { describe, expect, it } from 'vitest';
import type { AnnotationImportResult, DetectionSet } from '../../src/contracts/detection';
import { exportCoco, importCoco } from '../../src/lib/detect/coco';
import { exportVoc, importVoc } from '../../src/lib/detect/voc';
import { exportYolo, importYolo, parseYamlNames, yoloLabelKey } from '../../src/lib/detect/yolo';
import { XmlError, parseXml } from '../../src/lib/detect/xml';

const T = 1_700_000_000_000;

const SET: DetectionSet = {
  classes: ['cat', 'dog', 'a "quoted" & <odd> name'],
  images: [
    {
      image: 'a.jpg',
      width: 640,
      height: 480,
      boxes: [
        { x: 0.1, y: 0.2, w: 0.3, h: 0.4, label: 'cat', source: 'import', time: T },
        { x: 0.5, y: 0.5, w: 0.5, h: 0.5, label: 'a "quoted" & <odd> name', source: 'import', time: T },
      ],
    },
    { image: 'sub/b.png', width: 100, height: 200, boxes: [{ x: 0, y: 0, w: 1, h: 1, label: 'dog', source: 'import', time: T }] },
    { image: 'empty.jpg', width: 32, height: 32, boxes: [] },
  ],
};

function expectSameBoxes(got: DetectionSet, want: DetectionSet, tol: number) {
  expect(got.classes).toEqual(want.classes);
  expect(got.images.map((i) => i.image).sort()).toEqual(want.images.map((i) => i.image).sort());
  for (const w of want.images) {
    const g = got.images.find((i) => i.image === w.image)!;
    expect([g.width, g.height]).toEqual([w.width, w.height]);
    expect(g.boxes.length).toBe(w.boxes.length);
    g.boxes.forEach((b, k) => {
      expect(b.label).toBe(w.boxes[k].label);
      for (const key of ['x', 'y', 'w', 'h'] as const) expect(Math.abs(b[key] - w.boxes[k][key])).toBeLessThan(tol);
    });
  }
}

const issues = (r: AnnotationImportResult, file = 0) => r.files[file].issues.map((i) => `${i.kind}:${i.action}:${i.box ?? i.image ?? ''}`);

describe('COCO', () => {
  it('round-trips export → import within rounding, with a clean report', () => {
    const r = importCoco(exportCoco(SET), 'instances.json', { time: T });
    expect(r.files[0].status).toBe('ok');
    expectSameBoxes(r.set, SET, 1e-4);
    expect(r.files[0].boxesKept).toBe(3);
  });

  const base = {
    images: [{ id: 1, file_name: 'a.jpg', width: 100, height: 50 }],
    categories: [{ id: 7, name: 'cat' }],
  };
  const withAnns = (annotations: unknown[], extra: Record<string, unknown> = {}) => JSON.stringify({ ...base, ...extra, annotations });

  it('reports every bad box with what was done, keeping the good ones', () => {
    const text = withAnns([
      { id: 1, image_id: 1, category_id: 7, bbox: [10, 10, 20, 20] },
      { id: 2, image_id: 1, category_id: 7, bbox: [90, 40, 20, 20] }, // sticks out: clipped
      { id: 3, image_id: 1, category_id: 7, bbox: [200, 10, 5, 5] }, // fully outside
      { id: 4, image_id: 1, category_id: 7, bbox: [10, 10, 0, 5] }, // empty
      { id: 5, image_id: 1, category_id: 7, bbox: [10, 10, 12345, 5] }, // becomes 1e400: Infinity after JSON.parse
      { id: 6, image_id: 99, category_id: 7, bbox: [1, 1, 2, 2] },
      { id: 7, image_id: 1, category_id: 3, bbox: [1, 1, 2, 2] },
      { id: 8, image_id: 1, category_id: 7, bbox: ['1', 1, 2, 2] },
      { id: 1, image_id: 1, category_id: 7, bbox: [1, 1, 2, 2] }, // duplicate id: kept
      'junk',
    ]).replace('12345', '1e400');
    const r = importCoco(text, 'x.json', { time: T });
    expect(r.files[0].status).toBe('issues');
    expect(issues(r)).toEqual([
      'out-of-bounds:clipped:2',
      'out-of-bounds:dropped:3',
      'degenerate:dropped:4',
      'non-finite:dropped:5',
      'unknown-image:dropped:6',
      'unknown-class:dropped:7',
      'wrong-type:dropped:8',
      'duplicate-id:kept:1',
      'wrong-type:dropped:annotations[9]',
    ]);
    const boxes = r.set.images[0].boxes;
    expect(boxes).toHaveLength(3);
    expect(boxes[1]).toMatchObject({ x: 0.9, y: 0.8, label: 'cat', source: 'import', time: T });
    expect(boxes[1].w).toBeCloseTo(0.1, 10);
    expect(boxes[1].h).toBeCloseTo(0.2, 10);
    expect(r.files[0].boxesKept).toBe(3);
  });

  it('reports duplicate and size-less images and images not among the imported ones', () => {
    const text = JSON.stringify({
      images: [
        { id: 1, file_name: 'a.jpg', width: 10, height: 10 },
        { id: 1, file_name: 'b.jpg', width: 10, height: 10 },
        { id: 2, file_name: 'c.jpg' },
        { id: 3, file_name: 'd.jpg', width: 10, height: 10 },
      ],
      categories: [{ id: 1, name: 'x' }],
      annotations: [
        { id: 1, image_id: 2, category_id: 1, bbox: [1, 1, 2, 2] },
        { id: 2, image_id: 3, category_id: 1, bbox: [1, 1, 2, 2] },
      ],
    });
    const r = importCoco(text, 'x.json', { knownImages: new Set(['a.jpg', 'b.jpg', 'c.jpg']) });
    expect(issues(r)).toEqual(['duplicate-id:dropped:b.jpg', 'image-without-size:dropped:c.jpg', 'unknown-image:dropped:d.jpg']);
    expect(r.set.images.map((i) => i.image)).toEqual(['a.jpg']);
  });

  it('refuses unreadable files with a message naming the file, and keeps nothing', () => {
    const cases: Array<[string | Uint8Array, RegExp]> = [
      ['not json', /bad\.json is not valid JSON/],
      ['[1,2]', /top level is not an object/],
      [JSON.stringify({ images: [], categories: [] }), /no "annotations" list/],
      [`{"images":[],"categories":[],"annotations":[],"x":{"__proto__":{"polluted":1}}}`, /key named "__proto__"/],
      [`{"images":[],"categories":[],"annotations":[],"x":${'['.repeat(100)}${']'.repeat(100)}}`, /nested more than 16 levels/],
      [
        JSON.stringify({
          ...base,
          categories: [
            { id: 1, name: 'a' },
            { id: 1, name: 'b' },
          ],
          annotations: [],
        }),
        /category id 1 appears twice/,
      ],
      [JSON.stringify({ ...base, categories: [{ id: 1 }], annotations: [] }), /categories\[0\] needs/],
    ];
    for (const [input, msg] of cases) {
      const r = importCoco(input, 'bad.json');
      expect(r.files[0].status).toBe('refused');
      expect(r.files[0].message).toMatch(msg);
      expect(r.files[0].message).toContain('bad.json');
      expect(r.set.images).toEqual([]);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a file over the size limit before decoding it', () => {
    const big = new Uint8Array(2000).fill(0x20);
    const r = importCoco(big, 'huge.json', { limits: { maxBytes: 1000, maxDepth: 16 } });
    expect(r.files[0].status).toBe('refused');
    expect(r.files[0].message).toMatch(/huge\.json is 2 KB; the limit is 1000 bytes/);
  });

  it('reads UTF-8 bytes with a byte-order mark', () => {
    const bytes = new TextEncoder().encode('\ufeff' + withAnns([{ id: 1, image_id: 1, category_id: 7, bbox: [10, 10, 20, 20] }]));
    const r = importCoco(bytes, 'bom.json');
    expect(r.files[0].status).toBe('ok');
    expect(r.set.images[0].boxes).toHaveLength(1);
  });

  it('keeps crowd boxes as crowd', () => {
    const r = importCoco(withAnns([{ id: 1, image_id: 1, category_id: 7, bbox: [10, 10, 20, 20], iscrowd: 1 }]), 'c.json');
    expect(r.set.images[0].boxes[0].crowd).toBe(true);
    expect(JSON.parse(exportCoco(r.set)).annotations[0].iscrowd).toBe(1);
  });

  it('lists at most 5,000 issues per file and counts the rest', () => {
    const anns = Array.from({ length: 5003 }, (_, i) => ({ id: i + 1, image_id: 1, category_id: 7, bbox: [1, 1, 0, 0] }));
    const r = importCoco(withAnns(anns), 'many.json');
    expect(r.files[0].issues).toHaveLength(5000);
    expect(r.files[0].issuesNotListed).toBe(3);
  });
});

describe('YOLO', () => {
  const images = SET.images.map(({ image, width, height }) => ({ name: image, width, height }));

  it('round-trips export → import within rounding (classes.txt and data.yaml agree)', () => {
    const files = exportYolo(SET);
    expect(files.map((f) => f.path)).toEqual(['labels/a.txt', 'labels/sub/b.txt', 'labels/empty.txt', 'classes.txt', 'data.yaml']);
    const r = importYolo(files, images, { time: T });
    expect(r.files.every((f) => f.status === 'ok')).toBe(true);
    expectSameBoxes(r.set, SET, 1e-5);
  });

  it('pairs images/… with labels/… and falls back to a unique stem', () => {
    expect(yoloLabelKey('data/images/train/x.jpg')).toBe('data/labels/train/x');
    expect(yoloLabelKey('x.jpg')).toBe('labels/x');
    const r = importYolo(
      [
        { path: 'classes.txt', data: 'a\n' },
        { path: 'data/labels/train/x.txt', data: '0 0.5 0.5 0.2 0.2\n' },
        { path: 'elsewhere/y.txt', data: '0 0.5 0.5 0.2 0.2\n' },
      ],
      [
        { name: 'data/images/train/x.jpg', width: 10, height: 10 },
        { name: 'pics/y.png', width: 10, height: 10 },
      ],
    );
    expect(r.set.images.map((i) => i.boxes.length)).toEqual([1, 1]);
  });

  it('reports each bad line and keeps the good ones; CRLF and BOM read as usual', () => {
    const text =
      '\ufeff0 0.5 0.5 0.2 0.2\r\n3 0.5 0.5 0.1 0.1\r\n0 0.5 0.5\r\n0 0.1 0.1 0.2 0.1 0.3 0.3\r\n0 nan 0.5 0.1 0.1\r\n0 abc 0.5 0.1 0.1\r\n0 0.95 0.5 0.2 0.2\r\n0 0.5 0.5 0 0.1\r\n-1 0.5 0.5 0.1 0.1\r\n\r\n';
    const r = importYolo(
      [
        { path: 'classes.txt', data: 'a\r\nb\r\n' },
        { path: 'labels/x.txt', data: new TextEncoder().encode(text) },
      ],
      [{ name: 'x.jpg', width: 10, height: 10 }],
    );
    expect(r.set.classes).toEqual(['a', 'b']);
    expect(issues(r, 1)).toEqual([
      'unknown-class:dropped:line 2',
      'malformed-line:dropped:line 3',
      'malformed-line:dropped:line 4',
      'non-finite:dropped:line 5',
      'malformed-line:dropped:line 6',
      'out-of-bounds:clipped:line 7',
      'degenerate:dropped:line 8',
      'unknown-class:dropped:line 9',
    ]);
    expect(r.files[1].issues[2].message).toMatch(/segmentation polygon/);
    const boxes = r.set.images[0].boxes;
    expect(boxes).toHaveLength(2);
    expect(boxes[1].x).toBeCloseTo(0.85, 10);
    expect(boxes[1].w).toBeCloseTo(0.15, 10);
  });

  it('reports label files with no image and images with no label file', () => {
    const r = importYolo(
      [
        { path: 'classes.txt', data: 'a' },
        { path: 'labels/ghost.txt', data: '0 0.5 0.5 0.1 0.1' },
      ],
      [{ name: 'x.jpg', width: 10, height: 10 }],
    );
    expect(issues(r, 0)).toEqual(['no-label-file:kept:x.jpg']);
    expect(issues(r, 1)).toEqual(['unknown-image:skipped-file:']);
  });

  it('refuses a folder without a usable class list', () => {
    const lab = { path: 'labels/x.txt', data: '0 0.5 0.5 0.1 0.1' };
    const im = [{ name: 'x.jpg', width: 10, height: 10 }];
    expect(importYolo([lab], im).files[0]).toMatchObject({ status: 'refused', message: expect.stringMatching(/no class list/) });
    expect(importYolo([lab, { path: 'data.yaml', data: 'nc: 2\n' }], im).files[0]).toMatchObject({ status: 'refused', file: 'data.yaml' });
    expect(importYolo([lab, { path: 'classes.txt', data: 'a\na\n' }], im).files[0].message).toMatch(/names the class "a" twice/);
  });

  it('reads the data.yaml name forms', () => {
    expect(parseYamlNames('path: x\nnames: [cat, "dog", \'bird\']\nnc: 3')).toEqual(['cat', 'dog', 'bird']);
    expect(parseYamlNames('names:\n  - cat\n  - dog # comment\nnc: 2')).toEqual(['cat', 'dog']);
    expect(parseYamlNames('names:\n  0: cat\n  1: dog\n')).toEqual(['cat', 'dog']);
    expect(parseYamlNames('names: {0: cat, 1: dog}')).toEqual(['cat', 'dog']);
    expect(parseYamlNames('names:\n  0: cat\n  2: dog\n')).toBeNull();
    expect(parseYamlNames('nc: 2')).toBeNull();
  });
});

describe('Pascal VOC', () => {
  it('round-trips export → import within rounding', () => {
    const files = exportVoc(SET);
    expect(files.map((f) => f.path)).toEqual(['Annotations/a.xml', 'Annotations/sub/b.xml', 'Annotations/empty.xml']);
    const r = importVoc(files, { time: T, classes: SET.classes });
    expect(r.files.every((f) => f.status === 'ok')).toBe(true);
    expectSameBoxes(r.set, SET, 1e-4);
  });

  const doc = (objects: string, size = '<size><width>100</width><height>50</height></size>') =>
    `<?xml version="1.0"?>\r\n<annotation>\r\n<filename>a.jpg</filename>${size}${objects}</annotation>`;
  const obj = (name: string, b: [string, string, string, string]) =>
    `<object><name>${name}</name><bndbox><xmin>${b[0]}</xmin><ymin>${b[1]}</ymin><xmax>${b[2]}</xmax><ymax>${b[3]}</ymax></bndbox></object>`;

  it('reports bad objects per box', () => {
    const xml = doc(
      obj('cat', ['11', '11', '31', '21']) +
        obj('cat', ['91', '41', '121', '61']) +
        obj('cat', ['31', '11', '11', '21']) +
        obj('cat', ['x', '11', '31', '21']) +
        obj('cow', ['11', '11', '31', '21']) +
        '<object><name>cat</name></object><object><bndbox/></object>',
    );
    const r = importVoc([{ path: 'a.xml', data: new TextEncoder().encode('\ufeff' + xml) }], { classes: ['cat'] });
    expect(issues(r)).toEqual([
      'out-of-bounds:clipped:2',
      'degenerate:dropped:3',
      'non-finite:dropped:4',
      'unknown-class:dropped:5',
      'missing-field:dropped:6',
      'missing-field:dropped:7',
    ]);
    const b = r.set.images[0].boxes[0];
    expect(b.label).toBe('cat');
    [b.x, b.y, b.w, b.h].forEach((v, i) => expect(v).toBeCloseTo([0.1, 0.2, 0.2, 0.2][i], 12));
  });

  it('refuses hostile or unreadable files, naming each, and keeps reading the others', () => {
    const bad: Array<[string, RegExp]> = [
      ['<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><annotation/>', /DOCTYPE/],
      [`<!ENTITY xxe SYSTEM "file:///etc/passwd"><annotation/>`, /ENTITY/],
      [doc('<object><name>&xxe;</name></object>'), /entity &xxe;/],
      [`${'<a>'.repeat(40)}${'</a>'.repeat(40)}`, /nested more than 32/],
      ['<annotation><filename>a.jpg</filename>', /ends before <annotation> is closed/],
      ['<annotation><b></c></annotation>', /closes <c>/],
      ['<voc/>', /root element is <voc>/],
      [doc(''.padEnd(10), ''), /no positive <size>/],
      ['<annotation><size><width>1</width><height>1</height></size></annotation>', /no <filename>/],
      ['', /no root element/],
    ];
    const files = bad.map(([data], i) => ({ path: `bad${i}.xml`, data }));
    files.push({ path: 'good.xml', data: doc(obj('cat', ['11', '11', '31', '21'])) });
    const r = importVoc(files);
    bad.forEach(([, msg], i) => {
      expect(r.files[i].status).toBe('refused');
      expect(r.files[i].message).toMatch(msg);
      expect(r.files[i].message).toContain(`bad${i}.xml`);
    });
    expect(r.files.at(-1)!.status).toBe('ok');
    expect(r.set.images).toHaveLength(1);
  });

  it('refuses a file over the size limit and a second file for the same image', () => {
    const r = importVoc([{ path: 'big.xml', data: new Uint8Array(5 * 1024 * 1024) }]);
    expect(r.files[0]).toMatchObject({ status: 'refused', message: expect.stringMatching(/big\.xml is larger/) });
    const one = doc(obj('cat', ['11', '11', '31', '21']));
    const r2 = importVoc([
      { path: 'a.xml', data: one },
      { path: 'a2.xml', data: one },
    ]);
    expect(issues(r2, 1)).toEqual(['duplicate-id:skipped-file:a.jpg']);
    expect(r2.set.images[0].boxes).toHaveLength(1);
  });

  it('the XML reader decodes the five entities and numeric references, and nothing else', () => {
    const el = parseXml('<r a="&lt;&#x41;&#66;">x &amp; y &quot;&apos;&gt; <![CDATA[<raw&>]]><!-- c --><e/></r>', 't');
    expect(el.attrs.get('a')).toBe('<AB');
    expect(el.text).toBe(`x & y "'> <raw&>`);
    expect(el.children.map((c) => c.name)).toEqual(['e']);
    expect(() => parseXml('<r>a & b</r>', 't')).toThrow(XmlError);
    expect(() => parseXml('<r>&#0;</r>', 't')).toThrow(/invalid character reference/);
    expect(() => parseXml('<r __proto__="1" />', 't').attrs.get('__proto__')).not.toThrow();
    expect(() => parseXml('<r/><s/>', 't')).toThrow(/more than one root/);
    expect(() => parseXml('<r>' + '<e/>'.repeat(20) + '</r>', 't', { maxBytes: 1e6, maxDepth: 8, maxElements: 10 })).toThrow(
      /more than 10 elements/,
    );
  });
});
