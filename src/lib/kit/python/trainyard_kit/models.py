"""The app's three architectures (small CNN, MobileNet-style, MLP) in PyTorch, layer for layer.

Every module mirrors one TF.js layer of the app (src/lib/ml/architectures.ts) and knows its TF.js
class name and weights, so weights convert both ways (convert.py). Inputs are NHWC floats in 0..1,
as the app feeds TF.js; convolutions run in NCHW inside and Flatten flattens in NHWC order, so a
Dense kernel after Flatten needs no permutation. Same initialisers (He normal truncated at 2
standard deviations, Glorot uniform with Keras' fan rules, zero biases), same 'same' padding
(TF pads the extra pixel at the bottom/right), batch norm with momentum 0.99 in Keras' sense
(PyTorch momentum 0.01), epsilon 1e-3, and the biased batch variance in the moving average.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

MOBILENET_BLOCKS = [
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
]


def scaled_filters(base, alpha):
    # Math.round in JS rounds .5 up; Python's round() rounds half to even.
    return max(8, int(math.floor(base * alpha / 8 + 0.5)) * 8)


def cnn_blocks(input_size):
    blocks = 2
    size = math.ceil(input_size / 4)
    while size > 8 and blocks < 5:
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


def tf_same_pad(size, kernel, stride):
    """TF 'same' padding along one axis: (before, after); the odd pixel goes after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def fans(tf_shape):
    """Keras' computeFans on a TF-layout shape."""
    if len(tf_shape) == 2:
        return tf_shape[0], tf_shape[1]
    receptive = 1
    for d in tf_shape[:-2]:
        receptive *= d
    return tf_shape[-2] * receptive, tf_shape[-1] * receptive


def he_normal_(t, tf_shape, gen):
    fan_in, _ = fans(tf_shape)
    std = math.sqrt(2.0 / max(1, fan_in))
    with torch.no_grad():
        # TF.js truncatedNormal: redraw anything beyond two standard deviations.
        v = torch.randn(t.shape, generator=gen)
        bad = v.abs() > 2
        while bad.any():
            v[bad] = torch.randn(int(bad.sum()), generator=gen)
            bad = v.abs() > 2
        t.copy_(v * std)


def glorot_uniform_(t, tf_shape, gen):
    fan_in, fan_out = fans(tf_shape)
    limit = math.sqrt(6.0 / max(1.0, (fan_in + fan_out)))
    with torch.no_grad():
        t.copy_((torch.rand(t.shape, generator=gen) * 2 - 1) * limit)


class Conv2D(nn.Module):
    tf_class = 'Conv2D'

    def __init__(self, cin, cout, kernel, stride=1, bias=True, activation=None):
        super().__init__()
        self.kernel, self.stride, self.activation = kernel, stride, activation
        self.weight = nn.Parameter(torch.zeros(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None

    def forward(self, x):
        ph = tf_same_pad(x.shape[2], self.kernel, self.stride)
        pw = tf_same_pad(x.shape[3], self.kernel, self.stride)
        x = F.pad(x, (pw[0], pw[1], ph[0], ph[1]))
        x = F.conv2d(x, self.weight, self.bias, stride=self.stride)
        return F.relu(x) if self.activation == 'relu' else x

    def tf_weights(self):
        # torch [out, in, kh, kw] <-> TF.js [kh, kw, in, out]
        w = [('kernel', self.weight, (2, 3, 1, 0), (3, 2, 0, 1))]
        if self.bias is not None:
            w.append(('bias', self.bias, None, None))
        return w


class DepthwiseConv2D(nn.Module):
    tf_class = 'DepthwiseConv2D'

    def __init__(self, channels, kernel, stride=1):
        super().__init__()
        self.kernel, self.stride, self.channels = kernel, stride, channels
        self.weight = nn.Parameter(torch.zeros(channels, 1, kernel, kernel))

    def forward(self, x):
        ph = tf_same_pad(x.shape[2], self.kernel, self.stride)
        pw = tf_same_pad(x.shape[3], self.kernel, self.stride)
        x = F.pad(x, (pw[0], pw[1], ph[0], ph[1]))
        return F.conv2d(x, self.weight, None, stride=self.stride, groups=self.channels)

    def tf_weights(self):
        # torch [C, 1, kh, kw] <-> TF.js [kh, kw, C, 1]
        return [('depthwise_kernel', self.weight, (2, 3, 0, 1), (2, 3, 0, 1))]


class BatchNormalization(nn.Module):
    """Keras batch norm: momentum 0.99 (moving = 0.99 * moving + 0.01 * batch), epsilon 1e-3,
    biased batch variance in the moving average (PyTorch's BatchNorm2d uses the unbiased one)."""
    tf_class = 'BatchNormalization'

    def __init__(self, channels, momentum=0.99, epsilon=1e-3):
        super().__init__()
        self.momentum, self.epsilon = momentum, epsilon
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))
        self.register_buffer('moving_mean', torch.zeros(channels))
        self.register_buffer('moving_variance', torch.ones(channels))

    def forward(self, x):
        shape = (1, -1, 1, 1)
        if self.training:
            mean = x.mean(dim=(0, 2, 3))
            var = x.var(dim=(0, 2, 3), unbiased=False)
            with torch.no_grad():
                self.moving_mean.mul_(self.momentum).add_(mean.detach(), alpha=1 - self.momentum)
                self.moving_variance.mul_(self.momentum).add_(var.detach(), alpha=1 - self.momentum)
        else:
            mean, var = self.moving_mean, self.moving_variance
        inv = torch.rsqrt(var + self.epsilon) * self.gamma
        return (x - mean.view(shape)) * inv.view(shape) + self.beta.view(shape)

    def tf_weights(self):
        return [('gamma', self.gamma, None, None), ('beta', self.beta, None, None),
                ('moving_mean', self.moving_mean, None, None), ('moving_variance', self.moving_variance, None, None)]


