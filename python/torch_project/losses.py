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


def kl_class_mean_per_dim(mu, log_var, prior_mu):
    """KL(N(μ, σ²) ‖ N(μ_c, 1)) per dimension = ½ ((μ − μ_c)² + σ² − log σ² − 1)   (seed 002's CVAE prior)."""
    return 0.5 * ((mu - prior_mu) ** 2 + torch.exp(log_var) - log_var - 1)


def elbo_loss(model, config, x, kl_weight, eps=None, training=True, labels=None):
    """loss = mean_batch( −E_q[log p(x|z)] + β_t · KL(q(z|x) ‖ p(z)) ),  z = μ + σ ⊙ ε  (one sample).

    p(z) = N(0, I); for the cvae, q(z|x,c) and p(x|z,c) read the one-hot label c, and with
    conditionalPrior=class-mean p(z|c) = N(μ_c, I), μ_c = onehot(c) · priorMean.
    Free bits (λ = freeBits > 0): each dimension's batch-mean KL is floored at λ in the objective.
    Encoder noise (σ_n = encoderNoise > 0, training only): q is computed from x + σ_n ε_n; the decoder scores the clean x.
    """
    c = model.one_hot(labels)
    inp = x
    if training and config.get("encoderNoise", 0) > 0:
        inp = x + torch.randn_like(x) * config["encoderNoise"]
    mu, log_var = model.encode(inp, c)
    if eps is None:
        eps = torch.randn_like(mu)
    z = mu + torch.exp(0.5 * log_var) * eps
    recon = -log_likelihood(config, model.decode(z, c), x)  # [B]
    if model.priorMean is not None:
        kl_dim = kl_class_mean_per_dim(mu, log_var, c @ model.priorMean)  # [B, d]
    else:
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


def reconstruction_loss(config, out, x):
    """Σ_pixels ℓ(x, out) per example [B]: BCE on logits (bernoulli) or (x − out)² (gaussian)."""
    if config["likelihood"] == "bernoulli":
        return F.binary_cross_entropy_with_logits(out, x, reduction="none").flatten(1).sum(1)
    return ((x - out) ** 2).flatten(1).sum(1)


def corrupt(config, x, noise=None):
    """The denoising AE's q(x̃|x):
        mask:     x̃ = x ⊙ m,  m_i ~ Bernoulli(1 − ν)   (a fraction ν of the inputs set to 0)
        gaussian: x̃ = x + ν ε, ε ~ N(0, I)
    `noise` fixes the draw (m, or ε), shaped like x."""
    level = config["noiseLevel"]
    if config["noise"] == "mask":
        m = noise if noise is not None else torch.bernoulli(torch.full_like(x, 1 - level))
        return x * m
    e = noise if noise is not None else torch.randn_like(x)
    return x + level * e


def kl_sparsity(rho, rho_hat):
    """Σ_j KL(ρ ‖ ρ̂_j) = Σ_j ρ log(ρ / ρ̂_j) + (1 − ρ) log((1 − ρ) / (1 − ρ̂_j)), ρ̂ clipped to [1e-6, 1 − 1e-6]."""
    r = torch.clamp(rho_hat, 1e-6, 1 - 1e-6)
    return (rho * (math.log(rho) - torch.log(r)) + (1 - rho) * (math.log1p(-rho) - torch.log1p(-r))).sum()


def activation_slope(act, a):
    """φ(a) and φ'(a) elementwise, by autograd (any activation), kept in the graph."""
    with torch.enable_grad():
        if not a.requires_grad:
            a = a.detach().requires_grad_()
        y = act(a)
        s, = torch.autograd.grad(y.sum(), a, create_graph=True)
    return y, s


def contractive_frobenius(model, x):
    """‖J_f(x)‖²_F per example [B], J = ∂h/∂x of the sigmoid code h = σ(W_L a_{L−1} + b_L):

        J = diag(s_L) W_L diag(s_{L−1}) W_{L−1} ··· diag(s_1) W_1,   s_k = φ'(pre-activation of layer k),
        s_L = h (1 − h);  one layer: ‖J‖²_F = Σ_j (h_j (1 − h_j))² Σ_i W_ji²."""
    layers = [m for m in model.encoder if isinstance(m, torch.nn.Linear)]
    acts = [m for m in model.encoder if not isinstance(m, torch.nn.Linear)]
    h = x.reshape(x.shape[0], -1)
    slopes = []
    for layer, act in zip(layers[:-1], acts):
        h, s = activation_slope(act, layer(h))
        slopes.append(s)
    code = torch.sigmoid(layers[-1](h))
    s_top = code * (1 - code)  # [B, d]
    if len(layers) == 1:
        return (s_top ** 2 * (layers[0].weight ** 2).sum(1)).sum(1)
    m = s_top.unsqueeze(2) * layers[-1].weight.unsqueeze(0)  # [B, d, n_{L−1}]
    for k in range(len(layers) - 2, -1, -1):
        m = (m * slopes[k].unsqueeze(1)) @ layers[k].weight  # [B, d, n_{k−1}]
    return (m ** 2).sum((1, 2))


