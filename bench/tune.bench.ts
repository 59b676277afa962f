// npm run bench:tune — a 12-trial study on the Digits demo with random search, Bayesian search
// (GP + expected improvement) and Bayesian search with ASHA pruning, run by the app's own study
// runner (suggestions, pruning, budget) with trials trained by the app's MLP builder and training
// loop in Node (TF.js CPU backend). Prints each one's best validation accuracy and total epochs
// trained, and writes bench/results/tune.json.
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDigitsDemo } from './lib/digits-demo';
import { fit, type ArraySet } from './lib/array-trainer';
import { mulberry32, shuffleInPlace } from '../src/lib/ml/random';
import { runStudy, type TrialResult } from '../src/lib/tune/runner';
import { bestTrial, type StudyPlan, type TrialSummary } from '../src/lib/tune/study';
import type { PrunerConfig } from '../src/lib/tune/pruners';
import type { SearchSpace } from '../src/lib/tune/space';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TRIALS = 12;
const MAX_EPOCHS = 6;

const SPACE: SearchSpace = [
  { name: 'learningRate', type: 'float', low: 1e-4, high: 1e-1, log: true },
  { name: 'batchSize', type: 'choice', values: [32, 64, 128] },
  { name: 'optimizer', type: 'choice', values: ['adam', 'sgd', 'rmsprop'] },
  { name: 'momentum', type: 'float', low: 0.5, high: 0.99, condition: { param: 'optimizer', in: ['sgd'] } },
  { name: 'dropout', type: 'float', low: 0, high: 0.5 },
  { name: 'hiddenUnits', type: 'int', low: 32, high: 256, log: true },
];

interface Outcome {
  name: string;
  bestValAcc: number;
  bestTrial: number | null;
  epochs: number;
  pruned: number;
  failed: number;
  seconds: number;
  trials: TrialSummary[];
}

async function study(
  name: string,
  set: ArraySet,
  train: number[],
  val: number[],
  strategy: StudyPlan['strategy'],
  pruner: PrunerConfig,
): Promise<Outcome> {
  const plan: StudyPlan = { space: SPACE, strategy, objective: { metric: 'valAcc' }, maxTrials: TRIALS, maxMinutes: null, seed: 7, pruner };
  const trials: TrialSummary[] = [];
  let epochs = 0;
  const t0 = performance.now();
  await runStudy(plan, {
    loadTrials: async () => trials.slice(),
    elapsedMs: () => performance.now() - t0,
    isStopped: () => false,
    runTrial: async (number, params, report): Promise<TrialResult> => {
      const values: number[] = [];
      let pruned: string | null = null;
      const { model, outcome } = await fit(set, train, {
        architecture: {
          kind: 'mlp',
          inputSize: 28,
          channels: 1,
          numClasses: 10,
          dropout: Number(params.dropout),
          hidden: [Number(params.hiddenUnits)],
        },
        epochs: MAX_EPOCHS,
        batchSize: Number(params.batchSize),
        learningRate: Number(params.learningRate),
        optimizer: params.optimizer as 'adam' | 'sgd' | 'rmsprop',
        momentum: params.momentum === undefined ? undefined : Number(params.momentum),
        seed: plan.seed + number,
        validation: val,
        onEpoch: (info) => {
          epochs++;
          values.push(info.valAcc ?? 0);
          pruned = report(info.valAcc ?? 0);
          return pruned;
        },
      });
      model.dispose();
      const result: TrialResult =
        outcome.status === 'diverged'
          ? { state: 'failed', values, value: null, message: outcome.reason ?? 'diverged' }
          : pruned !== null
            ? { state: 'pruned', values, value: values.at(-1) ?? null, message: pruned }
            : { state: 'complete', values, value: values.at(-1) ?? null, message: null };
      trials.push({ number, params, state: result.state, values, value: result.value });
      const p = Object.entries(params)
        .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(3)) : v}`)
        .join(' ');
      console.log(
        `  ${name} #${String(number).padStart(2)} ${result.state.padEnd(8)} epochs ${values.length} val ${values.map((v) => (v * 100).toFixed(1)).join('/')}  ${p}`,
      );
      return result;
    },
  });
  const best = bestTrial(plan, trials);
  return {
    name,
    bestValAcc: best?.value ?? 0,
    bestTrial: best?.number ?? null,
    epochs,
    pruned: trials.filter((t) => t.state === 'pruned').length,
    failed: trials.filter((t) => t.state === 'failed').length,
    seconds: (performance.now() - t0) / 1000,
    trials,
  };
}

async function main() {
  await tf.setBackend('cpu');
  const demo = await loadDigitsDemo();
  const set: ArraySet = { x: demo.x, y: demo.y, shape: [28, 28, 1], numClasses: 10 };
  // The app's split proportions: 70% train, 15% validation (15% test is not used by tuning).
  const order = shuffleInPlace(
    demo.y.map((_, i) => i),
    mulberry32(99),
  );
  const train = order.slice(0, 3500);
  const val = order.slice(3500, 4250);
  const results: Outcome[] = [];
  for (const [name, strategy, pruner] of [
    ['random', 'random', { kind: 'none' }],
    ['bayes', 'bayes', { kind: 'none' }],
    ['bayes+asha', 'bayes', { kind: 'asha', minEpochs: 1, reductionFactor: 3 }],
  ] as Array<[string, StudyPlan['strategy'], PrunerConfig]>) {
    console.log(`${name}:`);
    results.push(await study(name, set, train, val, strategy, pruner));
  }
  console.log('\nstudy        best val acc  epochs  pruned  failed  time');
  for (const r of results) {
    console.log(
      `${r.name.padEnd(12)} ${(r.bestValAcc * 100).toFixed(2).padStart(11)}%  ${String(r.epochs).padStart(6)}  ${String(r.pruned).padStart(6)}  ${String(r.failed).padStart(6)}  ${r.seconds.toFixed(0)} s`,
    );
  }
  const [, bayes, pruned] = results;
  const epochShare = pruned.epochs / bayes.epochs;
  const gap = (bayes.bestValAcc - pruned.bestValAcc) * 100;
  console.log(
    `\nPruning used ${(epochShare * 100).toFixed(0)}% of the unpruned Bayesian study's epochs (goal: at most 50%), best accuracy ${gap >= 0 ? `${gap.toFixed(2)} points lower` : `${(-gap).toFixed(2)} points higher`} (goal: within 0.5).`,
  );
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench', 'results', 'tune.json'),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, tfjsBackend: 'cpu (Node)' },
        setup: { trials: TRIALS, maxEpochs: MAX_EPOCHS, space: SPACE, model: 'MLP on 28x28 digits', train: train.length, val: val.length },
        results,
        epochShare,
        gapPoints: gap,
      },
      null,
      2,
    ),
  );
}

await main();
