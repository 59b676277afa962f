#!/usr/bin/env bash
# The training kit's tests (parity, train.py, the kit e2e) need PyTorch and NumPy. As root, install
# Debian's packages when they are missing (python3-torch lives under /usr/bin/python3; python3-onnx
# lets the tests check the exported ONNX file). Not root: say so; the kit tests then skip, printing why.
set -euo pipefail
if /usr/bin/python3 -c 'import torch, numpy, onnx' 2>/dev/null; then
  echo "PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') found at /usr/bin/python3"
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's python3-torch (about 2 minutes)…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-numpy python3-onnx >/dev/null
  /usr/bin/python3 -c 'import torch; print("PyTorch", torch.__version__, "installed")'
else
  echo "PyTorch is missing and this is not root: the training-kit tests will skip (apt-get install -y python3-torch)."
fi
