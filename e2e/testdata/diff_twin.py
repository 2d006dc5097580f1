"""PyTorch twins of nngen models, for the differential test (e2e/diff_test.go).

python3 diff_twin.py --kinds prints the layer kinds it has a twin for.
python3 diff_twin.py manifest.json builds, for every model of the manifest
(a JSON list of {dir, ir}), the PyTorch twin of its IR in PyTorch's own
layout: images NCHW (nn.Conv2d, pooling, nn.BatchNorm2d), torch.flatten of
NCHW before nn.Linear, nn.BatchNorm1d, nn.RNN/LSTM/GRU(batch_first),
nn.Embedding. It loads dir/model.safetensors into the twin strictly by name
(load_state_dict), replays the dropout masks and Sampling noise nngen drew
(dir/nngen.safetensors), and writes dir/twin.safetensors: the inference
outputs (out), the loss, every parameter's gradient (grad.<name>), the
values before (before.<name>) and after (after.<name>) one SGD step,
moving statistics included. Everything is computed in float64. A model that
fails writes its error to dir/twin_error.txt instead. For a float32 model it
also computes everything in float32 (f32.<name>), which tells how much
float32 rounding moves each value.

Keras's semantics hold where they differ from PyTorch's: BatchNormalization
moves its statistics as moving·momentum + batch·(1 − momentum) with the
biased batch variance; padding "same" pads at the end first; the losses
are Keras's, clipped at 1e-7.
"""
import json
import math
import struct
import sys
import traceback

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-7
DT = torch.float64


def read_st(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n])
    h.pop('__metadata__', None)
    out = {}
    for name, v in h.items():
        s, e = v['data_offsets']
        dt = {'F32': torch.float32, 'F64': torch.float64}[v['dtype']]
        t = torch.frombuffer(bytearray(b[8 + n + s:8 + n + e]), dtype=dt) if e > s else torch.zeros(0, dtype=dt)
        out[name] = t.reshape(v['shape'])
    return out


