#!/usr/bin/env python3
"""PyTorch reference for npm run bench:train (bench/train.bench.mjs).

Builds the same networks as src/lib/ml/architectures.ts (the small CNN at 28x28x1 and the
MobileNet-style net at 96x96x3, width multiplier 0.5, 10 classes, dropout 0.25), trains them on
random tensors with Adam 0.002 and cross-entropy, and reports training images/s with
torch.set_num_threads(1) and (2), each after one warm-up epoch.

Uses whatever PyTorch is installed (Debian: python3-torch); never installs anything. Without
PyTorch it prints "PyTorch not available: ..." (or, with --json, {"available": false, ...}) and
exits 0.

  python3 bench/torch_bench.py [--json] [--models=cnn,mobilenet] [--threads=1,2]
                               [--samples-cnn=1280] [--samples-mobilenet=320]
                               [--min-seconds=3] [--max-epochs=20]

Timed epochs repeat until at least --min-seconds have passed (at least one epoch, at most
--max-epochs), so fast settings are not timed over a fraction of a second.
"""
import json
import math
import platform
import sys
import time


def parse_args(argv):
    opts = {
        "json": False,
        "models": ["cnn", "mobilenet"],
        "threads": [1, 2],
        "samples": {"cnn": 1280, "mobilenet": 320},
        "min_seconds": 3.0,
        "max_epochs": 20,
    }
    for a in argv:
        if a == "--json":
            opts["json"] = True
        elif a.startswith("--models="):
            opts["models"] = [m for m in a.split("=", 1)[1].split(",") if m]
        elif a.startswith("--threads="):
            opts["threads"] = [int(t) for t in a.split("=", 1)[1].split(",") if t]
        elif a.startswith("--samples-"):
            name, value = a[len("--samples-"):].split("=", 1)
            opts["samples"][name] = int(value)
        elif a.startswith("--min-seconds="):
            opts["min_seconds"] = float(a.split("=", 1)[1])
        elif a.startswith("--max-epochs="):
            opts["max_epochs"] = int(a.split("=", 1)[1])
        elif a in ("-h", "--help"):
            print(__doc__)
            sys.exit(0)
        else:
            raise SystemExit(f"unknown argument: {a}")
    return opts


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


MOBILENET_BLOCKS = [
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
]


def scaled_filters(base, alpha):
    # Same rounding as architectures.ts scaledFilters (JS Math.round rounds .5 up).
    return max(8, int(math.floor(base * alpha / 8 + 0.5)) * 8)


def cnn_blocks(input_size):
    blocks, size = 2, math.ceil(input_size / 4)
    while size > 12 and blocks < 4:
        size = math.ceil(size / 2)
        blocks += 1
    return blocks


def mobilenet_strides(input_size):
    size = math.ceil(input_size / 2)
    out = []
    for _, s in MOBILENET_BLOCKS:
        if s == 2 and math.ceil(size / 2) >= 2:
            size = math.ceil(size / 2)
            out.append(2)
        else:
            out.append(1)
    return out


def build(torch, kind, input_size, channels, num_classes=10, dropout=0.25, alpha=0.5, filters=16):
    nn = torch.nn
    layers = []
    if kind == "cnn":
        c_in, size = channels, input_size
        for i in range(cnn_blocks(input_size)):
            f = filters * 2 ** min(i, 2)
            layers += [nn.Conv2d(c_in, f, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2, ceil_mode=True)]
            c_in, size = f, math.ceil(size / 2)
        layers += [nn.Flatten(), nn.Linear(c_in * size * size, 64), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(64, num_classes))
    elif kind == "mobilenet":
        # Keras BatchNormalization(momentum=0.99, epsilon=1e-3) == torch momentum 0.01, eps 1e-3.
        def bn_relu(c):
            return [nn.BatchNorm2d(c, eps=1e-3, momentum=0.01), nn.ReLU6()]

        c = scaled_filters(32, alpha)
        layers += [nn.Conv2d(channels, c, 3, stride=2, padding=1, bias=False)] + bn_relu(c)
        for (base, _), s in zip(MOBILENET_BLOCKS, mobilenet_strides(input_size)):
            out = scaled_filters(base, alpha)
            layers += [nn.Conv2d(c, c, 3, stride=s, padding=1, groups=c, bias=False)] + bn_relu(c)
            layers += [nn.Conv2d(c, out, 1, bias=False)] + bn_relu(out)
            c = out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(c, num_classes))
    else:
        raise ValueError(kind)
    # Softmax + categorical cross-entropy in TF.js == logits + nn.CrossEntropyLoss here.
    return nn.Sequential(*layers)


SHAPES = {
    "cnn": {"input_size": 28, "channels": 1, "batch": 64},
    "mobilenet": {"input_size": 96, "channels": 3, "batch": 32},
}


def time_model(torch, kind, samples, threads, min_seconds, max_epochs, seed=42):
    shape = SHAPES[kind]
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = build(torch, kind, shape["input_size"], shape["channels"])
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=0.002)
    loss_fn = torch.nn.CrossEntropyLoss()
    xs = torch.rand(samples, shape["channels"], shape["input_size"], shape["input_size"])
    ys = torch.randint(0, 10, (samples,))
    batch = shape["batch"]

    def epoch():
        order = torch.randperm(samples)  # model.fit shuffles every epoch too
        total = torch.zeros(())
        for start in range(0, samples, batch):
            idx = order[start:start + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xs[idx]), ys[idx])
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        return float(total) / samples

    t0 = time.perf_counter()
    epoch()  # warm-up
    warmup = time.perf_counter() - t0
    t0 = time.perf_counter()
    loss = None
    epochs = 0
    while epochs < 1 or (time.perf_counter() - t0 < min_seconds and epochs < max_epochs):
        loss = epoch()
        epochs += 1
    seconds = time.perf_counter() - t0
    return {
        "model": kind,
        "threads": threads,
        "samples": samples,
        "batchSize": batch,
        "epochs": epochs,
        "params": sum(p.numel() for p in model.parameters()),
        "warmupSeconds": round(warmup, 3),
        "seconds": round(seconds, 3),
        "imagesPerSecond": samples * epochs / seconds,
        "finalLoss": loss,
    }


def main():
    opts = parse_args(sys.argv[1:])
    try:
        import torch
    except Exception as err:  # ImportError, or a broken install
        reason = f"{type(err).__name__}: {err} (python {platform.python_version()} at {sys.executable})"
        if opts["json"]:
            print(json.dumps({"available": False, "reason": reason}))
        else:
            print(f"PyTorch not available: {reason}")
        return 0
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    results = []
    for kind in opts["models"]:
        for threads in opts["threads"]:
            r = time_model(torch, kind, opts["samples"][kind], threads, opts["min_seconds"], opts["max_epochs"])
            results.append(r)
            if not opts["json"]:
                print(f"{kind:10s} {threads} thread(s): {r['imagesPerSecond']:8.1f} images/s "
                      f"({r['samples']} samples x {r['epochs']} epochs in {r['seconds']:.2f} s, {r['params']} params)")
    report = {
        "available": True,
        "version": torch.__version__,
        "pythonVersion": platform.python_version(),
        "cpu": cpu_model(),
        "cpus": __import__("os").cpu_count(),
        "interopThreads": torch.get_num_interop_threads(),
        "mkldnn": bool(getattr(torch.backends, "mkldnn", None) and torch.backends.mkldnn.is_available()),
        "results": results,
    }
    if opts["json"]:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
