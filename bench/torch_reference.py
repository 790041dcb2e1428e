"""PyTorch reference for `latentkit bench`: ms per training step of the same VAEs (CPU).

Usage: python3 bench/torch_reference.py mlp|conv BATCH STEPS THREADS
Prints one JSON object: {"model", "batch", "ms_per_step", "threads", "torch"}.
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class SeedVAE(nn.Module):
    """Seed 000's MNIST VAE: 784-400-20, LeakyReLU(0.2) encoder, ReLU decoder, Bernoulli logits."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(784, 400), nn.LeakyReLU(0.2), nn.Linear(400, 40))
        self.decoder = nn.Sequential(nn.Linear(20, 400), nn.ReLU(), nn.Linear(400, 784))

    def forward(self, x):
        mu, logvar = torch.chunk(self.encoder(x.view(-1, 784)), 2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decoder(z).view_as(x), mu, logvar


class KerasConvVAE(nn.Module):
    """Seed 001's convolutional VAE (TensorFlow tutorial), latent 2."""

    def __init__(self, latent=2):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2), nn.ReLU(), nn.Conv2d(32, 64, 3, stride=2), nn.ReLU(),
            nn.Flatten(), nn.Linear(64 * 6 * 6, 2 * latent))
        self.fc = nn.Linear(latent, 7 * 7 * 32)
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(32, 64, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(32, 1, 3, stride=1, padding=1))

    def forward(self, x):
        mu, logvar = torch.chunk(self.encoder(x), 2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        h = F.relu(self.fc(z)).view(-1, 32, 7, 7)
        return self.decoder(h), mu, logvar


def main():
    kind, batch, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    if threads > 0:  # 0: PyTorch's default (one thread per core)
        torch.set_num_threads(threads)
    threads = torch.get_num_threads()
    torch.manual_seed(0)
    model = SeedVAE() if kind == "mlp" else KerasConvVAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = (torch.rand(batch, 1, 28, 28) < 0.3).float()

    def step():
        logits, mu, logvar = model(x)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = (recon + kld) / batch
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    ms = (time.perf_counter() - start) * 1000 / steps
    print(json.dumps({"model": kind, "batch": batch, "ms_per_step": ms, "threads": threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