def write_st(path, ts):
    header, blobs, off = {}, [], 0
    for name in sorted(ts):
        t = ts[name].detach().to(torch.float64).contiguous()
        data = t.numpy().tobytes()
        header[name] = {'dtype': 'F64', 'shape': list(t.shape), 'data_offsets': [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


# Layouts of a value in the twin: 'plain' (nngen's own order), 'nchw' (a
# rank-3 image [H, W, C] stored as N, C, H, W) or ('flat', [H, W, C]): the
# torch.flatten of an NCHW image, in C, H, W order.

def to_nngen(t, lay, shape):
    """Returns value t (layout lay, per-sample shape) in nngen's order."""
    if lay == 'nchw':
        return t.permute(0, 2, 3, 1)
    if isinstance(lay, tuple):
        h, w, c = lay[1]
        return t.reshape(-1, c, h, w).permute(0, 2, 3, 1).reshape(t.shape[0], -1)
    return t


def from_nngen(t, shape):
    """Returns value t, in nngen's order, in the twin's layout."""
    t = t.reshape(-1, *shape)
    if len(shape) == 3:
        return t.permute(0, 3, 1, 2), 'nchw'
    return t, 'plain'


def like(t, lay, shape):
    """Returns nngen-ordered values t (a mask, noise) in layout lay."""
    t = t.reshape(-1, *shape)
    if lay == 'nchw':
        return t.permute(0, 3, 1, 2)
    if isinstance(lay, tuple):
        h, w, c = lay[1]
        return t.reshape(-1, h, w, c).permute(0, 3, 1, 2).reshape(t.shape[0], -1)
    return t


def act(name, t, lay):
    if name == 'linear':
        return t
    if name == 'relu':
        return F.relu(t)
    if name == 'leaky_relu':
        return F.leaky_relu(t, 0.2)
    if name == 'sigmoid':
        return torch.sigmoid(t)
    if name == 'tanh':
        return torch.tanh(t)
    if name == 'softmax':  # over the last axis of nngen's shape
        return torch.softmax(t, dim=1 if lay == 'nchw' else -1)
    if name in ACTS:
        return ACTS[name](t)
    raise ValueError('no twin for activation ' + name)


SELU_ALPHA, SELU_SCALE = 1.67326324235437728481704299167, 1.05070098735548049341933498529
ACTS = {  # Keras's definitions (keras/src/activations)
    'gelu': lambda t: 0.5 * t * (1 + torch.erf(t / math.sqrt(2))),
    'gelu_tanh': lambda t: F.gelu(t, approximate='tanh'),
    'elu': lambda t: torch.where(t > 0, t, torch.expm1(t)),
    'selu': lambda t: SELU_SCALE * torch.where(t > 0, t, SELU_ALPHA * torch.expm1(t)),
    'softplus': F.softplus,
    'softsign': lambda t: t / (1 + t.abs()),
    'swish': lambda t: t * torch.sigmoid(t),
    'silu': lambda t: t * torch.sigmoid(t),
    'hard_sigmoid': lambda t: F.relu6(t + 3) / 6,
    'exponential': torch.exp,
}


def same_pad(size, k, s, d):
    """Keras's "same" padding of one axis: (before, after), extra after."""
    ek = (k - 1) * d + 1
    out = (size + s - 1) // s
    total = max((out - 1) * s + ek - size, 0)
    return total // 2, total - total // 2


def pads(a, shape, k, s, d=(1, 1)):
    top, bottom = same_pad(shape[0], k[0], s[0], d[0])
    left, right = same_pad(shape[1], k[1], s[1], d[1])
    return (left, right, top, bottom)


class Twin(nn.Module):
    def __init__(self, ir):
        super().__init__()
        self.ir = ir
        self.nodes = ir['Nodes']
        self.by = {n['Name']: n for n in self.nodes}
        for n in self.nodes[1:]:
            if n.get('Shares'):  # applies the module of the layer it shares
                continue
            m = MODULES[n['Kind']](self, n)
            if m is not None:
                self.add_module(n['Name'], m)

    def ins(self, n):
        return [self.by[i] for i in n['Inputs']]

    def forward(self, x, train, draws):
        self.pre = {}  # the inputs of each layer's activation
        self.states = {}  # the final states of each recurrent layer
        vals = {'input': from_nngen(x, self.nodes[0]['Shape'])}
        self.vals = vals
        for n in self.nodes[1:]:
            ins = [vals[i] for i in n['Inputs']]
            vals[n['Name']] = FORWARD[n['Kind']](self, n, ins, train, draws)
        return {k: to_nngen(v[0], v[1], self.by[k]['Shape']) for k, v in vals.items()}


def mod(tw, n):
    """The module of node n: its own, or that of the layer it shares (a
    Keras layer called again: autograd adds the gradients of its uses)."""
    return getattr(tw, n.get('Shares') or n['Name'])


def in_shape(tw, n, i=0):
    return tw.by[n['Inputs'][i]]['Shape']


# Modules (for the parameters, by nngen's names) and forward rules per kind.

def dense_module(tw, n):
    s = in_shape(tw, n)
    return nn.Linear(s[-1], n['Attrs']['units'], bias=n['Attrs']['use_bias'])


def dense_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    lin = mod(tw, n)
    if lay == 'nchw':
        y = lin(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        lay = 'nchw'
    else:
        y, lay = lin(x), 'plain'  # a flat NCHW input meets nn.Linear as is
    tw.pre[n['Name']] = y, lay
    return act(n['Attrs']['activation'], y, lay), lay


def activation_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    tw.pre[n['Name']] = x, lay
    return act(n['Attrs']['activation'], x, lay), lay


def conv_module(tw, n):
    a, s = n['Attrs'], in_shape(tw, n)
    return nn.Conv2d(s[2], a['filters'], a['kernel_size'], stride=a['strides'], dilation=a['dilation_rate'], groups=a['groups'], bias=a['use_bias'])


def conv_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    a = n['Attrs']
    assert lay == 'nchw'
    if a['padding'] == 'same':
        x = F.pad(x, pads(a, in_shape(tw, n), a['kernel_size'], a['strides'], a['dilation_rate']))
    y = mod(tw, n)(x)
    tw.pre[n['Name']] = y, 'nchw'
    return act(a['activation'], y, 'nchw'), 'nchw'


def conv1d_module(tw, n):
    a, s = n['Attrs'], in_shape(tw, n)
    return nn.Conv1d(s[1], a['filters'], a['kernel_size'][0], stride=a['strides'][0], dilation=a['dilation_rate'][0], groups=a['groups'], bias=a['use_bias'])


def conv1d_forward(tw, n, ins, train, draws):
    # [N, steps, C] as PyTorch's [N, C, steps]; Keras's same and causal
    # padding as F.pad.
    x, lay = ins[0]
    assert lay == 'plain'
    a = n['Attrs']
    k, s, d = a['kernel_size'][0], a['strides'][0], a['dilation_rate'][0]
    x = x.transpose(1, 2)
    if a['padding'] == 'same':
        x = F.pad(x, same_pad(in_shape(tw, n)[0], k, s, d))
    elif a['padding'] == 'causal':
        x = F.pad(x, (d * (k - 1), 0))
    y = getattr(tw, n['Name'])(x).transpose(1, 2)
    tw.pre[n['Name']] = y, 'plain'
    return act(a['activation'], y, 'plain'), 'plain'


def zeropad1d_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    a, b = n['Attrs']['padding']
    return F.pad(x, (0, 0, a, b)), lay


def crop1d_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    a, b = n['Attrs']['cropping']
    return x[:, a:x.shape[1] - b], lay


def upsample1d_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    return x.repeat_interleave(n['Attrs']['size'], dim=1), lay


def spatial_dropout_forward(tw, n, ins, train, draws):
    # One mask value per feature of a sample: the first step's, at every
    # step (nngen's mask holds it at each).
    x, lay = ins[0]
    if not train:
        return x, lay
    # SpatialDropout2D alike: one value a channel, at every pixel.
    s = n['Shape']
    x = to_nngen(x, lay, s).reshape(x.shape[0], -1, s[-1])
    mask = draws['train.' + n['Name'] + '_mask'].reshape(x.shape)
    return from_nngen(x * mask[:, :1, :], s)


def slice_forward(tw, n, ins, train, draws):
    # tf.slice of every sample: indexing in nngen's order.
    x, lay = ins[0]
    s = in_shape(tw, n)
    x = to_nngen(x, lay, s).reshape(-1, *s)
    b, z = n['Attrs']['begin'], n['Shape']
    return from_nngen(x[(slice(None),) + tuple(slice(b[i], b[i] + z[i]) for i in range(len(s)))], z)


def permute_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    s = in_shape(tw, n)
    x = to_nngen(x, lay, s).reshape(-1, *s)
    return from_nngen(x.permute(0, *n['Attrs']['dims']), n['Shape'])


def unitnorm_forward(tw, n, ins, train, draws):
    # Keras: x / sqrt(max(sum(x²), 1e-12)) along axis (1 the first axis of
    # a sample, -1 the last).
    # Over one axis, the vector is the whole sample, in whatever order its
    # layout has it (a flattened NCHW image: featurewise).
    x, lay = ins[0]
    s = in_shape(tw, n)
    l2n = lambda x, a: x / torch.sqrt(torch.clamp((x * x).sum(a, keepdim=True), min=1e-12))
    if len(s) == 1:
        return l2n(x, 1), lay
    x = to_nngen(x, lay, s).reshape(-1, *s)
    return from_nngen(l2n(x, n['Attrs']['axis']), n['Shape'])


def pool_args(tw, n):
    a = n['Attrs']
    k = a['pool_size']
    s = a['strides'] or k
    return k, s


def maxpool_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    assert lay == 'nchw'
    k, s = pool_args(tw, n)
    if n['Attrs']['padding'] == 'same':
        x = F.pad(x, pads(None, in_shape(tw, n), k, s), value=-math.inf)
    return F.max_pool2d(x, k, s), 'nchw'


def avgpool_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    assert lay == 'nchw'
    k, s = pool_args(tw, n)
    if n['Attrs']['padding'] == 'same':
        p = pads(None, in_shape(tw, n), k, s)
        # The mean of the cells inside the input only.
        ones = F.pad(torch.ones_like(x[:1, :1]), p)
        return F.avg_pool2d(F.pad(x, p), k, s) / F.avg_pool2d(ones, k, s), 'nchw'
    return F.avg_pool2d(x, k, s), 'nchw'


def pool1d_forward(kind):
    def forward(tw, n, ins, train, draws):
        # [N, steps, C] as PyTorch's [N, C, steps].
        x = ins[0][0].transpose(1, 2)
        k, s = pool_args(tw, n)
        k, s = k[0], s[0]
        p = (0, 0)
        if n['Attrs']['padding'] == 'same':
            p = same_pad(in_shape(tw, n)[0], k, s, 1)
        if kind == 'max':
            y = F.max_pool1d(F.pad(x, p, value=-math.inf), k, s)
        else:
            ones = F.pad(torch.ones_like(x[:1, :1]), p)
            y = F.avg_pool1d(F.pad(x, p), k, s) / F.avg_pool1d(ones, k, s)
        return y.transpose(1, 2), 'plain'
    return forward


def gap_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    assert lay == 'nchw'
    if n['Attrs']['keepdims']:
        return x.mean((2, 3), keepdim=True), 'nchw'
    return x.mean((2, 3)), 'plain'


def flatten_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    s = in_shape(tw, n)
    if lay == 'nchw':
        return torch.flatten(x, 1), ('flat', s)
    return torch.flatten(x, 1), lay


def reshape_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    s = in_shape(tw, n)
    if len(n['Shape']) == 1 and lay != 'plain':
        return flatten_forward(tw, n, ins, train, draws)
    return from_nngen(to_nngen(x, lay, s), n['Shape'])


def dropout_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    if not train:
        return x, lay
    return x * like(draws['train.' + n['Name'] + '_mask'], lay, n['Shape']), lay


class BN(nn.Module):
    """nn.BatchNorm1d or 2d under the layer's name, with weight (γ) and bias
    (β) as the layer has them."""


def bn_module(tw, n):
    a, s = n['Attrs'], in_shape(tw, n)
    c = s[-1]
    cls = nn.BatchNorm2d if len(s) == 3 else nn.BatchNorm1d
    m = cls(c, eps=a['epsilon'], affine=False)
    if a['scale']:
        m.weight = nn.Parameter(torch.ones(c))
    if a['center']:
        m.bias = nn.Parameter(torch.zeros(c))
    return m


def bn_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    m = mod(tw, n)
    a = n['Attrs']
    s = in_shape(tw, n)
    seq = len(s) == 2 and lay == 'plain'  # [T, F]: nn.BatchNorm1d takes N, C, L
    if seq:
        x = x.transpose(1, 2)
    if train:
        dims = [0] + list(range(2, x.dim()))
        mean, var = x.mean(dims), x.var(dims, unbiased=False)
        y = F.batch_norm(x, None, None, m.weight, m.bias, True, 0.0, a['epsilon'])
        mom = a['momentum']
        with torch.no_grad():  # Keras's update, with the biased variance
            m.running_mean.copy_(m.running_mean * mom + mean * (1 - mom))
            m.running_var.copy_(m.running_var * mom + var * (1 - mom))
    else:
        y = F.batch_norm(x, m.running_mean, m.running_var, m.weight, m.bias, False, 0.0, a['epsilon'])
    if seq:
        y = y.transpose(1, 2)
    return y, lay


def embedding_module(tw, n):
    a = n['Attrs']
    return nn.Embedding(a['input_dim'], a['output_dim'])


def embedding_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    ids = to_nngen(x, lay, in_shape(tw, n)).reshape(x.shape[0], -1).long()
    y = mod(tw, n)(ids)
    return from_nngen(y, n['Shape'])


class Named(nn.Module):
    """Parameters of the names and shapes nngen gives them (a GRU with
    reset_after false, which PyTorch's nn.GRU cannot run: one bias)."""
    def __init__(self, params):
        super().__init__()
        for p in params:
            self.register_parameter(p['Name'], nn.Parameter(torch.zeros(p['Shape'])))


def reset_before(n):
    a = n['Attrs'].get('layer', {}).get('Attrs', n['Attrs'])
    return a.get('reset_after', True) is False


def rnn_module(kind):
    def make(tw, n):
        if reset_before(n):
            return Named(n['Params'])
        a, s = n['Attrs'], in_shape(tw, n)
        args = dict(bias=a['use_bias'], batch_first=True)
        if kind == 'SimpleRNN':
            nl = a['activation'] if a['activation'] in ('tanh', 'relu') else 'tanh'
            return nn.RNN(s[1], a['units'], nonlinearity=nl, **args)
        return {'LSTM': nn.LSTM, 'GRU': nn.GRU}[kind](s[1], a['units'], **args)
    return make


def rnn_masks(name, a, train, draws):
    """The dropout masks of the inputs and of the state that nngen drew
    for layer name in training, or None."""
    xm = draws['train.' + name + '_xmask'] if train and a['dropout'] > 0 else None
    hm = draws['train.' + name + '_hmask'] if train and a['recurrent_dropout'] > 0 else None
    return xm, hm


def rnn_forward(kind):
    def fwd(tw, n, ins, train, draws):
        x, lay = ins[0]
        assert lay == 'plain'
        m = mod(tw, n)
        a = n['Attrs']
        ra = a.get('recurrent_activation', 'sigmoid')
        xm, hm = rnn_masks(n['Name'], a, train, draws)
        natural = (a['activation'] == 'tanh' or kind == 'SimpleRNN' and a['activation'] == 'relu') and ra == 'sigmoid'
        # initial_state: the inputs after the first, h_0 (and c_0).
        init = [v for v, _ in ins[1:]] or None
        fin = {}
        mask = step_mask(tw, n)
        if natural and xm is None and hm is None and not reset_before(n) and mask is None:
            if init is None:
                out, hn = m(x)
            else:
                h0 = tuple(v.unsqueeze(0) for v in init)
                out, hn = m(x, h0 if kind == 'LSTM' else h0[0])
            hn = hn if kind == 'LSTM' else (hn,)
            fin = {'state_h': hn[0][0]}
            if kind == 'LSTM':
                fin['state_c'] = hn[1][0]
        else:
            out = cells(kind, m, x, a['activation'], ra, a['use_bias'], xm, hm, reset_before(n), init, fin, mask)
        # return_state: the final states, which Output nodes read.
        tw.states[n['Name']] = fin
        if not a['return_sequences']:
            out = out[:, -1]
        return out, 'plain'
    return fwd


def output_forward(tw, n, ins, train, draws):
    """An extra output of its input layer: a recurrent layer's final
    state (return_state), as (output, (h_n, c_n)) of nn.LSTM gives it."""
    return tw.states[n['Inputs'][0]][n['Attrs']['output']], 'plain'



def cells(kind, m, x, a, ra, bias, xm=None, hm=None, before=False, init=None, fin=None, mask=None):
    """The recurrence of nn.RNN, nn.LSTM or nn.GRU, step by step, with other
    activations than PyTorch's modules allow, and Keras's dropout: the
    input mask xm [N, F] on every step's input, the state mask hm [N, H]
    on h_{t-1} where it enters the recurrent product. init is [h_0] or
    [h_0, c_0] (None: zeros); fin, a dict, gets the final states as
    state_h and state_c. mask [N, T] (None: none) is Keras's: a masked
    step keeps the states and repeats the previous output (0 at first)."""
    w_ih, w_hh = m.weight_ih_l0, m.weight_hh_l0
    b_ih = m.bias_ih_l0 if bias else 0
    b_hh = getattr(m, 'bias_hh_l0', 0) if bias else 0  # none: a GRU's reset before
    f = lambda name, t: act(name, t, 'plain')
    n, steps = x.shape[0], x.shape[1]
    hdim = w_hh.shape[1]
    h = x.new_zeros(n, hdim) if init is None else init[0]
    c = x.new_zeros(n, hdim) if init is None or len(init) < 2 else init[1]
    outs = []
    prev = x.new_zeros(n, hdim)
    xm = 1 if xm is None else xm.reshape(n, -1)
    hm = 1 if hm is None else hm.reshape(n, -1)
    for t in range(steps):
        h_old, c_old = h, c
        gi = (x[:, t] * xm) @ w_ih.T + b_ih
        gh = (h * hm) @ w_hh.T + b_hh
        if kind == 'SimpleRNN':
            h = f(a, gi + gh)
        elif kind == 'LSTM':
            i, fg, g, o = (gi + gh).chunk(4, 1)
            c = f(ra, fg) * c + f(ra, i) * f(a, g)
            h = f(ra, o) * f(a, c)
        else:
            ir_, iz, in_ = gi.chunk(3, 1)
            hr, hz, hn = gh.chunk(3, 1)
            r, z = f(ra, ir_ + hr), f(ra, iz + hz)
            if before:  # reset_after false: Keras's original GRU
                hn = (r * h * hm) @ w_hh[2 * hdim:].T
                h = (1 - z) * f(a, in_ + hn) + z * h
            else:
                h = (1 - z) * f(a, in_ + r * hn) + z * h
        if mask is not None:
            mt = mask[:, t:t + 1]
            h_new = h
            h, c = torch.where(mt, h_new, h_old), torch.where(mt, c, c_old)
            prev = torch.where(mt, h_new, prev)
            outs.append(prev)
            continue
        outs.append(h)
    if fin is not None:
        fin['state_h'] = h
        if kind == 'LSTM':
            fin['state_c'] = c
    return torch.stack(outs, 1)


def bidi_module(tw, n):
    """nn.RNN/nn.LSTM/nn.GRU(bidirectional=True): its parameters are
    weight_ih_l0, … and weight_ih_l0_reverse, …"""
    inner = dict(n['Attrs']['layer'], Name=n['Name'], Inputs=n['Inputs'])
    if reset_before(n):
        return Named(n['Params'])
    m = rnn_module(inner['Kind'])(tw, inner)
    kind = {'SimpleRNN': nn.RNN, 'LSTM': nn.LSTM, 'GRU': nn.GRU}[inner['Kind']]
    args = dict(bias=m.bias, batch_first=True, bidirectional=True)
    if inner['Kind'] == 'SimpleRNN':
        args['nonlinearity'] = m.nonlinearity
    return kind(m.input_size, m.hidden_size, **args)


class Reverse:
    """The backward direction's parameters under the forward names."""
    def __init__(self, m):
        for k in ('weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'):
            if hasattr(m, k + '_reverse'):
                setattr(self, k, getattr(m, k + '_reverse'))


def bidi_forward(tw, n, ins, train, draws):
    """Keras's Bidirectional: the backward layer reads the sequence
    reversed; its sequences are reversed back, its last state is the one
    after the first step. nn.LSTM(bidirectional=True) does the same."""
    x, lay = ins[0]
    assert lay == 'plain'
    m = getattr(tw, n['Name'])
    a = n['Attrs']['layer']['Attrs']
    kind = n['Attrs']['layer']['Kind']
    ra = a.get('recurrent_activation', 'sigmoid')
    h = a['units']
    natural = (a['activation'] == 'tanh' or kind == 'SimpleRNN' and a['activation'] == 'relu') and ra == 'sigmoid'
    fm = rnn_masks(n['Name'] + '_forward', a, train, draws)
    bm = rnn_masks(n['Name'] + '_backward', a, train, draws)
    ff, bf = {}, {}  # each direction's final states
    if natural and fm == (None, None) and bm == (None, None) and not reset_before(n):
        out, hn = m(x)
        f, b = out[..., :h], out[..., h:]
        hn = hn if kind == 'LSTM' else (hn,)
        for i, fin in enumerate((ff, bf)):
            fin['state_h'] = hn[0][i]
            if kind == 'LSTM':
                fin['state_c'] = hn[1][i]
    else:
        f = cells(kind, m, x, a['activation'], ra, a['use_bias'], *fm, reset_before(n), None, ff)
        b = cells(kind, Reverse(m), x.flip(1), a['activation'], ra, a['use_bias'], *bm, reset_before(n), None, bf).flip(1)
    # return_state: Keras's forward_h, forward_c, backward_h, backward_c.
    tw.states[n['Name']] = {d + k[len('state'):]: v for d, fin in (('forward', ff), ('backward', bf)) for k, v in fin.items()}
    if not a['return_sequences']:
        f, b = f[:, -1], b[:, 0]
    mode = n['Attrs']['merge_mode']
    y = {'concat': lambda: torch.cat([f, b], -1), 'sum': lambda: f + b, 'mul': lambda: f * b, 'ave': lambda: (f + b) / 2}[mode]()
    return y, 'plain'


def repeat_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    x = to_nngen(x, lay, in_shape(tw, n))
    return x.unsqueeze(1).repeat(1, n['Attrs']['n'], 1), 'plain'


def td_inner(tw, n):
    """TimeDistributed's inner layer, as a node of the twin that reads one
    step of n's input."""
    step = n['Name'] + '.step'
    tw.by[step] = {'Name': step, 'Shape': in_shape(tw, n)[1:]}
    return dict(n['Attrs']['layer'], Name=n['Name'], Inputs=[step], Shape=n['Shape'][1:], Params=n.get('Params', []))


def td_module(tw, n):
    inner = td_inner(tw, n)
    return MODULES[inner['Kind']](tw, inner)


def td_forward(tw, n, ins, train, draws):
    """The inner layer over batch·T samples of one step."""
    x, lay = ins[0]
    inner = td_inner(tw, n)
    step = tw.by[inner['Inputs'][0]]['Shape']
    xs = from_nngen(to_nngen(x, lay, in_shape(tw, n)).reshape(-1, *step), step)
    y, ly = FORWARD[inner['Kind']](tw, inner, [xs], train, draws)
    y = to_nngen(y, ly, inner['Shape']).reshape(x.shape[0], *n['Shape'])
    return from_nngen(y, n['Shape'])


def sampling_forward(tw, n, ins, train, draws):
    shape = n['Shape']
    (mu, lm), (lv, ll) = ins
    if lm == ll and isinstance(lm, tuple):  # both flattened images: as they are
        if train:
            return mu + torch.exp(0.5 * lv) * like(draws['train.' + n['Name'] + '_eps'], lm, shape), lm
        if n['Attrs']['inference'] == 'sample':
            return mu + torch.exp(0.5 * lv) * like(draws['infer.' + n['Name'] + '_eps'], lm, shape), lm
        return mu, lm
    mu, lv = to_nngen(mu, lm, shape), to_nngen(lv, ll, shape)
    if train:
        eps = draws['train.' + n['Name'] + '_eps'].reshape(mu.shape)
    elif n['Attrs']['inference'] == 'sample':
        eps = draws['infer.' + n['Name'] + '_eps'].reshape(mu.shape)
    else:
        return from_nngen(mu, shape)
    return from_nngen(mu + torch.exp(0.5 * lv) * eps, shape)


class NormStats(nn.Module):
    """Normalization's buffers under the layer's name: mean and variance."""

    def __init__(self, c):
        super().__init__()
        self.register_buffer('mean', torch.zeros(c))
        self.register_buffer('variance', torch.ones(c))


def norm_module(tw, n):
    return NormStats(in_shape(tw, n)[-1])


def norm_forward(tw, n, ins, train, draws):
    # Keras: (x - mean) / max(sqrt(variance), 1e-7) per feature of the
    # last nngen axis, the channels of an NCHW image.
    x, lay = ins[0]
    m = mod(tw, n)
    shape = (1, -1, 1, 1) if lay == 'nchw' else (-1,)
    mean, std = m.mean.reshape(shape), torch.clamp(torch.sqrt(m.variance), min=1e-7).reshape(shape)
    if n['Attrs']['invert']:
        return x * std + mean, lay
    return (x - mean) / std, lay


def rescaling_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    return x * n['Attrs']['scale'] + n['Attrs']['offset'], lay


def first_max(x):
    """Maximum of x over its last axis, its gradient to the first
    position of the maximum (nngen's rule, as PyTorch's max pooling)."""
    m = x.detach().amax(-1, keepdim=True)
    pos = torch.arange(x.shape[-1]).expand(x.shape)
    first = torch.where(x.detach() == m, pos, x.shape[-1]).amin(-1, keepdim=True)
    return x.gather(-1, first).squeeze(-1)


def gmp_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    assert lay == 'nchw'
    y = first_max(torch.flatten(x, 2))
    if n['Attrs']['keepdims']:
        return y[:, :, None, None], 'nchw'
    return y, 'plain'


def gap1d_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    m = step_mask(tw, n)
    if m is None:
        return x.mean(1, keepdim=n['Attrs']['keepdims']), 'plain'
    # Keras's masked mean: the unmasked steps only (0 for none).
    m = m.to(x.dtype)[:, :, None]
    y = (x * m).sum(1, keepdim=True) / m.sum(1, keepdim=True).clamp(min=1)
    return (y if n['Attrs']['keepdims'] else y[:, 0]), 'plain'


def step_mask(tw, n):
    """The mask of node n's input steps, [N, T] booleans, true where the
    token id of the Embedding with mask_zero that n['Mask'] names is not
    0; None without a mask."""
    if not n.get('Mask'):
        return None
    emb = tw.by[n['Mask']]
    x, lay = tw.vals[emb['Inputs'][0]]
    return to_nngen(x, lay, in_shape(tw, emb)).reshape(x.shape[0], -1) != 0


def gmp1d_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    y = first_max(x.transpose(1, 2))
    return (y[:, None, :] if n['Attrs']['keepdims'] else y), 'plain'


def same_layout(n, ins):
    """The inputs in one layout: theirs when they share it, else nngen's
    order in the twin's layout of the shape."""
    if all(lay == ins[0][1] for _, lay in ins):
        return [x for x, _ in ins], ins[0][1]
    xs = [from_nngen(to_nngen(x, lay, None), n['Shape']) for x, lay in ins]
    return [x for x, _ in xs], xs[0][1]


def merge_forward(kind):
    def forward(tw, n, ins, train, draws):
        xs, lay = same_layout(n, ins)
        if kind == 'Add':
            y = sum(xs[1:], xs[0])
        elif kind == 'Subtract':
            y = xs[0] - xs[1]
        elif kind == 'Multiply':
            y = xs[0]
            for x in xs[1:]:
                y = y * x
        elif kind == 'Average':
            y = sum(xs[1:], xs[0]) / len(xs)
        else:
            # The gradient goes to the first input that holds the
            # maximum (minimum), as Keras's chain of tf.maximum; not
            # torch.maximum's halves on a tie.
            y = xs[0]
            for x in xs[1:]:
                y = torch.where(x > y if kind == 'Maximum' else x < y, x, y)
        return y, lay
    return forward


def concat_forward(tw, n, ins, train, draws):
    xs = [to_nngen(x, lay, None).reshape(-1, *tw.by[i]['Shape']) for (x, lay), i in zip(ins, n['Inputs'])]
    a = n['Attrs']['axis']
    rank = len(n['Shape'])
    a = a - 1 if a > 0 else rank + a
    return from_nngen(torch.cat(xs, a + 1), n['Shape'])


def input_slice_forward(tw, n, ins, train, draws):
    """A named input: its values of each sample of the model input."""
    x, lay = ins[0]
    off = n['Attrs']['offset']
    size = math.prod(n['Shape'])
    return from_nngen(to_nngen(x, lay, None).reshape(x.shape[0], -1)[:, off:off + size], n['Shape'])


def dot_forward(tw, n, ins, train, draws):
    """Keras's Dot over the one axis of two inputs; with normalize, of
    l2_normalize(x) = x / sqrt(max(sum(x*x), 1e-12)) each: their cosine."""
    a, c = [to_nngen(x, lay, None).reshape(x.shape[0], -1) for x, lay in ins]
    if n['Attrs']['normalize']:
        a = a / torch.sqrt(torch.clamp((a * a).sum(1, keepdim=True), min=1e-12))
        c = c / torch.sqrt(torch.clamp((c * c).sum(1, keepdim=True), min=1e-12))
    return (a * c).sum(1, keepdim=True), 'plain'


MERGES = ['Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum']
def leaky_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    return torch.where(x >= 0, x, n['Attrs']['negative_slope'] * x), lay


def relu_forward(tw, n, ins, train, draws):
    # Keras's ReLU: max_value above it, x from threshold, else
    # negative_slope·(x − threshold).
    x, lay = ins[0]
    a = n['Attrs']
    y = torch.where(x >= a['threshold'], x, a['negative_slope'] * (x - a['threshold']))
    if a['max_value'] is not None:
        y = torch.where(x >= a['max_value'], torch.full_like(x, a['max_value']), y)
    return y, lay


class PReLU(nn.Module):
    """nn.PReLU's weight, one slope per feature of the last nngen axis
    (the channels of an NCHW image)."""

    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(c))


def prelu_module(tw, n):
    return PReLU(in_shape(tw, n)[-1])


def prelu_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    w = mod(tw, n).weight
    w = w.reshape(-1, 1, 1) if lay == 'nchw' else w
    return torch.where(x >= 0, x, w * x), lay


def upsampling_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    assert lay == 'nchw'
    a = n['Attrs']
    s = a['size']
    if a['interpolation'] == 'nearest':  # exact, where a float scale may round
        return x.repeat_interleave(s[0], dim=2).repeat_interleave(s[1], dim=3), 'nchw'
    return F.interpolate(x, scale_factor=(float(s[0]), float(s[1])), mode='bilinear', align_corners=False), 'nchw'


def zeropad_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    assert lay == 'nchw'
    t, b, l, r = n['Attrs']['padding']
    return F.pad(x, (l, r, t, b)), 'nchw'


def crop_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    assert lay == 'nchw'
    t, b, l, r = n['Attrs']['cropping']
    return x[:, :, t:x.shape[2] - b, l:x.shape[3] - r], 'nchw'


def convt_module(tw, n):
    a, s = n['Attrs'], in_shape(tw, n)
    return nn.ConvTranspose2d(s[2], a['filters'], a['kernel_size'], stride=a['strides'], dilation=a['dilation_rate'], bias=a['use_bias'])


def convt_axis(i, k, s, d, same, op):
    """Keras's deconv_output_length: (length, padding before)."""
    ek = (k - 1) * d + 1
    if op is None:
        if same:
            return i * s, max(ek - s, 0) // 2
        return i * s + max(ek - s, 0), 0
    pad = ek // 2 if same else 0
    return (i - 1) * s + ek - 2 * pad + op, pad


def convt_forward(tw, n, ins, train, draws):
    """The full transposed convolution (nn.ConvTranspose2d without
    padding), cut to Keras's output at its padding (or extended by zeros),
    then the bias."""
    x, lay = ins[0]
    assert lay == 'nchw'
    a, s = n['Attrs'], in_shape(tw, n)
    m = getattr(tw, n['Name'])
    y = F.conv_transpose2d(x, m.weight, None, stride=a['strides'], dilation=a['dilation_rate'])
    op = a['output_padding'] or [None, None]
    same = a['padding'] == 'same'
    h, ph = convt_axis(s[0], a['kernel_size'][0], a['strides'][0], a['dilation_rate'][0], same, op[0])
    w, pw = convt_axis(s[1], a['kernel_size'][1], a['strides'][1], a['dilation_rate'][1], same, op[1])
    assert [h, w] == n['Shape'][:2], (h, w, n['Shape'])
    y = F.pad(y, (-pw, w - (y.shape[3] - pw), -ph, h - (y.shape[2] - ph)))
    if m.bias is not None:
        y = y + m.bias.reshape(1, -1, 1, 1)
    tw.pre[n['Name']] = y, 'nchw'
    return act(a['activation'], y, 'nchw'), 'nchw'


def convt1d_module(tw, n):
    a, s = n['Attrs'], in_shape(tw, n)
    return nn.ConvTranspose1d(s[1], a['filters'], a['kernel_size'][0], stride=a['strides'][0], dilation=a['dilation_rate'][0], bias=a['use_bias'])


def convt1d_forward(tw, n, ins, train, draws):
    """Conv1DTranspose: [N, steps, C] as PyTorch's [N, C, steps], the full
    nn.ConvTranspose1d cut to Keras's output as convt_forward's."""
    x, lay = ins[0]
    assert lay == 'plain'
    a, s = n['Attrs'], in_shape(tw, n)
    m = getattr(tw, n['Name'])
    y = F.conv_transpose1d(x.transpose(1, 2), m.weight, None, stride=a['strides'][0], dilation=a['dilation_rate'][0])
    op = (a['output_padding'] or [None])[0]
    w, pw = convt_axis(s[0], a['kernel_size'][0], a['strides'][0], a['dilation_rate'][0], a['padding'] == 'same', op)
    assert w == n['Shape'][0], (w, n['Shape'])
    y = F.pad(y, (-pw, w - (y.shape[2] - pw)))
    if m.bias is not None:
        y = y + m.bias.reshape(1, -1, 1)
    y = y.transpose(1, 2)
    tw.pre[n['Name']] = y, 'plain'
    return act(a['activation'], y, 'plain'), 'plain'


def depthwise_module(tw, n):
    a, s = n['Attrs'], in_shape(tw, n)
    c = s[2]
    return nn.Conv2d(c, c * a['depth_multiplier'], a['kernel_size'], stride=a['strides'], dilation=a['dilation_rate'], groups=c, bias=a['use_bias'])


class Separable(nn.Module):
    """SeparableConv2D's kernels as two PyTorch convolutions': the
    depthwise nn.Conv2d(groups=channels).weight and the pointwise 1x1
    nn.Conv2d.weight."""

    def __init__(self, c, m, f, k, bias):
        super().__init__()
        self.depthwise_weight = nn.Parameter(torch.zeros(c * m, 1, *k))
        self.pointwise_weight = nn.Parameter(torch.zeros(f, c * m, 1, 1))
        self.bias = nn.Parameter(torch.zeros(f)) if bias else None


def separable_module(tw, n):
    a, s = n['Attrs'], in_shape(tw, n)
    return Separable(s[2], a['depth_multiplier'], a['filters'], a['kernel_size'], a['use_bias'])


def separable_forward(tw, n, ins, train, draws):
    x, lay = ins[0]
    a = n['Attrs']
    assert lay == 'nchw'
    if a['padding'] == 'same':
        x = F.pad(x, pads(a, in_shape(tw, n), a['kernel_size'], a['strides'], a['dilation_rate']))
    m = getattr(tw, n['Name'])
    y = F.conv2d(x, m.depthwise_weight, None, stride=a['strides'], dilation=a['dilation_rate'], groups=x.shape[1])
    y = F.conv2d(y, m.pointwise_weight, m.bias)
    tw.pre[n['Name']] = y, 'nchw'
    return act(a['activation'], y, 'nchw'), 'nchw'


none = lambda tw, n: None
MODULES = {
    'Dense': dense_module, 'Activation': none, 'Conv2D': conv_module, 'MaxPooling2D': none,
    'AveragePooling2D': none, 'GlobalAveragePooling2D': none, 'Flatten': none, 'Reshape': none,
    'Dropout': none, 'BatchNormalization': bn_module, 'Embedding': embedding_module,
    'SimpleRNN': rnn_module('SimpleRNN'), 'LSTM': rnn_module('LSTM'), 'GRU': rnn_module('GRU'),
    'Sampling': none, 'Normalization': norm_module, 'Rescaling': none,
    'GlobalMaxPooling2D': none, 'GlobalAveragePooling1D': none, 'GlobalMaxPooling1D': none,
    'MaxPooling1D': none, 'AveragePooling1D': none,
    'Concatenate': none, **{k: none for k in MERGES}, 'InputSlice': none, 'Dot': none,
    'LeakyReLU': none, 'ReLU': none, 'PReLU': prelu_module,
    'Conv1D': conv1d_module, 'Conv1DTranspose': convt1d_module, 'ZeroPadding1D': none, 'Cropping1D': none, 'UpSampling1D': none,
    'SpatialDropout1D': none, 'SpatialDropout2D': none, 'Slice': none, 'Permute': none, 'UnitNormalization': none,
    'UpSampling2D': none, 'ZeroPadding2D': none, 'Cropping2D': none, 'Conv2DTranspose': convt_module,
    'DepthwiseConv2D': depthwise_module, 'SeparableConv2D': separable_module,
    'Bidirectional': bidi_module, 'TimeDistributed': td_module, 'RepeatVector': none,
    'Output': none,
}
FORWARD = {
    'Dense': dense_forward, 'Activation': activation_forward, 'Conv2D': conv_forward,
    'MaxPooling2D': maxpool_forward, 'AveragePooling2D': avgpool_forward,
    'GlobalAveragePooling2D': gap_forward, 'Flatten': flatten_forward, 'Reshape': reshape_forward,
    'Dropout': dropout_forward, 'BatchNormalization': bn_forward, 'Embedding': embedding_forward,
    'SimpleRNN': rnn_forward('SimpleRNN'), 'LSTM': rnn_forward('LSTM'), 'GRU': rnn_forward('GRU'),
    'Sampling': sampling_forward, 'Normalization': norm_forward, 'Rescaling': rescaling_forward,
    'GlobalMaxPooling2D': gmp_forward, 'GlobalAveragePooling1D': gap1d_forward,
    'GlobalMaxPooling1D': gmp1d_forward, 'Concatenate': concat_forward,
    'InputSlice': input_slice_forward, 'Dot': dot_forward,
    'MaxPooling1D': pool1d_forward('max'), 'AveragePooling1D': pool1d_forward('avg'),
    **{k: merge_forward(k) for k in MERGES},
    'LeakyReLU': leaky_forward, 'ReLU': relu_forward, 'PReLU': prelu_forward,
    'Conv1D': conv1d_forward, 'Conv1DTranspose': convt1d_forward, 'ZeroPadding1D': zeropad1d_forward, 'Cropping1D': crop1d_forward,
    'UpSampling1D': upsample1d_forward, 'SpatialDropout1D': spatial_dropout_forward, 'SpatialDropout2D': spatial_dropout_forward,
    'Permute': permute_forward, 'Slice': slice_forward, 'UnitNormalization': unitnorm_forward,
    'UpSampling2D': upsampling_forward, 'ZeroPadding2D': zeropad_forward, 'Cropping2D': crop_forward,
    'Conv2DTranspose': convt_forward, 'DepthwiseConv2D': conv_forward, 'SeparableConv2D': separable_forward,
    'Bidirectional': bidi_forward, 'TimeDistributed': td_forward,
    'RepeatVector': repeat_forward, 'Output': output_forward,
}


def loss_of(ir, tw, outs, y):
    """The model's loss as nngen documents it (Keras's definitions). Where
    nngen fuses the output's sigmoid or softmax into the loss, its
    gradient is that of the loss of the logits (Keras's path through
    _keras_logits), which the clipping at 1e-7 does not cut."""
    out = ir['Output']
    node = [nd for nd in ir['Nodes'] if nd['Name'] == out][0]
    p = outs[out].reshape(-1)
    t = y.reshape(-1)
    n = ir['Batch']
    kind = ir['Loss']
    terms = ir['Terms']
    c = node['Shape'][-1] if terms is None else p.numel() // n
    p, t = p.reshape(-1, c), t.reshape(-1, c)
    q = p.clamp(EPS, 1 - EPS)
    z = None
    if ir['Fused']:
        z, lay = tw.pre[out]
        z = to_nngen(z, lay, node['Shape']).reshape(-1, c)
    o = ir['LossOpts'] or {}
    kind = ALIASES.get(kind, kind)
    ls = o.get('label_smoothing', 0)
    if ls:
        t = t * (1 - ls) + (ls / c if kind == 'categorical_crossentropy' else ls / 2)
    logits = o.get('from_logits', False)
    if kind == 'categorical_crossentropy' and logits:
        per = -(t * torch.log_softmax(p, 1)).sum(1)
    elif kind == 'categorical_crossentropy':
        per = -(t * torch.log(q)).sum(1)
        if z is not None:
            per = fused(per, -(t * torch.log_softmax(z, 1)).sum(1))
    elif kind == 'binary_crossentropy' and logits:
        per = F.binary_cross_entropy_with_logits(p, t, reduction='none').mean(1)
    elif kind == 'binary_crossentropy':
        per = -(t * torch.log(q) + (1 - t) * torch.log(1 - q)).mean(1)
        if z is not None:
            per = fused(per, F.binary_cross_entropy_with_logits(z, t, reduction='none').mean(1))
    elif kind == 'mse':
        per = ((p - t) ** 2).mean(1)
    elif kind in LOSSES:
        per = LOSSES[kind](p, t, o)
    else:
        raise ValueError('no twin for loss ' + kind)
    if terms is None:
        return per.mean()
    # A reconstruction term sums over each sample's values.
    loss = per.sum() * c / n
    if terms['Mu']:
        mu, lv = outs[terms['Mu']], outs[terms['LogVar']]
        kl = -0.5 * (1 + lv - mu * mu - torch.exp(lv)).sum() / n
        loss = loss + terms['Beta'] * kl
    return loss


ALIASES = {
    'sparse_categorical_crossentropy': 'categorical_crossentropy', 'mean_squared_error': 'mse',
    'mean_absolute_error': 'mae', 'mean_absolute_percentage_error': 'mape',
    'mean_squared_logarithmic_error': 'msle', 'kld': 'kl_divergence',
    'kullback_leibler_divergence': 'kl_divergence', 'logcosh': 'log_cosh',
}


def huber(p, t, o):
    x, d = p - t, o['delta']
    return torch.where(x.abs() <= d, 0.5 * x * x, d * x.abs() - 0.5 * d * d).mean(1)


def hinge_t(t):
    return torch.where(t == 0, -torch.ones_like(t), t)


def categorical_hinge(p, t, o):
    pos = (t * p).sum(1)
    neg = ((1 - t) * p).max(1).values
    return torch.clamp(neg - pos + 1, min=0)


def cosine(p, t, o):
    def l2n(v):
        return v / torch.sqrt(torch.clamp((v * v).sum(1, keepdim=True), min=1e-12))
    return -(l2n(t) * l2n(p)).sum(1)


def focal(p, t, o):
    if o['from_logits']:
        bce = F.binary_cross_entropy_with_logits(p, t, reduction='none')
        p = torch.sigmoid(p)
    else:
        q = p.clamp(EPS, 1 - EPS)
        bce = -(t * torch.log(q) + (1 - t) * torch.log(1 - q))
    pt = t * p + (1 - t) * (1 - p)
    f = (1 - pt) ** o['gamma'] * bce
    if o['apply_class_balancing']:
        f = (t * o['alpha'] + (1 - t) * (1 - o['alpha'])) * f
    return f.mean(1)


LOSSES = {  # Keras's definitions (keras/src/losses/losses.py)
    'huber': huber,
    'mae': lambda p, t, o: (p - t).abs().mean(1),
    'mape': lambda p, t, o: (100 * (t - p).abs() / torch.clamp(t.abs(), min=EPS)).mean(1),
    'msle': lambda p, t, o: ((torch.log(torch.clamp(p, min=EPS) + 1) - torch.log(torch.clamp(t, min=EPS) + 1)) ** 2).mean(1),
    'hinge': lambda p, t, o: torch.clamp(1 - hinge_t(t) * p, min=0).mean(1),
    'squared_hinge': lambda p, t, o: (torch.clamp(1 - hinge_t(t) * p, min=0) ** 2).mean(1),
    'categorical_hinge': categorical_hinge,
    'kl_divergence': lambda p, t, o: (t.clamp(EPS, 1) * torch.log(t.clamp(EPS, 1) / p.clamp(EPS, 1))).sum(1),
    'poisson': lambda p, t, o: (p - t * torch.log(p + EPS)).mean(1),
    'log_cosh': lambda p, t, o: (p - t + F.softplus(-2 * (p - t)) - math.log(2)).mean(1),
    'cosine_similarity': cosine,
    'binary_focal_crossentropy': focal,
}


def fused(value, logits):
    """value, with the gradient of logits."""
    return value.detach() + logits - logits.detach()


def clip(grads, max_norm):
    norm = torch.sqrt(sum((g * g).sum() for g in grads))
    coef = max_norm / (norm + 1e-6)
    return [g * coef for g in grads] if coef < 1 else grads


def run(ir, d):
    res = step(ir, d, DT)
    if ir['DType'] == 'float32':
        # The same in float32 measures how much rounding moves each value
        # (the comparison allows a few times that).
        for k, v in step(ir, d, torch.float32).items():
            res['f32.' + k] = v
    write_st(d + '/twin.safetensors', res)


def step(ir, d, DT):
    """The twin's results in dtype DT."""
    tw = Twin(ir).to(DT)
    sd = {k: v.to(DT) for k, v in read_st(d + '/model.safetensors').items()}
    full = dict(sd)
    for n in ir['Nodes']:
        if n['Kind'] == 'BatchNormalization':  # PyTorch's own counter, which nngen has not
            full[n['Name'] + '.num_batches_tracked'] = torch.tensor(0)
    tw.load_state_dict(full, strict=True)
    ng = read_st(d + '/nngen.safetensors')
    draws = {k: v.to(DT) for k, v in ng.items() if k.startswith(('train.', 'infer.'))}
    x, y = ng['x'].to(DT), ng['y'].to(DT)
    x = x.reshape(ir['Batch'], -1)
    res = {'before.' + k: v for k, v in sd.items()}
    with torch.no_grad():
        res['out'] = tw(x, False, draws)[ir['Output']].reshape(-1)
    outs = tw(x, True, draws)
    loss = loss_of(ir, tw, outs, y)
    loss.backward()
    res['loss'] = loss.detach().reshape(1)
    params = dict(tw.named_parameters())
    for name in sd:
        if name in params:
            g = params[name].grad
            res['grad.' + name] = g if g is not None else torch.zeros_like(params[name])
    with torch.no_grad():
        grads = [res['grad.' + k] for k in sd if k in params]
        # Keras's clipping keys, with clip_grad_norm_'s factor max/(norm + 1e-6).
        if ir['ClipNorm'] > 0:  # each tensor on its own
            grads = [clip([g], ir['ClipNorm'])[0] for g in grads]
        if ir['GlobalClipNorm'] > 0:
            grads = clip(grads, ir['GlobalClipNorm'])
        if ir['ClipValue'] > 0:
            grads = [g.clamp(-ir['ClipValue'], ir['ClipValue']) for g in grads]
        i = 0
        state = tw.state_dict()
        for name in sd:
            if name in params:
                res['after.' + name] = params[name] - ir['LR'] * grads[i]
                i += 1
            else:
                res['after.' + name] = state[name]
    return res


def main():
    if sys.argv[1] == '--kinds':
        print(' '.join(sorted(FORWARD)))
        return
    torch.set_num_threads(1)
    for m in json.load(open(sys.argv[1])):
        d = m['dir']
        try:
            run(m['ir'], d)
        except Exception:
            open(d + '/twin_error.txt', 'w').write(traceback.format_exc())


if __name__ == '__main__':
    main()
