"""The model of a latentkit run as torch.nn.Modules (written by `latentkit export --format torch-project`).

Parameter names are latentkit's dotted names: `encoder.0.weight`, `decoder.2.bias` (nn.Sequential
indices of Linear layers between activations), so a state dict moves both ways unchanged. The
initialisation is PyTorch's default for Linear layers, U(±1/sqrt(fan_in)), which is latentkit's too.

Families: vae, beta-vae, iwae (an MLP encoder giving μ and log σ² in one layer, split like
torch.chunk; an MLP decoder giving Bernoulli logits or the Gaussian mean); cvae (the same, with the
one-hot label concatenated to the encoder's and the decoder's input, and with
conditionalPrior=class-mean a learned prior mean per class, `priorMean` [K, d]); ae, dae and
stacked-ae (the same MLPs, the encoder's output is the code); sparse-ae and contractive-ae (the
code through a sigmoid); conv-vae and conv-ae (latentkit's conv nets, src/models/conv-nets.ts:
strided convs with Keras's padding, a dense layer to the code, transposed convs back; conv-ae's
`convCode: grid` is the VQ-VAE's grid of code vectors, flattened); dvae (MLPs from the image to
N·K logits of N categoricals with K classes, and from an N·K (relaxed) one-hot code back); vq-vae
(the conv grid or MLP nets to N code vectors of D numbers, a codebook of K vectors: `codebook`
trained by gradient, or under `buffers.` the EMA codebook, `clusterSize` and `embedSum`, and
`buffers.usage` for dead-code restarts without EMA; the update after each step is `after_step`).
"""
import math
import torch
from torch import nn
import torch.nn.functional as F

from losses import loss_of, update_quantizer

LATENT_FAMILIES = ("vae", "beta-vae", "iwae", "cvae", "conv-vae")
SIGMOID_CODE_FAMILIES = ("sparse-ae", "contractive-ae")
FAMILIES = LATENT_FAMILIES + ("ae", "dae", "stacked-ae", "conv-ae", "dvae", "vq-vae") + SIGMOID_CODE_FAMILIES


ACTIVATIONS = {
    "relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "softplus": nn.Softplus,
    "elu": nn.ELU, "gelu": nn.GELU, "identity": nn.Identity,
}


def activation(name, slope):
    """latentkit's activation names as modules (leakyRelu takes the config's leakySlope)."""
    if name == "leakyRelu":
        return nn.LeakyReLU(slope)
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name}")
    return ACTIVATIONS[name]()


def mlp(sizes, act, slope):
    """Linear, act, Linear, act, ..., Linear: the Linear layers at indices 0, 2, 4, ..."""
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(activation(act, slope))
    return nn.Sequential(*layers)


# --- conv nets: latentkit's src/models/conv-nets.ts, the same nn.Sequential indices ---