def ae_loss(model, config, x, noise=None, training=True):
    """L = mean_batch Σ_pixels ℓ(x, g(f(x̃))) + penalty    (x̃ = x, or corrupted for the dae while training)

    sparse-ae, KL:  penalty = w Σ_j KL(ρ ‖ ρ̂_j), ρ̂_j = mean_batch h_j;   L1: w mean_batch Σ_j |h_j|
    contractive-ae: penalty = λ mean_batch ‖J_f(x)‖²_F
    """
    family = config["model"]
    inp = corrupt(config, x, noise) if family == "dae" and training else x
    code = model.encode(inp)
    recon = reconstruction_loss(config, model.decode(code), x).mean()
    metrics = {"recon": recon}
    loss = recon
    if family == "sparse-ae":
        rho_hat = code.mean(0)
        mean_code = rho_hat.mean()
        value = kl_sparsity(config["sparsityTarget"], rho_hat) if config["sparsity"] == "kl" else mean_code * config["latent"]
        loss = loss + config["sparsityWeight"] * value
        metrics.update({"sparsity": value, "mean_code": mean_code})
    elif family == "contractive-ae":
        jac = contractive_frobenius(model, x).mean()
        loss = loss + config["contractiveWeight"] * jac
        metrics["jacobian"] = jac
    return loss, metrics


def gumbel_noise(shape, generator=None):
    """g ~ Gumbel(0, 1): −log(−log(1 − u)), u ~ U(0, 1) floored at 1e-20 (latentkit's gumbelNoise)."""
    u = torch.rand(shape, generator=generator).clamp_min(1e-20)
    return -torch.log(-torch.log1p(-u))


def dvae_loss(model, config, x, kl_weight, temperature, gumbel=None):
    """The discrete VAE (Jang et al. 2017): N categoricals of K classes, q(z|x) = Π_n Cat(softmax(l_n(x))),
    p(z) uniform;  loss = mean_batch( −log p(x|z̃) + β_t Σ_n KL(q_n ‖ U_K) ),
    z̃_n = softmax((l_n + g_n) / τ_t), g ~ Gumbel(0, 1)  (hardSamples: the one-hot argmax forward,
    the relaxed sample's gradient backward);  KL(q_n ‖ U_K) = Σ_k q_k (log q_k + log K)."""
    N, K = config["categoricals"], config["classes"]
    B = x.shape[0]
    logits = model.encode(x).reshape(B, N, K)
    if gumbel is None:
        gumbel = gumbel_noise(logits.shape)
    y = torch.softmax((logits + gumbel) / temperature, -1)
    if config.get("hardSamples"):
        y = F.one_hot(y.argmax(-1), K).to(y.dtype) + (y - y.detach())
    recon = -log_likelihood(config, model.decode(y.reshape(B, N * K)), x).mean()
    log_q = torch.log_softmax(logits, -1)
    kl = (log_q.exp() * (log_q + math.log(K))).sum((1, 2)).mean()
    return recon + kl_weight * kl, {"recon": recon, "kl": kl}


# --- VQ-VAE (van den Oord et al. 2017), latentkit's src/models/vq.ts and vq-vae.ts ---
#
#   k(z) = argmin_j ‖z − e_j‖²,   z_q = z_e + sg(e_k − z_e)        (straight-through)
#   loss = −log p(x | z_q) + Σ_{i=1..N} ( ‖sg[z_e,i] − e_k‖² + β ‖z_e,i − sg[e_k]‖² )
#
# With EMA (decay γ) the codebook term is dropped and, after each step, with n_i the vectors
# assigned to code i and s_i their sum:  N_i ← γ N_i + (1 − γ) n_i,  m_i ← γ m_i + (1 − γ) s_i,
# e_i = m_i / Ñ_i,  Ñ_i = (N_i + ε) / (Σ_j N_j + K ε) · Σ_j N_j  (ε = 1e-5). Dead-code restarts: a
# code whose usage (N_i with EMA, else its own EMA of n_i) is below the threshold moves onto one of
# K random encoder outputs of the batch, its usage reset to the threshold.

VQ_EPS = 1e-5


