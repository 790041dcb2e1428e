"""PyTorch reference for the pythae-vae runs (docs/results-pythae-vae.md): the same 784-400-40 ReLU
VAE with a Bernoulli decoder on the same binarized MNIST (50,000 train / 10,000 valid / 10,000 test),
Adam, batch 100, a cosine learning-rate schedule (or Pythae's MultiStepLR), then the IS estimate of
-log p(x) on the test set, for the model of the best validation bound (as Pythae keeps it).
It tells whether latentkit's held-out gap is the model's and budget's, or latentkit's own.

  /usr/bin/python3 bench/pythae_torch.py --data /work/shared/data/binarized-mnist --epochs 100 --k 1000
  # Pythae's own recipe (examples/scripts/reproducibility/vae.py): lr 1e-4, 500 epochs,
  # lr x 10^(-1/5) at epochs 200 and 350
  /usr/bin/python3 bench/pythae_torch.py --data /work/shared/data/binarized-mnist --epochs 500 --lr 1e-4 --schedule pythae
"""
import argparse, gzip, math, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("--epochs", type=int, default=100)
ap.add_argument("--batch", type=int, default=100)
ap.add_argument("--lr", type=float, default=1e-3)
ap.add_argument("--k", type=int, default=1000)
ap.add_argument("--schedule", choices=["cosine", "pythae"], default="cosine")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)


def idx(path):  # IDX images, uint8 {0, 1} -> float32 [N, 784]
    with gzip.open(path) as f:
        b = f.read()
    n = int.from_bytes(b[4:8], "big")
    return torch.from_numpy(np.frombuffer(b, np.uint8, offset=16).reshape(n, 784).astype(np.float32))


train, valid, test = (idx(f"{args.data}/{s}-images-idx3-ubyte.gz") for s in ("train", "valid", "test"))


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(784, 400)
        self.mu = nn.Linear(400, 40)
        self.logvar = nn.Linear(400, 40)
        self.dec = nn.Sequential(nn.Linear(40, 400), nn.ReLU(), nn.Linear(400, 784))

    def encode(self, x):
        h = F.relu(self.enc(x))
        return self.mu(h), self.logvar(h)

    def neg_elbo(self, x):  # per example: BCE summed over pixels + KL(q || N(0, I))
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        rec = F.binary_cross_entropy_with_logits(self.dec(z), x, reduction="none").sum(-1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(-1)
        return rec + kl

    @torch.no_grad()
    def nll(self, x, k, chunk=200):  # -log (1/k) sum_i p(x, z_i) / q(z_i | x)
        mu, logvar = self.encode(x)
        std = torch.exp(0.5 * logvar)
        logws = []
        for s in range(0, k, chunk):
            kc = min(chunk, k - s)
            eps = torch.randn(kc, *mu.shape)
            z = mu + std * eps
            logpx = -F.binary_cross_entropy_with_logits(self.dec(z), x.expand(kc, *x.shape), reduction="none").sum(-1)
            logpz = -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(-1)
            logq = -0.5 * (eps.pow(2) + logvar + math.log(2 * math.pi)).sum(-1)
            logws.append(logpx + logpz - logq)
        return -(torch.logsumexp(torch.cat(logws), 0) - math.log(k))


model = VAE()
opt = torch.optim.Adam(model.parameters(), lr=args.lr)
steps_per_epoch = train.shape[0] // args.batch
if args.schedule == "cosine":
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs * steps_per_epoch)
else:  # Pythae's MultiStepLR is stepped once per epoch; here once per step, milestones in steps
    sched = torch.optim.lr_scheduler.MultiStepLR(
        opt, milestones=[m * steps_per_epoch for m in (200, 350, 500, 750, 1000)], gamma=10 ** (-1 / 5))
best_valid, best_state = math.inf, None
t0 = time.time()
for epoch in range(args.epochs):
    perm = torch.randperm(train.shape[0])
    tot = 0.0
    for i in range(steps_per_epoch):
        x = train[perm[i * args.batch:(i + 1) * args.batch]]
        loss = model.neg_elbo(x).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        tot += loss.item()
    with torch.no_grad():
        v = torch.cat([model.neg_elbo(valid[j:j + 1000]) for j in range(0, valid.shape[0], 1000)]).mean().item()
    if v < best_valid:
        best_valid, best_state = v, {n: t.clone() for n, t in model.state_dict().items()}
    print(f"epoch {epoch + 1} train {tot / steps_per_epoch:.2f} valid {v:.2f} time {time.time() - t0:.0f}s", flush=True)
model.load_state_dict(best_state)
print(f"best valid -elbo {best_valid:.2f}", flush=True)
with torch.no_grad():
    elbo = torch.cat([model.neg_elbo(test[j:j + 1000]) for j in range(0, test.shape[0], 1000)]).mean().item()
    nll = torch.cat([model.nll(test[j:j + 100], args.k) for j in range(0, test.shape[0], 100)]).mean().item()
print(f"test -elbo {elbo:.2f}  -log p(x) {nll:.2f} (IS, k={args.k})  time {time.time() - t0:.0f}s", flush=True)