def same_padding(n, k, s):
    """TensorFlow's 'same' padding (before, after) of a conv over n: total max((ceil(n/s) − 1)·s + k − n, 0), floor half before."""
    total = max((math.ceil(n / s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class KerasConv2d(nn.Conv2d):
    """A Keras Conv2D: 'valid' (no padding, out = floor((n − k)/s) + 1) or 'same' (out = ceil(n/s), padded TF's way)."""

    def __init__(self, c_in, c_out, k, stride, padding):
        super().__init__(c_in, c_out, k, stride)
        self.keras_padding = padding

    def forward(self, x):
        if self.keras_padding == "same":
            k, s = self.kernel_size[0], self.stride[0]
            hb, ha = same_padding(x.shape[2], k, s)
            wb, wa = same_padding(x.shape[3], k, s)
            x = F.pad(x, (wb, wa, hb, ha))
        return super().forward(x)


class KerasConvTranspose2d(nn.ConvTranspose2d):
    """A Keras Conv2DTranspose, padding 'same' (out = n·s): torch's with padding = floor((k − s)⁺ / 2) and
    output_padding (s − k)⁺, then the last rows and columns past n·s dropped (TF pads after, not before)."""

    def __init__(self, c_in, c_out, k, stride):
        super().__init__(c_in, c_out, k, stride)

    def forward(self, x):
        k, s = self.kernel_size[0], self.stride[0]
        before = max(k - s, 0) // 2
        y = F.conv_transpose2d(x, self.weight, self.bias, s, before, max(s - k, 0))
        return y[:, :, : x.shape[2] * s, : x.shape[3] * s]


def conv_encoder(shape, channels, k, padding, act, slope, dense, out):
    """(Conv2d(k, s2) → act) × n [→ Flatten → (Linear → act)* → Linear(out)]: convs at 0, 2, ..., Flatten at 2n,
    Linears at 2n+1, 2n+3, ...; returns (the Sequential, the feature map's [c, h, w])."""
    c, h, w = shape
    layers = []
    for c_out in channels:
        layers += [KerasConv2d(c, c_out, k, 2, padding), activation(act, slope)]
        h = math.ceil(h / 2) if padding == "same" else (h - k) // 2 + 1
        w = math.ceil(w / 2) if padding == "same" else (w - k) // 2 + 1
        c = c_out
    if out:
        layers.append(nn.Flatten())
        sizes = [c * h * w] + list(dense) + [out]
        for j in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[j], sizes[j + 1]))
            if j < len(sizes) - 2:
                layers.append(activation(act, slope))
    return nn.Sequential(*layers), (c, h, w)


def conv_decoder(image_shape, channels, start_channels, k, act, slope, input_dim, dense):
    """[(Linear → act)* → Linear(c0·h0·w0) → act → Unflatten] → (ConvT(k, s2, same) → act) × m → ConvT(k, s1, same):
    Linears at 0, 2, ..., Unflatten at 2J, convs from 2J + 1 (from 0 without a dense part); h0 = ceil(H / 2^m).
    Its output is cropped to the image by the caller."""
    C, H, W = image_shape
    up = 2 ** len(channels)
    start = (start_channels, math.ceil(H / up), math.ceil(W / up))
    layers = []
    if input_dim:
        sizes = [input_dim] + list(dense) + [start[0] * start[1] * start[2]]
        for j in range(len(sizes) - 1):
            layers += [nn.Linear(sizes[j], sizes[j + 1]), activation(act, slope)]
        layers.append(nn.Unflatten(1, start))
    c_ins, c_outs = [start_channels] + list(channels), list(channels) + [C]
    for i, (c_in, c_out) in enumerate(zip(c_ins, c_outs)):
        layers.append(KerasConvTranspose2d(c_in, c_out, k, 2 if i < len(channels) else 1))
        if i < len(channels):
            layers.append(activation(act, slope))
    return nn.Sequential(*layers)


class Model(nn.Module):
    """encoder: D(+K) -> hidden... -> out (2d for a Gaussian posterior, d for an ae); decoder: d(+K) -> reversed hidden... -> D."""

    def __init__(self, config):
        super().__init__()
        family = config["model"]
        if family not in FAMILIES:
            raise ValueError(f"{family}: not exported as a PyTorch project (supported: {', '.join(FAMILIES)})")
        c, h, w = config["data"]["imageShape"]
        self.family = family
        self.config = config
        self.image_shape = (c, h, w)
        self.latent = config["latent"]
        self.probabilistic = family in LATENT_FAMILIES
        D = c * h * w
        hidden = list(config["hidden"])
        self.conditional = family == "cvae"
        K = config["data"]["numClasses"] if self.conditional else 0
        if self.conditional and not K:
            raise ValueError("cvae needs a labelled data set (data.numClasses)")
        self.num_classes = K
        out = 2 * self.latent if self.probabilistic else self.latent
        self.grid = None
        if family in ("conv-vae", "conv-ae"):
            slope, k, ch = config["leakySlope"], config["convKernel"], list(config["convChannels"])
            dense = [config["convDense"]] if config["convDense"] > 0 else []
            if family == "conv-ae" and config.get("convCode") == "grid":
                # the VQ-VAE's grid: 'same' convs, a 1×1 projection to `latent` channels at each of the h·w positions
                encoder, (c_f, h_f, w_f) = conv_encoder((c, h, w), ch, k, "same", config["encoderActivation"], slope, [], 0)
                self.encoder = encoder
                self.project = nn.Linear(c_f, self.latent)
                self.grid = (h_f, w_f)
                self.decoder = conv_decoder((c, h, w), ch[::-1], self.latent, k, config["decoderActivation"], slope, 0, [])
            else:
                self.encoder, _ = conv_encoder((c, h, w), ch, k, "valid", config["encoderActivation"], slope, dense, out)
                self.decoder = conv_decoder((c, h, w), ch[::-1], ch[0], k, config["decoderActivation"], slope, self.latent, dense)
            self.conv = True
        elif family == "vq-vae":
            self.conv = config["vqNets"] == "conv"
            D, K = config["latent"], config["codebookSize"]
            slope = config["leakySlope"]
            if self.conv:
                ch, k = list(config["convChannels"]), config["convKernel"]
                self.encoder, (c_f, h_f, w_f) = conv_encoder((c, h, w), ch, k, "same", config["encoderActivation"], slope, [], 0)
                self.project = nn.Linear(c_f, D)
                self.grid = (h_f, w_f)
                self.decoder = conv_decoder((c, h, w), ch[::-1], D, k, config["decoderActivation"], slope, 0, [])
                self.positions = h_f * w_f
            else:
                self.positions = config["codePositions"]
                self.encoder = mlp([c * h * w] + hidden + [self.positions * D], config["encoderActivation"], slope)
                self.decoder = mlp([self.positions * D] + hidden[::-1] + [c * h * w], config["decoderActivation"], slope)
            # e ~ U(−1/K, 1/K) [K, D]; with EMA, N = 1 and m = e, so that e = m / Ñ holds at the start
            e = (torch.rand(K, D) * 2 - 1) / K
            state = nn.Module()
            if config["ema"]:
                state.register_buffer("codebook", e.clone())
                state.register_buffer("clusterSize", torch.ones(K))
                state.register_buffer("embedSum", e.clone())
            else:
                self.codebook = nn.Parameter(e)
                if config["deadCodeRestart"]:
                    state.register_buffer("usage", torch.ones(K) * config["deadCodeThreshold"])
            if len(state._buffers):
                self.buffers = state  # state dict names buffers.codebook, ...; read it as self.vq_buffers()
        elif family == "dvae":
            self.conv = False
            NK = config["categoricals"] * config["classes"]
            self.encoder = mlp([D] + hidden + [NK], config["encoderActivation"], config["leakySlope"])
            self.decoder = mlp([NK] + hidden[::-1] + [D], config["decoderActivation"], config["leakySlope"])
        else:
            self.conv = False
            self.encoder = mlp([D + K] + hidden + [out], config["encoderActivation"], config["leakySlope"])
            self.decoder = mlp([self.latent + K] + hidden[::-1] + [D], config["decoderActivation"], config["leakySlope"])
        if self.conditional and config["conditionalPrior"] == "class-mean":
            self.priorMean = nn.Parameter(torch.zeros(K, self.latent))  # μ_c of p(z|c) = N(μ_c, I), rows by class
        else:
            self.priorMean = None
        self.sigmoid_code = family in SIGMOID_CODE_FAMILIES

    def vq_buffers(self):
        """The quantiser's buffers (the submodule named `buffers`, which nn.Module's buffers() method shadows)."""
        return self._modules.get("buffers")

    def codebook_vectors(self):
        """The codebook e [K, D]: the EMA buffer, or the trained parameter."""
        return self.vq_buffers().codebook if self.config["ema"] else self.codebook

    def vq_encode(self, x):
        """The code vectors z_e [B, N, D] of images x."""
        D = self.config["latent"]
        if self.grid is not None:
            f = self.encoder(x).permute(0, 2, 3, 1)  # [B, h, w, c]
            return self.project(f).reshape(x.shape[0], -1, D)
        return self.encoder(x.reshape(x.shape[0], -1)).reshape(x.shape[0], self.positions, D)

    def vq_decode(self, zq):
        """The decoder's output [B, C, H, W] from code vectors [B, N, D]."""
        B = zq.shape[0]
        if self.grid is not None:
            h, w = self.grid
            _, H, W = self.image_shape
            return self.decoder(zq.reshape(B, h, w, -1).permute(0, 3, 1, 2))[:, :, :H, :W]
        return self.decoder(zq.reshape(B, -1)).reshape(B, *self.image_shape)

    def one_hot(self, labels):
        """The conditioning c: one-hot labels [B, K] (float), or None for unconditional models."""
        if not self.conditional:
            return None
        if labels is None:
            raise ValueError("cvae needs the labels")
        return torch.nn.functional.one_hot(labels.long(), self.num_classes).to(torch.float32)

    def encode(self, x, c=None):
        """x [B, C, H, W] (and c [B, K]) -> (μ, log σ²), each [B, d]; or the code [B, d] for an ae."""
        if self.grid is not None:
            f = self.encoder(x).permute(0, 2, 3, 1)  # [B, h, w, c]: position-major
            return self.project(f).reshape(x.shape[0], -1)  # [B, h·w·latent]
        if self.conv:
            out = self.encoder(x)
        else:
            h = x.reshape(x.shape[0], -1)
            out = self.encoder(torch.cat([h, c], 1) if c is not None else h)
        if not self.probabilistic:
            return torch.sigmoid(out) if self.sigmoid_code else out
        return torch.chunk(out, 2, dim=1)

    def decode(self, z, c=None):
        """z [N, d] (and c [N, K]) -> the decoder's output before the link (logits or the Gaussian mean), [N, C, H, W]."""
        if self.grid is not None:
            h, w = self.grid
            z = z.reshape(z.shape[0], h, w, self.latent).permute(0, 3, 1, 2)
        if self.conv:
            _, H, W = self.image_shape
            return self.decoder(z)[:, :, :H, :W]
        return self.decoder(torch.cat([z, c], 1) if c is not None else z).reshape(z.shape[0], *self.image_shape)

    def forward(self, x, kl_weight, eps=None, training=True, labels=None, temperature=1.0):
        """The family's objective on a batch: (loss, metrics) (losses.py). One forward per step, as DDP wants.

        eps fixes the noise: the reparameterisation's ε (vae, beta-vae, cvae: [B, d]; iwae: [k, B, d]) or
        the dae's corruption draw (its keep-mask, or its Gaussian ε, shaped like x), or the dvae's Gumbel
        noise [B, N, K]; temperature is the dvae's τ_t.
        """
        return loss_of(self, self.config, x, kl_weight, eps, training, labels, temperature)

    def after_step(self, stats=None):
        """The non-gradient update after an optimizer step (vq-vae with EMA or restarts; nothing otherwise),
        from the statistics of the last forward (or `stats`, all-reduced over processes by train.py)."""
        if self.family == "vq-vae" and (self.config["ema"] or self.config["deadCodeRestart"]):
            update_quantizer(self, self.config, stats if stats is not None else self.vq_stats)
