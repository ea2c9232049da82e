// The fixed Python the generated model.py starts with: the few helpers the op lowerings call
// (src/emit/torch/lower.ts) and the registration helpers that give every parameter its exact
// state_dict name whatever the layer is called; the token modules of CaiT and ResMLP; the spiking
// neuron, whose float ops are ordered as the ONNX lowering (src/emit/onnx/lower-spike.ts) and the
// tfjs runtime (packages/runtime/src/layers-spike.ts) order them, so that the spikes are the same.
// Takes: nothing. Gives: Python source text (no user text in it). Must not: need anything but torch.

/** Names the prelude and the imports bind at module level: no generated class may take them. */
export const PRELUDE_NAMES = [
  "torch",
  "nn",
  "F",
  "MODELS",
  "_child",
  "_get",
  "_Group",
  "_parent",
  "_put",
  "_link",
  "_same_pads",
  "_pad",
  "_avg_pool",
  "_drop_path",
  "_Weight",
  "_Bias",
  "_Affine",
  "_TalkingHeadAttn",
  "_ClassAttn",
  "_Spike",
  "_neuron",
];

export const PRELUDE = `import torch
import torch.nn.functional as F
from torch import nn


def _child(m, name):
    """The child module, parameter, buffer or linked (shared) layer \`name\` of \`m\`, whatever its name."""
    for table in (m._modules, m._parameters, m._buffers, m.__dict__.get("_links", {})):
        if name in table:
            return table[name]
    raise AttributeError(name)


def _get(m, path):
    """The object at dotted \`path\` below \`m\`."""
    for name in path.split("."):
        m = _child(m, name)
    return m


class _Group(nn.Module):
    """Holds named children only (\`layer1\`, \`downsample\`), read as \`group[0]\` or \`group.name\`."""

    def __init__(self, **children):
        super().__init__()
        for name, child in children.items():
            self._modules[name] = child

    def __getitem__(self, key):
        return _child(self, str(key))

    def __setattr__(self, name, value):
        # A child named \`training\` (a legal layer name): nn.Module's own flag goes around it.
        if name == "training" and isinstance(value, bool):
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)


def _parent(m, path):
    *parents, last = path.split(".")
    for name in parents:
        if name not in m._modules:
            m._modules[name] = _Group()
        m = m._modules[name]
    return m, last


def _put(m, path, value):
    """Registers a module or an nn.Parameter at dotted \`path\` below \`m\`, making groups on the way;
    any name works, even one nn.Module has as an attribute (\`forward\`)."""
    m, last = _parent(m, path)
    if isinstance(value, nn.Parameter):
        m._parameters[last] = value
    else:
        m._modules[last] = value


def _link(m, path, value):
    """Makes another layer's module or parameter readable at \`path\` (through _child) without registering
    it: a later use of a \`share\`d block, whose parameters belong to its first use only (state_dict has
    them once)."""
    m, last = _parent(m, path)
    m.__dict__.setdefault("_links", {})[last] = value


def _same_pads(x, kernel, stride, dilation):
    """ONNX's SAME_UPPER (TensorFlow's SAME) for the size \`x\` has: ceil(size / stride) outputs, the odd
    pad at the end."""
    begin, end = [], []
    for size, k, s, d in zip(x.shape[2:], kernel, stride, dilation):
        total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
        begin.append(total // 2)
        end.append(total - total // 2)
    return tuple(begin + end)


def _pad(x, pads, value=0.0):
    """F.pad with ONNX-style pads (the begin of each spatial dim, then the ends; F.pad wants the last dim
    first)."""
    n = len(pads) // 2
    torch_pads = []
    for i in reversed(range(n)):
        torch_pads += [pads[i], pads[n + i]]
    return F.pad(x, torch_pads, value=value)


def _avg_pool(x, kernel, stride, pads, ceil, count_pad):
    """Average pooling over explicit pads (None: \`same\`): padded zeros counted (PyTorch's
    count_include_pad), or the sum divided by the cells inside the input."""
    pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[len(kernel) - 1]
    if pads is None:
        pads = _same_pads(x, kernel, stride, (1,) * len(kernel))
    y = pool(_pad(x, pads), kernel, stride, 0, ceil, True)
    if count_pad:
        return y
    inside = _pad(torch.ones_like(x[:1, :1]), pads)
    return y / pool(inside, kernel, stride, 0, ceil, True)


def _drop_path(x, p, training):
    """Stochastic depth (Huang et al. 2016): in training, each sample's branch is dropped with
    probability p and the kept ones scaled by 1 / (1 - p); the identity in eval mode."""
    if not training or p == 0.0:
        return x
    keep = 1.0 - p
    shape = (x.shape[0],) + (1,) * (x.dim() - 1)
    mask = torch.floor(torch.rand(shape, dtype=x.dtype, device=x.device) + keep)
    return x * mask / keep


class _Weight(nn.Module):
    """A learned scale \`weight\`: a gate's one scalar, or LayerScale's vector over \`axis\` (1: channels,
    2: the last axis of [N, T, D])."""

    def __init__(self, size, axis=1):
        super().__init__()
        self.axis = axis
        self.weight = nn.Parameter(torch.ones(size))

    def forward(self, x):
        w = self.weight
        if w.numel() > 1 and self.axis == 1 and x.dim() > 2:
            w = w.view((-1,) + (1,) * (x.dim() - 2))
        return x * w


class _Bias(nn.Module):
    """A learned scalar \`bias\` added (Fixup's scalar biases, Zhang et al. 2019)."""

    def __init__(self, size):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(size))

    def forward(self, x):
        return x + self.bias


class _Affine(nn.Module):
    """ResMLP's Affine (Touvron et al. 2021; timm mlp_mixer.py): alpha * x + beta over the last dim."""

    def __init__(self, shape):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))

    def forward(self, x):
        return x * self.alpha + self.beta


class _TalkingHeadAttn(nn.Module):
    """CaiT's talking-heads attention (timm cait.py TalkingHeadAttn) over [N, T, D]: the scores mixed
    across the heads by proj_l before the softmax and by proj_w after it."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.proj_l = nn.Linear(heads, heads)
        self.proj_w = nn.Linear(heads, heads)

    def forward(self, x):
        n, t, d = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        a = q @ k.transpose(-2, -1)
        a = self.proj_l(a.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        a = a.softmax(dim=-1)
        a = self.proj_w(a.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.proj((a @ v).transpose(1, 2).reshape(n, t, d))


class _ClassAttn(nn.Module):
    """CaiT's class attention (timm cait.py ClassAttn): token 0 queries every token; [N, T, D] ->
    [N, 1, D]."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        n, t, d = x.shape
        h = self.heads
        q = self.q(x[:, 0:1]).reshape(n, 1, h, d // h).permute(0, 2, 1, 3) * self.scale
        k = self.k(x).reshape(n, t, h, d // h).permute(0, 2, 1, 3)
        v = self.v(x).reshape(n, t, h, d // h).permute(0, 2, 1, 3)
        a = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(n, 1, d))


class _Spike(torch.autograd.Function):
    """The Heaviside spike = (x >= 0) forward; backward the surrogate gradient, as the tfjs runtime's:
    ATan alpha / 2 / (1 + (pi / 2 * alpha * x) ** 2) (SpikingJelly surrogate.ATan), or rectangular
    1 / width on |x| < width / 2."""

    @staticmethod
    def forward(ctx, x, surrogate, alpha, width):
        ctx.save_for_backward(x)
        ctx.surrogate, ctx.alpha, ctx.width = surrogate, alpha, width
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        if ctx.surrogate == "rect":
            g = (x.abs() < ctx.width / 2).to(x.dtype) / ctx.width
        else:
            u = x * (3.141592653589793 / 2 * ctx.alpha)
            g = (ctx.alpha / 2) / (1 + u * u)
        return dy * g, None, None, None


def _neuron(x, T, tau, v_th, v_reset, hard, detach_reset, surrogate, alpha, width):
    """An IF (tau None) or LIF neuron over [T*N, ...], time-major (SpikingJelly's multi-step IFNode /
    LIFNode with decay_input): the spikes, same shape. The float ops in this order, as ONNX and tfjs
    compute them: IF h = v + x; LIF h = v + (x - (v - v_reset)) / tau; d = h - v_th; spike = d >= 0;
    hard reset v = h * (1 - s) + v_reset * s, soft v = h - s * v_th (s detached with detach_reset)."""
    const = lambda c: torch.full((), c, dtype=x.dtype, device=x.device)
    steps = x.reshape(T, -1)
    v_th_t, v_reset_t = const(v_th), const(v_reset)
    v = v_reset_t if hard else const(0.0)
    spikes = []
    for t in range(T):
        if tau is None:
            h = v + steps[t]
        else:
            rel = v if v_reset == 0 else v - v_reset_t
            h = v + (steps[t] - rel) / const(tau)
        s = _Spike.apply(h - v_th_t, surrogate, alpha, width)
        spikes.append(s)
        if t == T - 1:
            break
        sr = s.detach() if detach_reset else s
        if not hard:
            v = h - sr * v_th_t
        elif v_reset == 0:
            v = h * (1 - sr)
        else:
            v = h * (1 - sr) + v_reset_t * sr
    return torch.stack(spikes).reshape(x.shape)
`;