def quantize(model, config, ze, rows=None):
    """z_e [M, D] -> (z_q [M, D], codes [M], the per-vector vq loss [M], counts [K], the batch's statistics).
    `rows` fixes the restart candidates' draw (K row indices of z_e)."""
    K = config["codebookSize"]
    e = model.codebook_vectors()
    ze_stop = ze.detach()
    # ‖z − e_j‖² = ‖z‖² − 2 z·e_j + ‖e_j‖²; the ‖z‖² term does not change the argmin
    codes = torch.argmin((e.detach() ** 2).sum(-1) - 2 * (ze_stop @ e.detach().t()), -1)
    onehot = F.one_hot(codes, K).to(ze.dtype)
    ek = onehot @ e
    commit = ((ze - ek.detach()) ** 2).sum(-1)
    vq = config["commitment"] * commit if config["ema"] else ((ze_stop - ek) ** 2).sum(-1) + config["commitment"] * commit
    zq = ze + (ek - ze).detach()
    counts = onehot.sum(0)
    stats = {}
    if config["ema"] or config["deadCodeRestart"]:
        stats["counts"] = counts.detach()
    if config["ema"]:
        stats["sums"] = onehot.t() @ ze_stop
    if config["deadCodeRestart"]:
        if rows is None:
            rows = torch.randint(0, ze.shape[0], (K,))
        stats["candidates"] = ze_stop[rows.long()]
    return zq, codes, vq, counts, stats


def vq_loss(model, config, x, rows=None):
    """loss = mean_batch( −log p(x|z_q) + Σ_i vq_i ); the statistics for after_step are kept on the model."""
    B = x.shape[0]
    ze = model.vq_encode(x)
    N, D = ze.shape[1], ze.shape[2]
    zq, _, vq, counts, stats = quantize(model, config, ze.reshape(B * N, D), rows)
    recon = -log_likelihood(config, model.vq_decode(zq.reshape(B, N, D)), x).mean()
    vq_mean = vq.reshape(B, N).sum(-1).mean()
    p = counts / counts.sum()
    perplexity = torch.exp(-(p * torch.log(p + 1e-10)).sum())
    model.vq_stats = stats
    return recon + vq_mean, {"recon": recon, "vq": vq_mean, "perplexity": perplexity, "codes_used": (counts > 0).to(x.dtype).sum()}


@torch.no_grad()
def update_quantizer(model, config, stats):
    """The update after an optimizer step: the EMA codebook and dead-code restarts (vq.ts updateQuantizer)."""
    K, g, threshold = config["codebookSize"], config["emaDecay"], config["deadCodeThreshold"]
    buffers = model.vq_buffers()
    counts = stats.get("counts")
    embed_sum = None
    if config["ema"]:
        usage = buffers.clusterSize * g + counts * (1 - g)
        embed_sum = buffers.embedSum * g + stats["sums"] * (1 - g)
        n = usage.sum()
        smoothed = (usage + VQ_EPS) / (n + K * VQ_EPS) * n
        codebook = embed_sum / smoothed.reshape(K, 1)
    else:
        codebook = model.codebook.data
        if not config["deadCodeRestart"]:
            return
        usage = buffers.usage * g + counts * (1 - g)
    if config["deadCodeRestart"]:
        dead = usage < threshold
        candidates = stats["candidates"]
        codebook = torch.where(dead.reshape(K, 1), candidates, codebook)
        usage = torch.where(dead, torch.full_like(usage, threshold), usage)
        if embed_sum is not None:
            embed_sum = torch.where(dead.reshape(K, 1), candidates * threshold, embed_sum)
    if config["ema"]:
        buffers.codebook.copy_(codebook)
        buffers.clusterSize.copy_(usage)
        buffers.embedSum.copy_(embed_sum)
    else:
        model.codebook.data.copy_(codebook)
        buffers.usage.copy_(usage)


def loss_of(model, config, x, kl_weight, eps=None, training=True, labels=None, temperature=1.0):
    """The family's objective: (loss, metrics)."""
    family = config["model"]
    if family in ("vae", "beta-vae", "cvae", "conv-vae"):
        return elbo_loss(model, config, x, kl_weight, eps, training, labels)
    if family == "iwae":
        return iwae_loss(model, config, x, eps)
    if family == "dvae":
        return dvae_loss(model, config, x, kl_weight, temperature, eps)
    if family == "vq-vae":
        return vq_loss(model, config, x, eps)
    if family in ("ae", "dae", "sparse-ae", "contractive-ae", "stacked-ae", "conv-ae"):
        return ae_loss(model, config, x, eps, training)
    raise ValueError(f"{family}: no exported objective")
