// The kit's README.md and requirements.txt: commands for one machine, several GPUs and several nodes.
import type { KitJob } from './job';

/** What the kit's Python was tested with (Debian bookworm's python3-torch and python3-numpy). */
export const KIT_REQUIREMENTS = 'torch==1.13.1\nnumpy==1.24.2\n';

function scheduleText(job: KitJob): string {
  const hp = job.hyperparameters;
  if (!hp.earlyStoppingPatience) return 'No early stopping: every epoch runs and the last epoch is kept.';
  const plateau = hp.reduceOnPlateau
    ? `; the learning rate is multiplied by ${hp.reduceOnPlateau.factor} after every ${hp.reduceOnPlateau.patience} epochs without improvement (not below ${hp.reduceOnPlateau.minLearningRate})`
    : '';
  return `Early stopping after ${hp.earlyStoppingPatience} epochs without a lower validation loss${plateau}; ${hp.keepBestEpoch ? "the best epoch's weights are kept" : 'the last epoch is kept'}, as in the app.`;
}

function sourceText(job: KitJob): string {
  const s = job.source;
  if (s?.kind === 'pipeline-train-step') {
    const from =
      s.settingsFrom === 'trained-run'
        ? 'the settings its training run used'
        : s.settingsFrom === 'tune-base-settings'
          ? 'the base settings of its tuning study (the kit does not tune)'
          : 'its settings';
    return `\nSettings: train step \`${s.stepId}\` of run #${s.runNumber} of the pipeline “${s.pipelineName}”, ${from}.`;
  }
  if (s?.kind === 'pipeline-definition') return `\nSettings: the train step of the pipeline “${s.pipelineName}” as it is now.`;
  return s?.kind === 'defaults' ? "\nSettings: the app's defaults (no pipeline made this dataset version)." : '';
}

export function kitReadme(job: KitJob): string {
  const c = job.dataset.counts;
  return `# Trainyard training kit: ${job.project.name}, dataset v${job.dataset.number}

Job \`${job.jobId}\`: ${job.architecture.kind} on ${c.train} train / ${c.val} validation / ${c.test} test images,
${job.classes.length} classes, ${job.preprocess.inputSize}x${job.preprocess.inputSize}x${job.preprocess.channels},
${job.hyperparameters.epochs} epochs, batch ${job.hyperparameters.batchSize}, ${job.hyperparameters.optimizer} at ${job.hyperparameters.learningRate}, seed ${job.seed}.
${scheduleText(job)}${sourceText(job)}

## Contents
- \`job.json\`: everything the app would train with (checked before training, and again by the app on import).
- \`data/{train,val,test}_x.npy\`: the exact model inputs, uint8 \`[N, H, W, C]\` (divide by 255);
  \`*_y.npy\`: int32 class indices into \`job.json\` \`classes\`; \`*_ids.txt\`: the image ids (SHA-256), one a line.
- \`images/{train,val,test}/<class>/<file>\`: the original images, for your own pipeline.
- \`init/weights.bin\`: the app's seeded initial weights (TF.js layout), so a run starts where the app's would.
- \`trainyard_kit/\`: the app's architectures (layer for layer), augmentations and the TF.js/PyTorch converter.
- \`train.py\`: the training script.

## Install
\`\`\`sh
python3 -m pip install -r requirements.txt      # or Debian: apt-get install python3-torch python3-numpy
\`\`\`
Tested with PyTorch 1.13.1 and NumPy 1.24.2 (Debian 12); PyTorch 2.x works the same way.

## One machine
\`\`\`sh
python3 train.py                        # one process: the GPU if there is one, else the CPU
python3 train.py --device cpu --threads 4
torchrun --nproc_per_node=2 train.py    # two processes on the CPU (gloo)
\`\`\`
With Debian 12's PyTorch 1.13 on Python 3.11, torchrun needs \`--redirects 1 --tee 1\` (its default
\`--redirects 0\` hits a Python 3.11 enum change in torch 1.13), e.g.
\`python3 -m torch.distributed.run --redirects 1 --tee 1 --nproc_per_node=2 train.py\`.

## Several GPUs on one machine
\`\`\`sh
torchrun --nproc_per_node=4 train.py    # one process per GPU (nccl); the batch of ${job.hyperparameters.batchSize} is split between them
\`\`\`

## Several nodes
Run the same command on every node, with the node's rank, pointing at the first node:
\`\`\`sh
torchrun --nnodes=2 --node_rank=0 --nproc_per_node=4 --master_addr=10.0.0.1 --master_port=29500 train.py   # node 0
torchrun --nnodes=2 --node_rank=1 --nproc_per_node=4 --master_addr=10.0.0.1 --master_port=29500 train.py   # node 1
\`\`\`
Every node needs this folder (a shared file system, or a copy). SLURM: \`srun torchrun --nnodes=$SLURM_NNODES
--node_rank=$SLURM_NODEID ...\`; Kubernetes' PyTorchJob sets these variables itself (\`torchrun train.py\`).

## Options
\`--epochs N\`, \`--batch-size N\` override job.json; \`--limit-train N\` trains on a seeded subset;
\`--resume\` continues from \`out/checkpoint.pt\` (written after every epoch); \`--init torch\` draws new
initial weights with the same scheme instead of the app's; \`--no-onnx\` skips the ONNX file.

## Results: \`out/\`
\`model.json\` + \`weights.bin\` + \`metadata.json\` (TF.js layers model), \`model.onnx\` (input
\`[N, H, W, C]\` floats in 0..1, output probabilities), \`metrics.json\` (test accuracy, per-epoch
history, images/s, devices), \`train-log.jsonl\`, \`checkpoint.pt\` and a copy of \`job.json\`.

Bring it back: in Trainyard, Pipeline stage, Dataset versions, "Import trained kit result", and pick
\`out/\` (the folder, or a zip of it). The app checks it against this job and dataset version, then
measures it on the dataset version's frozen test split.
`;
}
