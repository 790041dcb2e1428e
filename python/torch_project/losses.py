"""The objectives of latentkit's families, in PyTorch (written by `latentkit export --format torch-project`).

Each returns (loss, metrics) with latentkit's reductions: summed over pixels and latent dimensions,
averaged over the batch, so the numbers are nats per example, as latentkit's metrics.jsonl reports them.
`eps` fixes the noise (the tests feed latentkit's draws); None draws it here.
"""
import math
import torch
import torch.nn.functional as F


def log_likelihood(config, out, x):
    """log p(x|z) per example [N], out the decoder's output [N, C, H, W].

    bernoulli: Σ x log σ(l) + (1 − x) log σ(−l)        (−BCE on logits)
    gaussian:  Σ −½ ((x − m)² / s² + log 2π s²)          (s² the configured variance)
    """
    if config["likelihood"] == "bernoulli":
        return -F.binary_cross_entropy_with_logits(out, x, reduction="none").flatten(1).sum(1)
    var = config["gaussianVariance"]
    if var == "learned":
        raise ValueError("gaussianVariance=learned is not exported")
    return (-0.5 * ((x - out) ** 2 / var + math.log(2 * math.pi * var))).flatten(1).sum(1)


def kl_standard_normal_per_dim(mu, log_var):
    """KL(N(μ, σ²) ‖ N(0, 1)) per dimension = ½ (μ² + σ² − log σ² − 1)."""
    return 0.5 * (mu ** 2 + torch.exp(log_var) - log_var - 1)


def elbo_loss(model, config, x, kl_weight, eps=None, training=True):
    """loss = mean_batch( −E_q[log p(x|z)] + β_t · KL(q(z|x) ‖ N(0, I)) ),  z = μ + σ ⊙ ε  (one sample).

    Free bits (λ = freeBits > 0): each dimension's batch-mean KL is floored at λ in the objective.
    Encoder noise (σ_n = encoderNoise > 0, training only): q is computed from x + σ_n ε_n; the decoder scores the clean x.
    """
    inp = x
    if training and config.get("encoderNoise", 0) > 0:
        inp = x + torch.randn_like(x) * config["encoderNoise"]
    mu, log_var = model.encode(inp)
    if eps is None:
        eps = torch.randn_like(mu)
    z = mu + torch.exp(0.5 * log_var) * eps
    recon = -log_likelihood(config, model.decode(z), x)  # [B]
    kl_dim = kl_standard_normal_per_dim(mu, log_var)  # [B, d]
    kl = kl_dim.sum(1)
    if config.get("freeBits", 0) > 0:
        kl_objective = torch.clamp(kl_dim.mean(0), min=config["freeBits"]).sum()
    else:
        kl_objective = kl.mean()
    loss = recon.mean() + kl_weight * kl_objective
    return loss, {"recon": recon.mean(), "kl": kl.mean()}


def log_importance_weights(model, config, x, k, eps=None):
    """log w_i = log p(x|z_i) + log p(z_i) − log q(z_i|x),  z_i ~ q(z|x), i = 1..k: [k, B]."""
    mu, log_var = model.encode(x)
    B, d = mu.shape
    if eps is None:
        eps = torch.randn(k, B, d, dtype=mu.dtype)
    std = torch.exp(0.5 * log_var)
    z = mu + std * eps  # [k, B, d]
    log_q = (-0.5 * ((z - mu) / std) ** 2 - torch.log(std) - 0.5 * math.log(2 * math.pi)).sum(-1)
    log_pz = (-0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)).sum(-1)
    out = model.decode(z.reshape(k * B, d))
    x_rep = x.unsqueeze(0).expand(k, *x.shape).reshape(k * B, *x.shape[1:])
    log_px = log_likelihood(config, out, x_rep).reshape(k, B)
    return log_px + log_pz - log_q


def iwae_loss(model, config, x, eps=None):
    """IWAE_k = E[ log (1/k) Σ_i w_i ]  (Burda et al.); loss = −mean_batch IWAE_k."""
    k = config["iwSamples"]
    log_w = log_importance_weights(model, config, x, k, eps)
    bound = torch.logsumexp(log_w, 0) - math.log(k)
    return -bound.mean(), {"iwae": bound.mean(), "elbo": log_w.mean(0).mean()}


def ae_loss(model, config, x):
    """L = mean_batch Σ_pixels ℓ(x, g(f(x))): BCE on logits (bernoulli) or (x − g)² (gaussian)."""
    out = model.decode(model.encode(x))
    if config["likelihood"] == "bernoulli":
        recon = F.binary_cross_entropy_with_logits(out, x, reduction="none").flatten(1).sum(1)
    else:
        recon = ((x - out) ** 2).flatten(1).sum(1)
    return recon.mean(), {"recon": recon.mean()}


def loss_of(model, config, x, kl_weight, eps=None, training=True):
    """The family's objective: (loss, metrics)."""
    family = config["model"]
    if family in ("vae", "beta-vae"):
        return elbo_loss(model, config, x, kl_weight, eps, training)
    if family == "iwae":
        return iwae_loss(model, config, x, eps)
    if family == "ae":
        return ae_loss(model, config, x)
    raise ValueError(f"{family}: no exported objective")
