"""job.json: what to train, exactly as the app would. Checked here before anything runs, with the
same rules as the app's validateKitJob (src/lib/kit/job.ts), which checks it again on import."""
import hashlib
import json
import os

KIND = 'trainyard-training-kit'
FORMAT_VERSION = 1
AUGMENT_LIMITS = {'hflip': (0, 1), 'vflip': (0, 1), 'rotation': (0, 180), 'resizedCrop': (0, 0.9), 'brightness': (0, 1),
                  'contrast': (0, 1), 'saturation': (0, 1), 'noise': (0, 0.5), 'cutout': (0, 0.75)}


class JobError(ValueError):
    pass


def _num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x and abs(x) != float('inf')


def _int(x, lo, hi):
    return isinstance(x, int) and not isinstance(x, bool) and lo <= x <= hi


def validate_job(job):
    errors = []
    if not isinstance(job, dict):
        raise JobError('job.json must be an object')
    if job.get('kind') != KIND:
        errors.append(f"kind must be '{KIND}'")
    if job.get('formatVersion') != FORMAT_VERSION:
        errors.append(f"formatVersion {job.get('formatVersion')!r} is not supported (this kit reads {FORMAT_VERSION})")
    for key in ('jobId',):
        if not isinstance(job.get(key), str) or not job.get(key):
            errors.append(f"{key} must be a non-empty string")
    project = job.get('project')
    if not isinstance(project, dict) or not isinstance(project.get('id'), str):
        errors.append('project.id must be a string')
    ds = job.get('dataset')
    if not isinstance(ds, dict) or not isinstance(ds.get('versionId'), str) or not isinstance(ds.get('contentHash'), str):
        errors.append('dataset.versionId and dataset.contentHash must be strings')
    classes = job.get('classes')
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) and c for c in classes) or len(set(classes)) != len(classes):
        errors.append('classes must list at least 2 distinct non-empty names')
    pre = job.get('preprocess')
    if not isinstance(pre, dict) or not _int(pre.get('inputSize'), 1, 256) or pre.get('channels') not in (1, 3):
        errors.append('preprocess needs inputSize 1..256 and channels 1 or 3')
    aug = job.get('augmentation')
    if not isinstance(aug, dict):
        errors.append('augmentation must be an object')
    else:
        for k, (lo, hi) in AUGMENT_LIMITS.items():
            v = aug.get(k, 0)
            if not _num(v) or not lo <= v <= hi:
                errors.append(f"augmentation.{k} must be between {lo} and {hi}")
    if not _int(job.get('seed'), 0, 2 ** 32 - 1):
        errors.append('seed must be a whole number from 0 to 2^32-1')
    hp = job.get('hyperparameters')
    if not isinstance(hp, dict):
        errors.append('hyperparameters must be an object')
    else:
        if hp.get('optimizer') not in ('adam', 'sgd', 'rmsprop'):
            errors.append('hyperparameters.optimizer must be adam, sgd or rmsprop')
        if not _num(hp.get('learningRate')) or hp['learningRate'] <= 0:
            errors.append('hyperparameters.learningRate must be a positive number')
        if not _int(hp.get('batchSize'), 1, 65536):
            errors.append('hyperparameters.batchSize must be a whole number from 1 to 65536')
        if not _int(hp.get('epochs'), 1, 10000):
            errors.append('hyperparameters.epochs must be a whole number from 1 to 10000')
        if not _num(hp.get('momentum')) or not 0 <= hp['momentum'] < 1:
            errors.append('hyperparameters.momentum must be at least 0 and below 1')
        if not _int(hp.get('earlyStoppingPatience'), 0, 10000):
            errors.append('hyperparameters.earlyStoppingPatience must be a whole number (0 = off)')
        r = hp.get('reduceOnPlateau')
        if r is not None and not (isinstance(r, dict) and _int(r.get('patience'), 1, 10000) and _num(r.get('factor')) and 0 < r['factor'] < 1
                                  and _num(r.get('minLearningRate')) and r['minLearningRate'] >= 0):
            errors.append('hyperparameters.reduceOnPlateau must be null or {patience >= 1, 0 < factor < 1, minLearningRate >= 0}')
        if not isinstance(hp.get('keepBestEpoch', False), bool):
            errors.append('hyperparameters.keepBestEpoch must be true or false')
    arch = job.get('architecture')
    if not isinstance(arch, dict) or arch.get('kind') not in ('cnn', 'mobilenet', 'mlp'):
        errors.append('architecture.kind must be cnn, mobilenet or mlp')
    elif isinstance(classes, list) and arch.get('numClasses') != len(classes):
        errors.append('architecture.numClasses must equal the number of classes')
    elif isinstance(pre, dict) and (arch.get('inputSize') != pre.get('inputSize') or arch.get('channels') != pre.get('channels')):
        errors.append('architecture inputSize/channels must match preprocess')
    tfjs = job.get('tfjs')
    if not isinstance(tfjs, dict) or not isinstance(tfjs.get('modelTopology'), dict) or not isinstance(tfjs.get('weights'), list):
        errors.append('tfjs.modelTopology and tfjs.weights are required')
    files = job.get('files')
    if not isinstance(files, dict):
        errors.append('files must map each data file to its size and SHA-256')
    if errors:
        raise JobError('job.json refused: ' + '; '.join(errors))
    return job


def load_job(path):
    try:
        with open(path) as f:
            job = json.load(f)
    except (OSError, ValueError) as err:
        raise JobError(f"job.json could not be read: {err}")
    return validate_job(job)


def check_files(job, root):
    """Every data file job.json names must be there, with its size and SHA-256."""
    for rel, info in job['files'].items():
        path = os.path.join(root, rel)
        if not os.path.isfile(path):
            raise JobError(f"{rel} is missing from the kit")
        size = os.path.getsize(path)
        if size != info['bytes']:
            raise JobError(f"{rel} has {size} bytes, job.json says {info['bytes']}")
        h = hashlib.sha256()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                h.update(chunk)
        if h.hexdigest() != info['sha256']:
            raise JobError(f"{rel} does not match its SHA-256 in job.json")
