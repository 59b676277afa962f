// The README.md model card that ships inside every exported model zip: YAML front matter (the
// fields model hubs read), then use, intended use and limitations written from the version's own
// per-class recall and calibration, metrics and training settings.
export interface CardMeta {
  labels: string[];
  preprocess: { inputSize: number; channels: number; resize: string };
  hyperparameters?: object;
  metrics?: {
    accuracy: number;
    macroF1?: number;
    ece?: number;
    confusion?: number[][];
    perClass?: Array<{ precision: number; recall: number; f1: number; support: number }>;
    calibration?: Array<{ lo: number; hi: number; count: number; accuracy: number; confidence: number }>;
  };
  normalization?: string;
  architecture?: { kind: string };
  /** The dataset version the model was trained on, where the run recorded one. */
  datasetVersionId?: string;
  backbone?: { name: string };
  splitCounts?: { train: number; val: number; test: number };
  backend?: string;
  tfjsVersion?: string;
  datasetHash?: string;
}

/** What a format's README says on top of the card: its name, files and how to run it. */
export interface CardFormat {
  name: string;
  tags: string[];
  library: string;
  /** Markdown lines for the "Use" section. */
  usage: string[];
}

const pct = (x: number | undefined) => (typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : 'n/a');
const cell = (s: string) => s.replace(/[|\\`*_<>]/g, (c) => `\\${c}`);

const yamlString = (v: string) => JSON.stringify(v);

function frontMatter(number: number, meta: CardMeta, format: CardFormat | undefined): string[] {
  const tags = ['image-classification', 'trainyard', ...(format?.tags ?? ['tfjs'])];
  const lines = [
    '---',
    `library_name: ${yamlString(format?.library ?? 'tensorflow.js')}`,
    '# Licence of the model and its training images: set this before sharing (e.g. mit, cc-by-4.0).',
    'license: other',
    'pipeline_tag: image-classification',
    'tags:',
    ...[...new Set(tags)].map((t) => `  - ${yamlString(t)}`),
    `model_name: ${yamlString(`trainyard-v${number}`)}`,
    `dataset_version: ${yamlString(meta.datasetVersionId ?? meta.datasetHash ?? 'unknown')}`,
    'labels:',
    ...meta.labels.map((l) => `  - ${yamlString(l)}`),
  ];
  const m = meta.metrics;
  if (m) {
    lines.push('metrics:');
    lines.push(`  - { name: accuracy, value: ${m.accuracy.toFixed(4)}, split: test }`);
    if (typeof m.macroF1 === 'number') lines.push(`  - { name: macro_f1, value: ${m.macroF1.toFixed(4)}, split: test }`);
    if (typeof m.ece === 'number') lines.push(`  - { name: expected_calibration_error, value: ${m.ece.toFixed(4)}, split: test }`);
  }
  lines.push('---', '');
  return lines;
}

/** Intended use and limitations, from this version's own test-split numbers. */
function useAndLimits(meta: CardMeta): string[] {
  const input = `${meta.preprocess.inputSize}×${meta.preprocess.inputSize} ${meta.preprocess.channels === 1 ? 'grayscale' : 'colour'}`;
  const lines = [
    '## Intended use',
    '',
    `Sorting images into exactly these ${meta.labels.length} classes: ${meta.labels.map(cell).join(', ')}. The model always answers with one of them; it cannot say "none of these", so images of anything else get a confident-looking wrong class. It sees a ${input} image, so details smaller than a few pixels at that size are lost. Use it as an assistant whose answers a person can check, not for decisions about people.`,
    '',
    '## Limitations',
    '',
  ];
  const m = meta.metrics;
  if (!m) {
    lines.push(
      'This version carries no test-split evaluation (it was imported), so its accuracy on your images is unknown: measure it before use.',
      '',
    );
    return lines;
  }
  const n = m.perClass?.reduce((a, c) => a + c.support, 0);
  lines.push(
    `- Measured on ${n ?? 'the'} held-out test images${meta.splitCounts ? ` (trained on ${meta.splitCounts.train})` : ''}, taken from the same collection as the training images: expect lower accuracy on images from other cameras, lighting or backgrounds.`,
  );
  if (m.perClass?.length) {
    const ranked = m.perClass.map((c, i) => ({ ...c, label: meta.labels[i] ?? String(i) })).sort((a, b) => a.recall - b.recall);
    const weak = ranked.filter((c) => c.recall < m.accuracy - 0.02 || c.recall < 0.9).slice(0, 3);
    if (weak.length) {
      lines.push(
        `- Weakest classes (recall: the share of that class's test images it gets right): ${weak.map((c) => `${cell(c.label)} ${pct(c.recall)} of ${c.support}`).join(', ')}.`,
      );
      if (m.confusion) {
        for (const c of weak) {
          const i = meta.labels.indexOf(c.label);
          const row = m.confusion[i];
          if (!row) continue;
          let j = -1;
          row.forEach((v, k) => {
            if (k !== i && v > 0 && (j < 0 || v > row[j])) j = k;
          });
          if (j >= 0)
            lines.push(`  - ${cell(c.label)} is most often mistaken for ${cell(meta.labels[j] ?? String(j))} (${row[j]} of ${c.support}).`);
        }
      }
    } else lines.push(`- Every class has a test recall of at least ${pct(ranked[0].recall)}.`);
    const small = ranked.filter((c) => c.support < 20);
    if (small.length)
      lines.push(`- Few test images for ${small.map((c) => `${cell(c.label)} (${c.support})`).join(', ')}: their figures are rough.`);
  }
  if (typeof m.ece === 'number') {
    const over = m.calibration?.filter((b) => b.count >= 5 && b.confidence - b.accuracy > 0.05) ?? [];
    const verdict =
      m.ece <= 0.03
        ? 'well calibrated: its confidence is close to how often it is right'
        : m.ece <= 0.1
          ? 'roughly calibrated'
          : 'poorly calibrated: do not read its confidence as a probability';
    lines.push(`- Confidence: expected calibration error ${pct(m.ece)}, ${verdict}.`);
    for (const b of over.slice(0, 2))
      lines.push(
        `  - When it says ${pct(b.lo)}–${pct(b.hi)}, it is right ${pct(b.accuracy)} of the time (${b.count} test images): overconfident there.`,
      );
  }
  lines.push('');
  return lines;
}

