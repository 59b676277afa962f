"""PyTorch <-> TF.js layers format. The topology is the app's own (job.json carries the TF.js
model.json topology and weight manifest the app built for this architecture); this module only
moves weights between PyTorch's layouts and TF.js's, matching layers in order and checking class
names and shapes, so a mismatch is an error rather than a silently wrong model."""
import hashlib
import json

import numpy as np
import torch


def _topology_layers(topology):
    config = topology['config']
    layers = config['layers'] if isinstance(config, dict) else config
    return [(layer['class_name'], layer['config']['name']) for layer in layers]


def pair_layers(net, topology):
    """[(tf layer name, torch module)] for every layer that has weights, checked class by class."""
    tf_layers = [(c, n) for c, n in _topology_layers(topology) if c in ('Conv2D', 'DepthwiseConv2D', 'Dense', 'BatchNormalization')]
    ours = net.weighted_layers()
    if len(tf_layers) != len(ours):
        raise ValueError(f"the TF.js topology has {len(tf_layers)} layers with weights, the PyTorch model {len(ours)}")
    pairs = []
    for (cls, name), module in zip(tf_layers, ours):
        if cls != module.tf_class:
            raise ValueError(f"layer {name}: TF.js {cls} against PyTorch {module.tf_class}")
        pairs.append((name, module))
    return pairs


def _index(net, topology):
    table = {}
    for name, module in pair_layers(net, topology):
        for suffix, tensor, to_tf, from_tf in module.tf_weights():
            table[f"{name}/{suffix}"] = (tensor, to_tf, from_tf)
    return table


def to_tfjs(net, topology, manifest):
    """weights.bin bytes in the manifest's order (float32, little-endian, TF.js layouts)."""
    table = _index(net, topology)
    parts = []
    for spec in manifest:
        if spec['name'] not in table:
            raise ValueError(f"weight {spec['name']} of the manifest has no PyTorch counterpart")
        tensor, to_tf, _ = table[spec['name']]
        arr = tensor.detach().cpu()
        if to_tf:
            arr = arr.permute(*to_tf)
        arr = arr.contiguous().numpy().astype('<f4')
        if list(arr.shape) != list(spec['shape']):
            raise ValueError(f"weight {spec['name']}: shape {list(arr.shape)}, the manifest says {spec['shape']}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"weight {spec['name']} has NaN or infinite values")
        parts.append(arr.tobytes())
    return b''.join(parts)


def load_tfjs(net, topology, manifest, data):
    """Copies TF.js weights (bytes in manifest order) into the PyTorch model."""
    table = _index(net, topology)
    offset = 0
    for spec in manifest:
        count = int(np.prod(spec['shape'])) if spec['shape'] else 1
        arr = np.frombuffer(data, dtype='<f4', count=count, offset=offset).reshape(spec['shape'])
        offset += count * 4
        tensor, _, from_tf = table[spec['name']]
        value = torch.from_numpy(arr.copy())
        if from_tf:
            value = value.permute(*from_tf)
        if list(value.shape) != list(tensor.shape):
            raise ValueError(f"weight {spec['name']}: TF.js shape {spec['shape']} does not fit PyTorch {list(tensor.shape)}")
        with torch.no_grad():
            tensor.copy_(value)
    if offset != len(data):
        raise ValueError(f"weights: {len(data)} bytes, the manifest accounts for {offset}")


def write_tfjs(out_dir, net, job, extra_metadata):
    """out/model.json + weights.bin + metadata.json, loadable with tf.loadLayersModel and by the app."""
    topology = job['tfjs']['modelTopology']
    manifest = job['tfjs']['weights']
    data = to_tfjs(net, topology, manifest)
    with open(f"{out_dir}/weights.bin", 'wb') as f:
        f.write(data)
    model_json = {
        'format': 'layers-model',
        'generatedBy': 'trainyard_kit (PyTorch)',
        'convertedBy': f"trainyard_kit from PyTorch {torch.__version__}",
        'modelTopology': topology,
        'weightsManifest': [{'paths': ['weights.bin'], 'weights': manifest}],
    }
    with open(f"{out_dir}/model.json", 'w') as f:
        json.dump(model_json, f)
    pre = job['preprocess']
    metadata = {
        'tfjsVersion': job['app']['tfjsVersion'],
        'tmVersion': None,
        'packageVersion': job['app']['version'],
        'packageName': 'trainyard',
        'modelName': f"trainyard-kit-{job['jobId'][:8]}",
        'labels': job['classes'],
        'imageSize': pre['inputSize'],
        'userMetadata': {'trainyard': {
            'preprocess': {k: pre[k] for k in ('inputSize', 'channels', 'resize', 'background')},
            'normalization': '0..1',
            'kit': dict(extra_metadata, jobId=job['jobId'], weightsSha256=hashlib.sha256(data).hexdigest()),
        }},
    }
    with open(f"{out_dir}/metadata.json", 'w') as f:
        json.dump(metadata, f, indent=2)
    return data
