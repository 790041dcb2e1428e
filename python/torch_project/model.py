"""The model of a latentkit run as torch.nn.Modules (written by `latentkit export --format torch-project`).

Parameter names are latentkit's dotted names: `encoder.0.weight`, `decoder.2.bias` (nn.Sequential
indices of Linear layers between activations), so a state dict moves both ways unchanged. The
initialisation is PyTorch's default for Linear layers, U(±1/sqrt(fan_in)), which is latentkit's too.

Families: vae, beta-vae, iwae (an MLP encoder giving μ and log σ² in one layer, split like
torch.chunk; an MLP decoder giving Bernoulli logits or the Gaussian mean); cvae (the same, with the
one-hot label concatenated to the encoder's and the decoder's input, and with
conditionalPrior=class-mean a learned prior mean per class, `priorMean` [K, d]); ae, dae and
stacked-ae (the same MLPs, the encoder's output is the code); sparse-ae and contractive-ae (the
code through a sigmoid).
"""
import torch
from torch import nn

from losses import loss_of

LATENT_FAMILIES = ("vae", "beta-vae", "iwae", "cvae")
SIGMOID_CODE_FAMILIES = ("sparse-ae", "contractive-ae")
FAMILIES = LATENT_FAMILIES + ("ae", "dae", "stacked-ae") + SIGMOID_CODE_FAMILIES


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
        self.encoder = mlp([D + K] + hidden + [out], config["encoderActivation"], config["leakySlope"])
        self.decoder = mlp([self.latent + K] + hidden[::-1] + [D], config["decoderActivation"], config["leakySlope"])
        if self.conditional and config["conditionalPrior"] == "class-mean":
            self.priorMean = nn.Parameter(torch.zeros(K, self.latent))  # μ_c of p(z|c) = N(μ_c, I), rows by class
        else:
            self.priorMean = None
        self.sigmoid_code = family in SIGMOID_CODE_FAMILIES

    def one_hot(self, labels):
        """The conditioning c: one-hot labels [B, K] (float), or None for unconditional models."""
        if not self.conditional:
            return None
        if labels is None:
            raise ValueError("cvae needs the labels")
        return torch.nn.functional.one_hot(labels.long(), self.num_classes).to(torch.float32)

    def encode(self, x, c=None):
        """x [B, C, H, W] (and c [B, K]) -> (μ, log σ²), each [B, d]; or the code [B, d] for an ae."""
        h = x.reshape(x.shape[0], -1)
        out = self.encoder(torch.cat([h, c], 1) if c is not None else h)
        if not self.probabilistic:
            return torch.sigmoid(out) if self.sigmoid_code else out
        return torch.chunk(out, 2, dim=1)

    def decode(self, z, c=None):
        """z [N, d] (and c [N, K]) -> the decoder's output before the link (logits or the Gaussian mean), [N, C, H, W]."""
        return self.decoder(torch.cat([z, c], 1) if c is not None else z).reshape(z.shape[0], *self.image_shape)

    def forward(self, x, kl_weight, eps=None, training=True, labels=None):
        """The family's objective on a batch: (loss, metrics) (losses.py). One forward per step, as DDP wants.

        eps fixes the noise: the reparameterisation's ε (vae, beta-vae, cvae: [B, d]; iwae: [k, B, d]) or
        the dae's corruption draw (its keep-mask, or its Gaussian ε, shaped like x).
        """
        return loss_of(self, self.config, x, kl_weight, eps, training, labels)
