#!/usr/bin/env python3
"""Trains the job in job.json on one CPU, one GPU, or many processes with torchrun (DDP: gloo on
CPUs, nccl on GPUs, a DistributedSampler over the training split), checkpoints every epoch,
resumes, logs every epoch, and writes out/: model.json + weights.bin + metadata.json (TF.js layers,
for the app's import), model.onnx, metrics.json and a copy of job.json.

    python3 train.py                                  # one process (GPU if there is one)
    torchrun --nproc_per_node=4 train.py              # four processes on this machine
See README.md for several nodes and every option."""
import argparse
import copy
import json
import os
import shutil
import sys
import time
import warnings

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from trainyard_kit import augment, convert, models  # noqa: E402
from trainyard_kit.schedule import EarlyStopping  # noqa: E402
from trainyard_kit.job import JobError, check_files, load_job  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--kit', default=HERE, help='the unpacked kit (job.json, data/); default: this folder')
    p.add_argument('--out', default=None, help='where to write results (default: <kit>/out)')
    p.add_argument('--epochs', type=int, default=None, help="override job.json's epochs")
    p.add_argument('--batch-size', type=int, default=None, help="override job.json's global batch size")
    p.add_argument('--limit-train', type=int, default=None, help='train on a seeded subset of this many training images')
    p.add_argument('--device', choices=['auto', 'cpu', 'cuda'], default='auto')
    p.add_argument('--threads', type=int, default=None, help='CPU threads per process (torch.set_num_threads)')
    p.add_argument('--resume', action='store_true', help='continue from out/checkpoint.pt')
    p.add_argument('--init', choices=['app', 'torch'], default='app',
                   help="start from the app's own seeded initial weights (init/weights.bin), or draw new ones with the same scheme")
    p.add_argument('--no-onnx', action='store_true', help='skip the ONNX export')
    return p.parse_args(argv)


def log(rank, msg):
    if rank == 0:
        print(msg, flush=True)


class TfjsRMSprop(torch.optim.Optimizer):
    """TF.js's RMSprop (decay 0.9, no momentum, epsilon 1e-7): w -= lr * g / sqrt(ms + eps). PyTorch's
    adds eps after the square root (g / (sqrt(ms) + eps)), which takes visibly larger steps where
    gradients are small."""

    def __init__(self, params, lr, decay=0.9, eps=1e-7):
        super().__init__(params, {'lr': lr, 'decay': decay, 'eps': eps})

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                state = self.state[p]
                if 'ms' not in state:
                    state['ms'] = torch.zeros_like(p)
                ms = state['ms']
                ms.mul_(group['decay']).addcmul_(p.grad, p.grad, value=1 - group['decay'])
                p.addcdiv_(p.grad, (ms + group['eps']).sqrt_(), value=-group['lr'])


def make_optimizer(params, hp):
    # TF.js's optimizers: Adam with epsilon 1e-7; RMSprop as TF.js computes it; SGD = classical momentum.
    if hp['optimizer'] == 'sgd':
        return torch.optim.SGD(params, lr=hp['learningRate'], momentum=hp['momentum'])
    if hp['optimizer'] == 'rmsprop':
        return TfjsRMSprop(params, lr=hp['learningRate'])
    return torch.optim.Adam(params, lr=hp['learningRate'], eps=1e-7)


def train_step(model, optimizer, xb, yb):
    """One step, as the app's trainLoop takes it: mean cross-entropy of the softmax, one optimiser update."""
    logits = model(xb)
    loss = F.cross_entropy(logits, yb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return logits, loss


def predict(net, x, device, batch=256):
    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i:i + batch].astype(np.float32) / 255.0).to(device)
            out.append(F.softmax(net(xb), dim=1).cpu())
    return torch.cat(out) if out else torch.zeros(0, net.arch['numClasses'])