class Dense(nn.Module):
    tf_class = 'Dense'

    def __init__(self, fin, fout, activation=None):
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.zeros(fout, fin))
        self.bias = nn.Parameter(torch.zeros(fout))

    def forward(self, x):
        x = F.linear(x, self.weight, self.bias)
        # The output layer's softmax is left to the loss / predict_proba: this returns logits.
        return F.relu(x) if self.activation == 'relu' else x

    def tf_weights(self):
        # torch [out, in] <-> TF.js [in, out]
        return [('kernel', self.weight, (1, 0), (1, 0)), ('bias', self.bias, None, None)]


class MaxPooling2D(nn.Module):
    tf_class = 'MaxPooling2D'

    def forward(self, x):
        # pool 2, stride 2, 'same': an odd edge pools alone (ceil_mode pads with -inf at the end).
        return F.max_pool2d(x, 2, 2, ceil_mode=True)


class Relu6(nn.Module):
    tf_class = 'Activation'

    def forward(self, x):
        return F.relu6(x)


class Flatten(nn.Module):
    tf_class = 'Flatten'

    def forward(self, x):
        if x.dim() == 4 and getattr(self, 'nchw', False):
            x = x.permute(0, 2, 3, 1)  # back to NHWC so the flattened order matches TF.js
        return x.reshape(x.shape[0], -1)


class GlobalAveragePooling2D(nn.Module):
    tf_class = 'GlobalAveragePooling2D'

    def forward(self, x):
        return x.mean(dim=(2, 3))


class Dropout(nn.Module):
    tf_class = 'Dropout'

    def __init__(self, rate):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        return F.dropout(x, self.rate, self.training)


class TrainyardNet(nn.Module):
    """Input: [N, H, W, C] floats in 0..1. Output: logits (softmax gives the app's probabilities)."""

    def __init__(self, arch):
        super().__init__()
        self.arch = arch
        kind, size, ch, k = arch['kind'], arch['inputSize'], arch['channels'], arch['numClasses']
        layers = []
        dropout = arch.get('dropout', 0)

        def add_dropout():
            if dropout > 0:
                layers.append(Dropout(dropout))

        self.nchw = kind != 'mlp'
        if kind == 'mlp':
            layers.append(Flatten())
            width = size * size * ch
            for units in arch['hidden']:
                layers.append(Dense(width, units, 'relu'))
                add_dropout()
                width = units
            if not arch['hidden']:
                add_dropout()
        elif kind == 'cnn':
            f = arch.get('filters') or 16
            cin, side = ch, size
            for i in range(cnn_blocks(size)):
                filters = f * 2 ** min(i, 2)
                layers.append(Conv2D(cin, filters, 3, 1, True, 'relu'))
                layers.append(MaxPooling2D())
                cin, side = filters, math.ceil(side / 2)
            flat = Flatten()
            flat.nchw = True
            layers.append(flat)
            layers.append(Dense(side * side * cin, 64, 'relu'))
            add_dropout()
            width = 64
        elif kind == 'mobilenet':
            alpha = arch['widthMultiplier']
            c = scaled_filters(32, alpha)
            layers += [Conv2D(ch, c, 3, 2, False), BatchNormalization(c), Relu6()]
            for (base, _), stride in zip(MOBILENET_BLOCKS, mobilenet_strides(size)):
                out = scaled_filters(base, alpha)
                layers += [DepthwiseConv2D(c, 3, stride), BatchNormalization(c), Relu6(),
                           Conv2D(c, out, 1, 1, False), BatchNormalization(out), Relu6()]
                c = out
            layers.append(GlobalAveragePooling2D())
            add_dropout()
            width = c
        else:
            raise ValueError(f"unknown architecture kind {kind!r}")
        layers.append(Dense(width, k))
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        if self.nchw:
            x = x.permute(0, 3, 1, 2).contiguous()
        for layer in self.layers:
            x = layer(x)
        return x

    def weighted_layers(self):
        return [m for m in self.layers if hasattr(m, 'tf_weights')]

    def init_like_tfjs(self, seed):
        """The app's initialisers: He normal for hidden convs/dense (CNN, MLP), Glorot uniform for
        MobileNet's convs and every output layer; biases 0, batch norm gamma 1, beta 0, mean 0, var 1."""
        gen = torch.Generator().manual_seed(int(seed))
        he = self.arch['kind'] in ('cnn', 'mlp')
        dense = [m for m in self.layers if isinstance(m, Dense)]
        for m in self.layers:
            if isinstance(m, (Conv2D, Dense, DepthwiseConv2D)):
                name, w, to_tf, _ = m.tf_weights()[0]
                tf_shape = list(w.permute(*to_tf).shape) if to_tf else list(w.shape)
                if he and m is not dense[-1]:
                    he_normal_(w, tf_shape, gen)
                else:
                    glorot_uniform_(w, tf_shape, gen)
                if getattr(m, 'bias', None) is not None:
                    with torch.no_grad():
                        m.bias.zero_()


def build(arch):
    return TrainyardNet(arch)