export function modelCard(number: number, meta: CardMeta, format?: CardFormat): string {
  const range = meta.normalization === '-1..1' ? '-1..1' : '0..1';
  const lines = [
    ...frontMatter(number, meta, format),
    `# Trainyard model v${number}${format ? ` (${format.name})` : ''}`,
    '',
    `An image classifier trained in the browser with Trainyard${meta.architecture ? ` (${meta.architecture.kind}${meta.backbone ? ` on ${cell(meta.backbone.name)}` : ''})` : ''}.`,
    '',
    '## Use',
    ...(format?.usage ?? [
      '```js',
      "const model = await tf.loadLayersModel('model.json');",
      `// input: [batch, ${meta.preprocess.inputSize}, ${meta.preprocess.inputSize}, ${meta.preprocess.channels}], pixels scaled to ${range}`,
      '```',
    ]),
    '',
    `Classes (output order): ${meta.labels.map(cell).join(', ')}`,
    `Preprocessing: resize ${meta.preprocess.resize} to ${meta.preprocess.inputSize}x${meta.preprocess.inputSize} with a triangle (bilinear, antialiased) filter, ${meta.preprocess.channels === 1 ? 'grayscale by BT.601 luma round(0.299 R + 0.587 G + 0.114 B)' : 'RGB'}, transparent pixels on the background colour, values scaled to ${range}. \`preprocess.js\` does exactly this.`,
    '',
    ...useAndLimits(meta),
  ];
  if (meta.metrics) {
    const m = meta.metrics;
    lines.push(
      '## Metrics (frozen test split)',
      '',
      `- Accuracy: ${pct(m.accuracy)}`,
      `- Macro F1: ${pct(m.macroF1)}`,
      `- Expected calibration error: ${pct(m.ece)}`,
    );
    if (meta.splitCounts)
      lines.push(`- Split sizes: train ${meta.splitCounts.train}, validation ${meta.splitCounts.val}, test ${meta.splitCounts.test}`);
    if (m.perClass) {
      lines.push('', '| class | precision | recall | F1 | support |', '| --- | --- | --- | --- | --- |');
      m.perClass.forEach((c, i) =>
        lines.push(`| ${cell(meta.labels[i] ?? String(i))} | ${pct(c.precision)} | ${pct(c.recall)} | ${pct(c.f1)} | ${c.support} |`),
      );
    }
    if (m.confusion) {
      lines.push(
        '',
        '### Confusion matrix (rows: true class, columns: predicted)',
        '',
        `| | ${meta.labels.map(cell).join(' | ')} |`,
        `| --- |${meta.labels.map(() => ' --- |').join('')}`,
      );
      m.confusion.forEach((row, i) => lines.push(`| **${cell(meta.labels[i] ?? String(i))}** | ${row.join(' | ')} |`));
    }
    lines.push('');
  }
  if (meta.hyperparameters) lines.push('## Training settings', '', '```json', JSON.stringify(meta.hyperparameters, null, 2), '```', '');
  lines.push(
    `Trained on: ${meta.backend ?? 'unknown backend'} · TF.js ${meta.tfjsVersion ?? ''} · dataset hash ${meta.datasetHash ?? 'n/a'}`,
    '',
  );
  return lines.join('\n');
}
