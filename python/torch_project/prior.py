"""The VQ-VAE's prior over code indices, fitted after the autoencoder (latentkit's src/models/code-prior.ts),
so that sampling is x ~ p(x | e_k), k ~ p(k). Written by `latentkit export --format torch-project`.

    independent:     p(k) = Π_i Cat(k_i; π_i),  π_i = (c_i + 1) / (n + K)     (per-position counts, Laplace)
    autoregressive:  p(k) = Π_i p(k_i | k_<i) by one masked MLP (MADE, Germain et al. 2015): the one-hot
                     inputs of position i have degree i, hidden unit u degree (u mod (N − 1)) + 1, and the
                     logits of position i see only hidden units of degree < i.

Trained by maximum likelihood (Adam, lr 1e-3, batches of 100, priorEpochs epochs). Saved as the run's
prior.safetensors with latentkit's names (`made.0.weight`, ... or `logits`) and its −log p(k) in nats
per example as metadata, so `latentkit sample RUN` draws from it.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F


def made_masks(N, K, hidden):
    """The MADE connectivity masks [out, in] of each layer (0/1 float)."""
    in_deg = torch.arange(N * K) // K + 1
    prev = in_deg
    masks = []
    for h in hidden:
        deg = torch.arange(h) % (N - 1) + 1 if N > 1 else torch.full((h,), N)
        masks.append((deg[:, None] >= prev[None, :]).float())
        prev = deg
    masks.append((in_deg[:, None] > prev[None, :]).float())
    return masks


class MadePrior(torch.nn.Module):
    """h_{l+1} = relu((W_l ⊙ M_l) h_l + b_l) over onehot(k); the last layer gives the logits [B, N, K]."""

    def __init__(self, N, K, hidden):
        super().__init__()
        self.N, self.K = N, K
        sizes = [N * K] + list(hidden) + [N * K]
        self.made = torch.nn.ModuleDict({str(2 * i): torch.nn.Linear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)})
        for i, m in enumerate(made_masks(N, K, hidden)):
            self.register_buffer(f"mask{i}", m, persistent=False)

    def logits(self, codes):
        """Logits [B, N, K] of p(k_i | k_<i) for codes [B, N] (int)."""
        B = codes.shape[0]
        h = F.one_hot(codes.long(), self.K).float().reshape(B, self.N * self.K)
        n = len(self.made)
        for i in range(n):
            layer = self.made[str(2 * i)]
            h = F.linear(h, layer.weight * getattr(self, f"mask{i}"), layer.bias)
            if i < n - 1:
                h = torch.relu(h)
        return h.reshape(B, self.N, self.K)

    def log_prob(self, codes):
        """log p(k) [B] = Σ_i log softmax(logits_i)[k_i]."""
        lp = torch.log_softmax(self.logits(codes), -1)
        return lp.gather(-1, codes.long().unsqueeze(-1)).squeeze(-1).sum(-1)


def independent_logits(codes, N, K):
    """log π_i [N, K] with π_i = (c_i + 1) / (n + K), from codes [n, N]."""
    counts = torch.ones(N, K)
    counts.scatter_add_(1, codes.t().long(), torch.ones(N, codes.shape[0]))
    return torch.log(counts / (codes.shape[0] + K))


def independent_nll(logits, codes):
    """Mean −log p(k) per example under the per-position categorical."""
    return float(-logits.gather(1, codes.t().long()).sum(0).mean())


def fit_prior(train_codes, valid_codes, config, log=print):
    """Fits the configured prior to codes [n, N] (int); returns ({name: tensor}, metrics in nats per example)."""
    N, K = train_codes.shape[1], config["codebookSize"]
    independent = independent_logits(train_codes, N, K)
    metrics = {"prior_nll_independent_train": independent_nll(independent, train_codes)}
    if valid_codes is not None:
        metrics["prior_nll_independent_valid"] = independent_nll(independent, valid_codes)
    if config["codePrior"] == "independent":
        metrics["prior_nll_train"] = metrics["prior_nll_independent_train"]
        if valid_codes is not None:
            metrics["prior_nll_valid"] = metrics["prior_nll_independent_valid"]
        return {"logits": independent}, metrics
    torch.manual_seed(config["seed"] + 2)
    prior = MadePrior(N, K, config["priorHidden"])
    opt = torch.optim.Adam(prior.parameters(), lr=1e-3)
    n, bs = train_codes.shape[0], min(100, train_codes.shape[0])
    g = torch.Generator().manual_seed(config["seed"])
    for epoch in range(config["priorEpochs"]):
        order = torch.randperm(n, generator=g)
        total, steps = 0.0, 0
        for s in range(0, n - bs + 1, bs):
            loss = -prior.log_prob(train_codes[order[s:s + bs]]).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, steps = total + float(loss), steps + 1
        log(f"code prior epoch {epoch + 1}/{config['priorEpochs']}: −log p(k) {total / max(1, steps):.3f} nats")
    with torch.no_grad():
        metrics["prior_nll_train"] = float(-prior.log_prob(train_codes).mean())
        if valid_codes is not None:
            metrics["prior_nll_valid"] = float(-prior.log_prob(valid_codes).mean())
    return {f"made.{name}": t.detach() for name, t in prior.made.state_dict().items()}, metrics


@torch.no_grad()
def codes_of(model, x, batch=500):
    """The nearest-code indices [n, N] of images x (the VQ-VAE's codes)."""
    model.eval()
    e = model.codebook_vectors()
    out = []
    for i in range(0, x.shape[0], batch):
        ze = model.vq_encode(x[i:i + batch])
        B, N, D = ze.shape
        flat = ze.reshape(B * N, D)
        out.append(torch.argmin((e ** 2).sum(-1) - 2 * (flat @ e.t()), -1).reshape(B, N))
    model.train()
    return torch.cat(out)