def main(argv=None):
    args = parse_args(argv)
    kit = os.path.abspath(args.kit)
    out = os.path.abspath(args.out or os.path.join(kit, 'out'))
    world = int(os.environ.get('WORLD_SIZE', '1'))
    rank = int(os.environ.get('RANK', '0'))
    local_rank = int(os.environ.get('LOCAL_RANK', '0'))
    use_cuda = args.device == 'cuda' or (args.device == 'auto' and torch.cuda.is_available())
    if use_cuda:
        torch.cuda.set_device(local_rank)
        device = torch.device('cuda', local_rank)
    else:
        device = torch.device('cpu')
    if args.threads:
        torch.set_num_threads(args.threads)
    distributed = world > 1
    if distributed:
        dist.init_process_group('nccl' if use_cuda else 'gloo')

    try:
        job = load_job(os.path.join(kit, 'job.json'))
        if rank == 0:
            check_files(job, kit)
    except JobError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        if distributed:
            dist.destroy_process_group()
        return 2
    if distributed:
        dist.barrier()
    os.makedirs(out, exist_ok=True)

    hp = dict(job['hyperparameters'])
    if args.epochs:
        hp['epochs'] = args.epochs
    if args.batch_size:
        hp['batchSize'] = args.batch_size
    seed = job['seed']
    data = os.path.join(kit, 'data')
    load = lambda name: np.load(os.path.join(data, name), allow_pickle=False)  # noqa: E731
    x_train, y_train = load('train_x.npy'), load('train_y.npy').astype(np.int64)
    x_val, y_val = load('val_x.npy'), load('val_y.npy').astype(np.int64)
    x_test, y_test = load('test_x.npy'), load('test_y.npy').astype(np.int64)
    if args.limit_train and args.limit_train < len(x_train):
        keep = np.sort(np.random.default_rng(seed).permutation(len(x_train))[:args.limit_train])
        x_train, y_train = x_train[keep], y_train[keep]

    net = models.build(job['architecture'])
    init_path = os.path.join(kit, 'init', 'weights.bin')
    if args.init == 'app' and os.path.isfile(init_path):
        with open(init_path, 'rb') as f:
            convert.load_tfjs(net, job['tfjs']['modelTopology'], job['tfjs']['weights'], f.read())
    else:
        net.init_like_tfjs(seed)
    torch.manual_seed(seed + rank)  # dropout masks differ per process, as per-batch masks do
    net.to(device)
    model = torch.nn.parallel.DistributedDataParallel(net, device_ids=[local_rank] if use_cuda else None) if distributed else net
    optimizer = make_optimizer(model.parameters(), hp)

    ckpt_path = os.path.join(out, 'checkpoint.pt')
    start, history, best, since_best = 0, [], float('inf'), 0
    # The app's schedule around early stopping (its train-runner): the rate is multiplied by
    # `factor` after every `patience` epochs without improvement, and the best epoch is kept.
    plateau = hp.get('reduceOnPlateau') if hp['earlyStoppingPatience'] else None
    keep_best = bool(hp.get('keepBestEpoch')) and hp['earlyStoppingPatience'] > 0
    best_epoch, best_state = None, None
    if args.resume and os.path.isfile(ckpt_path):
        ckpt = torch.load(ckpt_path, map_location=device)
        if ckpt['jobId'] != job['jobId']:
            print(f"error: {ckpt_path} belongs to another job ({ckpt['jobId']})", file=sys.stderr)
            return 2
        net.load_state_dict(ckpt['model'])
        optimizer.load_state_dict(ckpt['optimizer'])
        start, history, best, since_best = ckpt['epoch'], ckpt['history'], ckpt['best'], ckpt['sinceBest']
        best_epoch, best_state = ckpt.get('bestEpoch'), ckpt.get('bestState')
        if best_state is None and best_epoch == start:  # the best epoch was the checkpoint's own
            best_state = copy.deepcopy(ckpt['model'])
        log(rank, f"resumed from epoch {start}")

    per_rank = max(1, hp['batchSize'] // world)
    sampler = torch.utils.data.DistributedSampler(range(len(x_train)), num_replicas=world, rank=rank, shuffle=True, seed=seed)
    spec = job['augmentation']
    device_name = torch.cuda.get_device_name(device) if use_cuda else 'CPU'
    log(rank, f"PyTorch {torch.__version__}, {world} x {device_name}; {len(x_train)} train, {len(x_val)} val, {len(x_test)} test; "
              f"{job['architecture']['kind']}, batch {per_rank} x {world}, {hp['epochs']} epochs")
    train_start = time.time()
    images_seen = 0
    epoch = start
    for epoch in range(start, hp['epochs']):
        t0 = time.time()
        sampler.set_epoch(epoch)
        order = list(sampler)
        rng = np.random.default_rng([seed, epoch, rank])
        model.train()
        stats = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, count
        for i in range(0, len(order), per_rank):
            idx = np.array(order[i:i + per_rank])
            xb = torch.from_numpy(augment.augment_batch(x_train[idx], spec, rng)).to(device)
            yb = torch.from_numpy(y_train[idx]).to(device)
            logits, loss = train_step(model, optimizer, xb, yb)
            stats += torch.tensor([loss.item() * len(idx), (logits.argmax(1) == yb).sum().item(), len(idx)], dtype=torch.float64)
        if distributed:
            stats_dev = stats.to(device)
            dist.all_reduce(stats_dev)
            stats = stats_dev.cpu()
        seconds = time.time() - t0
        images_seen += int(stats[2])
        # [stop, learning rate]: rank 0 decides, every rank follows.
        control = torch.tensor([0.0, optimizer.param_groups[0]['lr']], dtype=torch.float64, device=device)
        if rank == 0:
            probs = predict(net, x_val, device)
            val_loss = float(F.nll_loss(torch.log(probs.clamp_min(1e-7)), torch.from_numpy(y_val)).item()) if len(y_val) else float('nan')
            val_acc = float((probs.argmax(1).numpy() == y_val).mean()) if len(y_val) else float('nan')
            entry = {'epoch': epoch + 1, 'loss': float(stats[0] / stats[2]), 'acc': float(stats[1] / stats[2]),
                     'valLoss': val_loss, 'valAcc': val_acc, 'seconds': round(seconds, 3), 'imagesPerSecond': round(float(stats[2]) / seconds, 1)}
            history.append(entry)
            print(json.dumps(entry), flush=True)
            with open(os.path.join(out, 'train-log.jsonl'), 'a') as f:
                f.write(json.dumps(entry) + '\n')
            schedule = EarlyStopping(hp['earlyStoppingPatience'], plateau, control[1].item(), best, since_best)
            improved, stop = schedule.update(val_loss if len(y_val) else entry['loss'])
            best, since_best = schedule.best, schedule.since_best
            if improved and keep_best:
                best_epoch, best_state = epoch + 1, copy.deepcopy(net.state_dict())
            if schedule.rate != control[1].item():
                print(f"learning rate {control[1].item():g} -> {schedule.rate:g} ({since_best} epochs without improvement)", flush=True)
                control[1] = schedule.rate
            if stop:
                print(f"early stop: no validation-loss improvement for {hp['earlyStoppingPatience']} epochs", flush=True)
                control[0] = 1
            tmp = ckpt_path + '.tmp'
            for group in optimizer.param_groups:
                group['lr'] = control[1].item()
            torch.save({'jobId': job['jobId'], 'epoch': epoch + 1, 'model': net.state_dict(), 'optimizer': optimizer.state_dict(),
                        'history': history, 'best': best, 'sinceBest': since_best,
                        'bestEpoch': best_epoch, 'bestState': best_state if best_epoch != epoch + 1 else None}, tmp)
            os.replace(tmp, ckpt_path)
        if distributed:
            dist.broadcast(control, 0)
        for group in optimizer.param_groups:
            group['lr'] = control[1].item()
        if control[0].item():
            epoch += 1
            break
    else:
        epoch = hp['epochs']
    train_seconds = time.time() - train_start

    code = 0
    if rank == 0:
        kept = None
        if keep_best and best_epoch is not None and best_epoch != epoch and best_state is not None:
            net.load_state_dict(best_state)
            kept = best_epoch
            print(f"kept epoch {best_epoch}'s weights (lowest validation loss)", flush=True)
        probs = predict(net, x_test, device)
        pred = probs.argmax(1).numpy()
        classes = job['classes']
        per_class = {c: float((pred[y_test == i] == i).mean()) if (y_test == i).any() else None for i, c in enumerate(classes)}
        trained_on = {'framework': 'PyTorch', 'version': torch.__version__, 'devices': world, 'device': device_name,
                      'backend': ('nccl' if use_cuda else 'gloo') if distributed else None}
        net.cpu().eval()
        convert.write_tfjs(out, net, job, {'datasetVersionId': job['dataset']['versionId'], 'projectId': job['project']['id'], 'trainedOn': trained_on})
        onnx_file, onnx_error = None, None
        if not args.no_onnx:
            try:
                export_onnx(net, job, os.path.join(out, 'model.onnx'))
                onnx_file = 'model.onnx'
            except Exception as err:  # the TF.js result stands on its own; say why ONNX is missing
                onnx_error = f"{type(err).__name__}: {err}"
                print(f"warning: ONNX export failed: {onnx_error}", file=sys.stderr, flush=True)
        metrics = {
            'jobId': job['jobId'], 'datasetVersionId': job['dataset']['versionId'], 'projectId': job['project']['id'],
            'testAccuracy': float((pred == y_test).mean()) if len(y_test) else None, 'testCount': int(len(y_test)),
            # Mean cross-entropy of the true class, probabilities clamped at 1e-7 (as the validation loss).
            'testLoss': float(F.nll_loss(torch.log(probs.clamp_min(1e-7)), torch.from_numpy(y_test)).item()) if len(y_test) else None,
            'keptEpoch': kept,
            'perClassRecall': per_class, 'epochs': epoch, 'trainCount': int(len(x_train)), 'history': history,
            'trainSeconds': round(train_seconds, 3), 'imagesPerSecond': round(images_seen / max(train_seconds, 1e-9), 1),
            'trainedOn': trained_on, 'onnx': onnx_file, 'onnxError': onnx_error,
        }
        with open(os.path.join(out, 'metrics.json'), 'w') as f:
            json.dump(metrics, f, indent=2)
        shutil.copyfile(os.path.join(kit, 'job.json'), os.path.join(out, 'job.json'))
        print(f"test accuracy {metrics['testAccuracy']:.4f} on {len(y_test)} images; results in {out}", flush=True)
    if distributed:
        dist.barrier()
        dist.destroy_process_group()
    return code


class _Probabilities(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return F.softmax(self.net(x), dim=1)


def export_onnx(net, job, path):
    pre = job['preprocess']
    dummy = torch.zeros(1, pre['inputSize'], pre['inputSize'], pre['channels'])
    with warnings.catch_warnings():
        # The input size is fixed per job: padding computed from it is rightly traced as constants.
        warnings.simplefilter('ignore')
        _export(net, dummy, path)


def _export(net, dummy, path):
    torch.onnx.export(_Probabilities(net).eval(), dummy, path, input_names=['input'], output_names=['probabilities'],
                      dynamic_axes={'input': {0: 'batch'}, 'probabilities': {0: 'batch'}}, opset_version=13)


if __name__ == '__main__':
    sys.exit(main())
