"""The log-likelihood of a trained pythae-vae run, estimated several ways on 200 binarized-MNIST test
images (indices 0-49, 2500-2549, 5000-5049, 7500-7549; the file is grouped by digit): importance
sampling from the encoder and from refined proposals (diagonal Gaussian, Student-t, full covariance,
a defensive mixture), and annealed importance sampling with HMC (Neal 2001; Wu et al. 2017) from the
prior or from q(z|x), as the ground truth the IS estimates are measured against.
Network in float32, every logsumexp and AIS weight in float64, one thread.

  /usr/bin/python3 bench/ais_torch.py --run RUN --data $LATENTKIT_DATA --ais q:1000,q:2000
"""
import argparse, sys
import gzip, json, math, os, struct, time
import numpy as np, torch
torch.set_num_threads(1)
DT = torch.float32

def load_st(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n]); base = 8 + n; out = {}
    for k, v in h.items():
        if k == '__metadata__': continue
        assert v['dtype'] == 'F32'
        s, e = v['data_offsets']
        out[k] = torch.from_numpy(np.frombuffer(b[base + s:base + e], '<f4').reshape(v['shape']).copy())
    return out


def load_x():
    with gzip.open(os.path.join(DATA, 'binarized-mnist', 'test-images-idx3-ubyte.gz')) as f:
        b = f.read()
    n = int.from_bytes(b[4:8], 'big')
    a = np.frombuffer(b, np.uint8, offset=16).reshape(n, 784)
    vals = np.unique(a)
    a = (a > 0).astype(np.float32)
    idx = np.r_[0:50, 2500:2550, 5000:5050, 7500:7550]
    return torch.from_numpy(a[idx]), vals

def encode(x):
    h = torch.relu(x @ W['encoder.0.weight'].T + W['encoder.0.bias'])
    o = h @ W['encoder.2.weight'].T + W['encoder.2.bias']
    return o[:, :40], o[:, 40:]

def logits(z):
    return torch.relu(z @ D0w.T + D0b) @ D2w.T + D2b

def loglik(z, x):
    # z [..., 40], x broadcastable [..., 784]
    l = logits(z)
    return (x * l - torch.nn.functional.softplus(l)).sum(-1)

def loglik_grad(z, x):
    # manual forward/backward (faster than autograd); z [N,40], x [N,784]
    a = z @ D0w.T + D0b
    h = torch.relu(a)
    l = h @ D2w.T + D2b
    ll = (x * l - torch.nn.functional.softplus(l)).sum(-1)
    g = x - torch.sigmoid(l)
    gh = (g @ D2w) * (a > 0)
    return ll, gh @ D0w

LOG2PI = math.log(2 * math.pi)
def lognorm(z, mu, logvar):
    return -0.5 * (((z - mu) ** 2) * torch.exp(-logvar) + logvar + LOG2PI).sum(-1)

def chunks(v):
    v = np.asarray(v, dtype=np.float64)
    return [float(v[i * 50:(i + 1) * 50].mean()) for i in range(4)]


ap = argparse.ArgumentParser()
ap.add_argument('--run', required=True, help='a latentkit run folder of the pythae-vae preset')
ap.add_argument('--data', default=os.environ.get('LATENTKIT_DATA', '../shared/data'))
ap.add_argument('--n', type=int, default=200)
ap.add_argument('--parts', default='sanity,is,refine,t,full,ais')
ap.add_argument('--ais', default='q:500,prior:1000')   # list of start:T
ap.add_argument('--chains', type=int, default=16)
ap.add_argument('--lf', type=int, default=10)
ap.add_argument('--seed', type=int, default=0)
args = ap.parse_args()
DATA = args.data
W = load_st(os.path.join(args.run, 'best.safetensors'))
D0w, D0b, D2w, D2b = W['decoder.0.weight'], W['decoder.0.bias'], W['decoder.2.weight'], W['decoder.2.bias']
torch.manual_seed(args.seed)
X, vals = load_x(); X = X[:args.n]; N = X.shape[0]
print('pixel values in file', vals, 'images', X.shape, flush=True)
MU, LV = encode(X)
parts = args.parts.split(',')
RES = {}

def report(name, settings, v, t):
    v = np.asarray(v, np.float64); RES[name] = v
    ch = chunks(v) if N == 200 else []
    print(f'RESULT | {name:28s} | {settings:55s} | {v.mean():8.3f} | ' + ' '.join(f'{c:8.3f}' for c in ch) + f' | {t:7.1f}s', flush=True)

def lse(lw, k):  # lw [n, k] float -> per image log p-hat (float64)
    return (torch.logsumexp(lw.double(), 1) - math.log(k))

