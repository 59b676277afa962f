// The README.md model card that ships inside every exported model zip.
interface CardMeta {
  labels: string[];
  preprocess: { inputSize: number; channels: number; resize: string };
  hyperparameters?: object;
  metrics?: {
    accuracy: number;
    macroF1?: number;
    ece?: number;
    confusion?: number[][];
    perClass?: Array<{ precision: number; recall: number; f1: number; support: number }>;
  };
  splitCounts?: { train: number; val: number; test: number };
  backend?: string;
  tfjsVersion?: string;
  datasetHash?: string;
}

const pct = (x: number | undefined) => (typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : 'n/a');
const cell = (s: string) => s.replace(/[|\\`*_<>]/g, (c) => `\\${c}`);

export function modelCard(number: number, meta: CardMeta): string {
  const lines = [
    `# Trainyard model v${number}`,
    '',
    'An image classifier trained in the browser with Trainyard (TensorFlow.js layers format).',
    '',
    '## Use',
    '```js',
    "const model = await tf.loadLayersModel('model.json');",
    `// input: [batch, ${meta.preprocess.inputSize}, ${meta.preprocess.inputSize}, ${meta.preprocess.channels}], pixels scaled to 0..1`,
    '```',
    '',
    `Classes (output order): ${meta.labels.map(cell).join(', ')}`,
    `Preprocessing: resize ${meta.preprocess.resize} to ${meta.preprocess.inputSize}x${meta.preprocess.inputSize}, ${meta.preprocess.channels === 1 ? 'grayscale' : 'RGB'}, transparent pixels on black.`,
    '',
  ];
  if (meta.metrics) {
    const m = meta.metrics;
    lines.push('## Metrics (frozen test split)', '', `- Accuracy: ${pct(m.accuracy)}`, `- Macro F1: ${pct(m.macroF1)}`, `- Expected calibration error: ${pct(m.ece)}`);
    if (meta.splitCounts) lines.push(`- Split sizes: train ${meta.splitCounts.train}, validation ${meta.splitCounts.val}, test ${meta.splitCounts.test}`);
    if (m.perClass) {
      lines.push('', '| class | precision | recall | F1 | support |', '| --- | --- | --- | --- | --- |');
      m.perClass.forEach((c, i) => lines.push(`| ${cell(meta.labels[i] ?? String(i))} | ${pct(c.precision)} | ${pct(c.recall)} | ${pct(c.f1)} | ${c.support} |`));
    }
    if (m.confusion) {
      lines.push('', '### Confusion matrix (rows: true class, columns: predicted)', '', `| | ${meta.labels.map(cell).join(' | ')} |`, `| --- |${meta.labels.map(() => ' --- |').join('')}`);
      m.confusion.forEach((row, i) => lines.push(`| **${cell(meta.labels[i] ?? String(i))}** | ${row.join(' | ')} |`));
    }
    lines.push('');
  }
  if (meta.hyperparameters) lines.push('## Training settings', '', '```json', JSON.stringify(meta.hyperparameters, null, 2), '```', '');
  lines.push(`Trained on: ${meta.backend ?? 'unknown backend'} · TF.js ${meta.tfjsVersion ?? ''} · dataset hash ${meta.datasetHash ?? 'n/a'}`, '');
  return lines.join('\n');
}
