# PyTorch reference timings for bench/conv.ts: the same conv layers and the same conv-VAE training
# step, forward and forward+backward, min over repeats. Run by bench/conv.ts (or by hand):
#   /usr/bin/python3 bench/conv_torch.py '{"batch":128,"repeats":7,"threads":1,"clock":"wall"}'
# ("clock": "cpu" times by this process's CPU time, like bench/conv.ts --cpu.)
# Prints one JSON object: {"torch": version, "threads": n, "layers": {name: {fwd, fwdBwd}}, "step": ms}.
import json, sys, time
import torch
import torch.nn.functional as F

cfg = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
B = cfg.get("batch", 128)
R = cfg.get("repeats", 7)
clock = time.process_time if cfg.get("clock") == "cpu" else time.perf_counter
if cfg.get("threads"):
    torch.set_num_threads(int(cfg["threads"]))
torch.manual_seed(0)

LAYERS = [
    # name, kind, x shape, weight shape, options (same as bench/conv.ts)
    ("L1 conv 1->32 s2 28->13", "c", (B, 1, 28, 28), (32, 1, 3, 3), dict(stride=2)),
    ("L2 conv 32->64 s2 13->6", "c", (B, 32, 13, 13), (64, 32, 3, 3), dict(stride=2)),
    ("L3 convT 32->64 s2 7->14", "t", (B, 32, 7, 7), (32, 64, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ("L4 convT 64->32 s2 14->28", "t", (B, 64, 14, 14), (64, 32, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ("L5 convT 32->1 s1 28->28", "t", (B, 32, 28, 28), (32, 1, 3, 3), dict(stride=1, padding=1)),
]


def best(fn):
    fn()
    ts = []
    for _ in range(R):
        t0 = clock()
        fn()
        ts.append((clock() - t0) * 1000)
    return min(ts)


out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "layers": {}}
for name, kind, xs, ws, opts in LAYERS:
    op = F.conv2d if kind == "c" else F.conv_transpose2d
    cout = ws[0] if kind == "c" else ws[1]
    x = torch.randn(xs, requires_grad=True)
    w = (torch.randn(ws) * 0.1).requires_grad_()
    b = torch.randn(cout, requires_grad=True)
    with torch.no_grad():
        g = torch.randn(op(x, w, b, **opts).shape)

    def fwd():
        with torch.no_grad():
            op(x, w, b, **opts)

    def fwd_bwd():
        y = op(x, w, b, **opts)
        torch.autograd.grad(y, (x, w, b), g)

    out["layers"][name] = {"fwd": best(fwd), "fwdBwd": best(fwd_bwd)}


# The conv-VAE of the TensorFlow tutorial (latent 2), one training step: loss, gradients, Adam.
class CVAE(torch.nn.Module):
    def __init__(self, latent=2):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 32, 3, stride=2)
        self.c2 = torch.nn.Conv2d(32, 64, 3, stride=2)
        self.fc = torch.nn.Linear(64 * 6 * 6, 2 * latent)
        self.d0 = torch.nn.Linear(latent, 7 * 7 * 32)
        self.t1 = torch.nn.ConvTranspose2d(32, 64, 3, stride=2, padding=1, output_padding=1)
        self.t2 = torch.nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1)
        self.t3 = torch.nn.ConvTranspose2d(32, 1, 3, stride=1, padding=1)
        self.latent = latent

    def loss(self, x, eps):
        h = F.relu(self.c2(F.relu(self.c1(x))))
        mean, logvar = self.fc(h.flatten(1)).chunk(2, dim=1)
        z = mean + eps * torch.exp(0.5 * logvar)
        d = F.relu(self.d0(z)).view(-1, 32, 7, 7)
        logits = self.t3(F.relu(self.t2(F.relu(self.t1(d)))))
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mean ** 2 - logvar.exp())
        return (rec + kl) / x.shape[0]


model = CVAE()
opt = torch.optim.Adam(model.parameters(), lr=1e-4)
xb = (torch.rand(B, 1, 28, 28) > 0.5).float()
eps = torch.randn(B, 2)


def step():
    opt.zero_grad()
    model.loss(xb, eps).backward()
    opt.step()


out["step"] = best(step)
print(json.dumps(out))