def is_generic(sample_logq, k, bs=20000):
    """sample_logq(idx, k) -> z [len(idx), k, 40], logq [len(idx), k]. returns -log p-hat per image"""
    out = []; per = max(1, bs // k)
    for s in range(0, N, per):
        idx = torch.arange(s, min(N, s + per))
        z, lq = sample_logq(idx, k)
        lw = loglik(z, X[idx, None, :]) + lognorm(z, 0., torch.zeros(())) - lq
        out.append(lse(lw, k))
    return -torch.cat(out).numpy()

def gauss_sampler(mu, lv):
    def f(idx, k):
        m, l = mu[idx, None, :], lv[idx, None, :]
        z = m + torch.exp(0.5 * l) * torch.randn(len(idx), k, 40)
        return z, lognorm(z, m, l)
    return f

if 'sanity' in parts:
    t = time.time()
    kl = 0.5 * (MU ** 2 + LV.exp() - 1 - LV).sum(1)
    z = MU[:, None] + torch.exp(0.5 * LV[:, None]) * torch.randn(N, 100, 40)
    rec = -loglik(z, X[:, None]).mean(1)
    report('neg-ELBO (analytic KL)', 'KL analytic + 100-sample recon', (rec + kl).numpy(), time.time() - t)

if 'is' in parts:
    for k in (1000, 5000):
        t = time.time(); v = is_generic(gauss_sampler(MU, LV), k)
        report(f'IS encoder q k={k}', f'k={k}, fresh samples', v, time.time() - t)

RMU, RLV = MU, LV
if 'refine' in parts:
    t = time.time()
    mu = MU.clone().requires_grad_(); lv = LV.clone().requires_grad_()
    opt = torch.optim.Adam([mu, lv], lr=1e-2, betas=(0.9, 0.99))
    steps = 200
    for it in range(steps):
        for g in opt.param_groups: g['lr'] = 1e-2 * 0.5 * (1 + math.cos(math.pi * it / steps))
        eps = torch.randn(N, 4, 40)
        z = mu[:, None] + torch.exp(0.5 * lv[:, None]) * eps
        # DReG: log q with stopped params; loss = -sum w~^2 log w
        lw = loglik(z, X[:, None]) + lognorm(z, 0., torch.zeros(())) - lognorm(z, mu.detach()[:, None], lv.detach()[:, None])
        wt = torch.softmax(lw.detach(), 1)
        loss = -(wt ** 2 * lw).sum()
        opt.zero_grad(); loss.backward(); opt.step()
    RMU, RLV = mu.detach(), lv.detach()
    tr = time.time() - t
    t = time.time(); v = is_generic(gauss_sampler(RMU, RLV), 5000)
    report('IS refined diag Gauss', f'200 Adam DReG-IWAE4 steps ({tr:.0f}s), k=5000', v, time.time() - t + tr)

def t_sampler(mu, lv, nu):
    d = 40; sd = torch.exp(0.5 * lv)
    c = math.lgamma((nu + d) / 2) - math.lgamma(nu / 2) - d / 2 * math.log(nu * math.pi)
    def f(idx, k):
        m, s = mu[idx, None], sd[idx, None]
        g = torch.distributions.Chi2(torch.tensor(float(nu))).sample((len(idx), k, 1))
        e = torch.randn(len(idx), k, d) * torch.sqrt(nu / g)
        z = m + s * e
        lq = c - torch.log(s).sum(-1) - (nu + d) / 2 * torch.log1p((e ** 2).sum(-1) / nu)
        return z, lq
    return f

if 't' in parts:
    for nu in (5, 10):
        t = time.time(); v = is_generic(t_sampler(RMU, RLV, nu), 5000)
        report(f'IS refined Student-t nu={nu}', 'multivariate t, loc/scale of refined, k=5000', v, time.time() - t)

if 'full' in parts:
    t = time.time()
    M = torch.zeros(N, 40); L = torch.zeros(N, 40, 40); ess = torch.zeros(N)
    for i in range(N):
        z = RMU[i] + torch.exp(0.5 * RLV[i]) * torch.randn(5000, 40)
        lw = (loglik(z, X[i]) + lognorm(z, 0., torch.zeros(())) - lognorm(z, RMU[i], RLV[i])).double()
        w = torch.softmax(lw, 0); ess[i] = 1 / (w ** 2).sum()
        zd = z.double(); m = (w[:, None] * zd).sum(0); c = (zd - m).T @ ((zd - m) * w[:, None])
        lam = 40 / (40 + ess[i].item())
        c = (1 - lam) * c + lam * torch.diag(torch.exp(RLV[i]).double())
        c = 1.2 * c + 1e-6 * torch.eye(40, dtype=torch.float64)
        M[i] = m.float(); L[i] = torch.linalg.cholesky(c).float()
    tf = time.time() - t
    print(f'weighted-moment fit: ESS of refined proposal (k=5000): median {ess.median():.0f}, min {ess.min():.0f}, mean {ess.mean():.0f}', flush=True)
    logdetL = torch.log(torch.diagonal(L, dim1=1, dim2=2)).sum(1)
    def lq_full(z, idx):  # z [n,k,40]
        r = z - M[idx, None]
        y = torch.linalg.solve_triangular(L[idx], r.transpose(1, 2), upper=False)  # [n,40,k]
        return -0.5 * (y ** 2).sum(1) - logdetL[idx, None] - 20 * LOG2PI
    def full_sampler(idx, k):
        z = M[idx, None] + (torch.randn(len(idx), k, 40) @ L[idx].transpose(1, 2))
        return z, lq_full(z, idx)
    def mix_sampler(idx, k):
        a = full_sampler(idx, k)[0]; b = gauss_sampler(RMU, RLV)(idx, k)[0]
        pick = (torch.rand(len(idx), k, 1) < 0.5)
        z = torch.where(pick, a, b)
        lq = torch.logaddexp(lq_full(z, idx), lognorm(z, RMU[idx, None], RLV[idx, None])) - math.log(2)
        return z, lq
    t = time.time(); v = is_generic(full_sampler, 5000)
    report('IS full-cov Gauss', 'wtd moments of 5000 refined draws, shrink d/(d+ESS), x1.2, k=5000', v, time.time() - t + tf)
    t = time.time(); v = is_generic(mix_sampler, 5000)
    report('IS mix 0.5 full + 0.5 diag', 'defensive mixture, k=5000', v, time.time() - t)

# ---------------- AIS with HMC (whitened coordinates z = c + s*u) ----------------
def ais(start, T, C, LF):
    t0 = time.time()
    n = N * C
    x = X.repeat_interleave(C, 0)
    if start == 'prior':
        c = torch.zeros(n, 40); s = torch.ones(n, 40)
    else:
        c = MU.repeat_interleave(C, 0); s = torch.exp(0.5 * LV).repeat_interleave(C, 0)
    # log target_b(u) (in u-space, Jacobian const) = log pi0(u) + b*h(u); pi0 = N(0,I) in u for both starts
    # h = ll(z) + log p(z) - log pi0(z)  (prior start: h = ll)
    def hfun(u, need_val=True):
        z = c + s * u
        a = z @ D0w.T + D0b; hh = torch.relu(a); l = hh @ D2w.T + D2b
        g = x - torch.sigmoid(l)
        gz = ((g @ D2w) * (a > 0)) @ D0w
        val = None
        if need_val:
            val = (x * l - torch.nn.functional.softplus(l)).sum(-1)
        if start != 'prior':
            # + log p(z) - log q(z) ; d/du: s*(-z) - (-u)
            gu = s * (gz - z) + u
            if need_val: val = val - 0.5 * (z ** 2).sum(-1) + 0.5 * (u ** 2).sum(-1) + torch.log(s).sum(-1)
        else:
            gu = gz
        return val, gu
    d = 4.0
    tt = torch.linspace(-d, d, T + 1, dtype=torch.float64)
    bt = torch.sigmoid(tt); betas = ((bt - bt[0]) / (bt[-1] - bt[0])).tolist()
    u = torch.randn(n, 40)
    h, gh = hfun(u)
    logw = torch.zeros(n, dtype=torch.float64)
    eps = torch.full((n, 1), 0.05 if start == 'prior' else 0.2)
    accs = []
    for t in range(1, T + 1):
        b0, b = betas[t - 1], betas[t]
        logw += (b - b0) * h.double()
        # HMC targeting -0.5|u|^2 + b*h
        p = torch.randn(n, 40)
        H0 = 0.5 * (u ** 2).sum(-1) - b * h + 0.5 * (p ** 2).sum(-1)
        un = u; g = -un + b * gh
        pn = p + 0.5 * eps * g
        for j in range(LF):
            un = un + eps * pn
            hn, ghn = hfun(un, need_val=(j == LF - 1))
            g = -un + b * ghn
            pn = pn + (eps if j < LF - 1 else 0.5 * eps) * g
        H1 = 0.5 * (un ** 2).sum(-1) - b * hn + 0.5 * (pn ** 2).sum(-1)
        la = (H0 - H1)
        la = torch.where(torch.isfinite(la), la, torch.full_like(la, -1e30))
        acc = torch.exp(torch.clamp(la, max=0.))
        take = torch.rand(n) < acc
        u = torch.where(take[:, None], un, u); h = torch.where(take, hn, h); gh = torch.where(take[:, None], ghn, gh)
        eps = torch.clamp(eps * torch.exp(0.05 * (acc[:, None] - 0.65)), 1e-4, 2.0)
        if t % max(1, T // 10) == 0:
            accs.append(acc.mean().item())
            print(f'  AIS {start} T={T} t={t} beta={b:.4f} acc={acc.mean():.3f} eps_med={eps.median():.4f} {time.time()-t0:.0f}s', flush=True)
    lw = logw.view(N, C)
    lp = torch.logsumexp(lw, 1) - math.log(C)
    # diagnostic: spread of chain weights
    ess = (torch.softmax(lw, 1) ** 2).sum(1).reciprocal()
    print(f'  AIS {start} T={T}: mean per-image chain ESS {ess.mean():.2f}/{C}, mean per-image sd of chain logw {lw.std(1).mean():.3f}', flush=True)
    return -lp.numpy(), time.time() - t0

if 'ais' in parts:
    for spec in args.ais.split(','):
        st, T = spec.split(':'); T = int(T)
        v, tm = ais(st, T, args.chains, args.lf)
        report(f'AIS-HMC from {st}', f'{args.chains} chains, T={T} sigmoid(d=4), {args.lf} LF, eps->65%', v, tm)

print('summary (N=%d)' % N)
for k, v in RES.items(): print(f'  {k:30s} {v.mean():.3f}')
