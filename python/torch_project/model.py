"""The model of a latentkit run as torch.nn.Modules (written by `latentkit export --format torch-project`).

Parameter names are latentkit's dotted names: `encoder.0.weight`, `decoder.2.bias` (nn.Sequential
indices of Linear layers between activations), so a state dict moves both ways unchanged. The
initialisation is PyTorch's default for Linear layers, U(±1/sqrt(fan_in)), which is latentkit's too.

Families: vae, beta-vae, iwae (an MLP encoder giving μ and log σ² in one layer, split like
torch.chunk; an MLP decoder giving Bernoulli logits or the Gaussian mean) and ae (the same MLPs, the
encoder's output is the code).
"""
import torch
from torch import nn

from losses import loss_of

LATENT_FAMILIES = ("vae", "beta-vae", "iwae")
FAMILIES = LATENT_FAMILIES + ("ae",)


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
    """encoder: D -> hidden... -> out (2d for a Gaussian posterior, d for an ae); decoder: d -> reversed hidden... -> D."""

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
        out = 2 * self.latent if self.probabilistic else self.latent
        self.encoder = mlp([D] + hidden + [out], config["encoderActivation"], config["leakySlope"])
        self.decoder = mlp([self.latent] + hidden[::-1] + [D], config["decoderActivation"], config["leakySlope"])

    def encode(self, x):
        """x [B, C, H, W] -> (μ, log σ²), each [B, d]; or the code [B, d] for an ae."""
        out = self.encoder(x.reshape(x.shape[0], -1))
        if not self.probabilistic:
            return out
        return torch.chunk(out, 2, dim=1)

    def decode(self, z):
        """z [N, d] -> the decoder's output before the link (logits or the Gaussian mean), [N, C, H, W]."""
        return self.decoder(z).reshape(z.shape[0], *self.image_shape)

    def forward(self, x, kl_weight, eps=None, training=True):
        """The family's objective on a batch: (loss, metrics) (losses.py). One forward per step, as DDP wants."""
        return loss_of(self, self.config, x, kl_weight, eps, training)
