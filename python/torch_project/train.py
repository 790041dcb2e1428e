"""Trains the exported latentkit model with PyTorch, on one process or many (DistributedDataParallel).

    python train.py --data-dir DATA --out RUN                              # one process
    torchrun --standalone --nproc_per_node=N train.py --data-dir DATA --out RUN [--epochs E] [--limit N] [--resume] [--amp]

The configuration is config.json beside this file (the latentkit run's). The global batch is the
config's batchSize, split evenly over the processes; DistributedSampler shuffles each epoch.
Backend: nccl on GPUs, gloo on CPU. RUN becomes a latentkit run folder (config.json,
model.safetensors with latentkit's names, best.safetensors, metrics.jsonl with latentkit's keys,
state.json), so `latentkit eval RUN`, `report`, `serve`, `encode`, `score` and loadModel open it;
RUN/torch-checkpoint.pt holds the optimizer for --resume.
"""
import argparse
import json
import math
import os
import struct
import time

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

import data as data_lib
import prior as prior_lib
from losses import gumbel_noise, loss_of, reconstruction_loss
from model import Model

HERE = os.path.dirname(os.path.abspath(__file__))


# --- schedules: latentkit's src/train/schedules.ts and src/optim/schedules.ts ---

def kl_weight_at(config, step, steps_per_epoch):
    """β(t) = β · min(1, t / T), T the warm-up in steps (klWarmupSteps, else klWarmupEpochs · steps per epoch)."""
    warmup = config["klWarmupSteps"] if config["klWarmupSteps"] > 0 else round(config["klWarmupEpochs"] * steps_per_epoch)
    return config["beta"] * min(1.0, step / warmup) if warmup > 0 else config["beta"]


def temperature_at(config, step):
    """The dvae's Gumbel-softmax temperature τ_t = max(τ_min, τ_0 e^{−r t})."""
    return max(config["minTemperature"], config["temperature"] * math.exp(-config["temperatureDecay"] * step))


def lr_at(config, step, steps_per_epoch):
    """constant, step (γ^⌊t / stepSize⌋) or cosine (to 0 over all steps), after an optional linear warm-up."""
    def base(t):
        if config["lrSchedule"] == "step":
            return config["lr"] * config["lrGamma"] ** (t // (config["lrStepEpochs"] * steps_per_epoch))
        if config["lrSchedule"] == "cosine":
            total = max(1, config["epochs"] * steps_per_epoch)
            return config["lr"] * (1 + math.cos(math.pi * min(t, total) / total)) / 2
        return config["lr"]
    w = config["lrWarmupSteps"]
    if w > 0:
        return base(0) * (step + 1) / w if step < w else base(step - w)
    return base(step)


def make_optimizer(config, params):
    if config["optimizer"] == "adam":
        return torch.optim.Adam(params, lr=config["lr"], weight_decay=config["weightDecay"])
    if config["optimizer"] == "adamw":
        return torch.optim.AdamW(params, lr=config["lr"], weight_decay=config["weightDecay"])
    return torch.optim.SGD(params, lr=config["lr"], momentum=config["momentum"], weight_decay=config["weightDecay"])


# --- the run folder ---

def write_atomic(path, data):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def safetensors_bytes(state, metadata=None):
    """A safetensors file of float32 tensors (the format latentkit reads): u64 header length, JSON header, data."""
    header, blobs, offset = ({"__metadata__": {k: str(v) for k, v in metadata.items()}} if metadata else {}), [], 0
    for name, t in state.items():
        a = t.detach().to(torch.float32).cpu().contiguous().numpy().astype("<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def read_safetensors(path):
    """{name: float32 tensor} of a safetensors file of F32 tensors (latentkit's model.safetensors)."""
    with open(path, "rb") as f:
        raw = f.read()
    n, = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {t['dtype']}, not F32")
        a, b = t["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(raw, dtype="<f4", count=(b - a) // 4, offset=8 + n + a).copy()).reshape(t["shape"])
    return out


def evaluate(model, config, x, y, kl_weight, device, batch=500, temperature=1.0):
    """Mean loss and metrics over a split (no gradient, fixed noise seed)."""
    model.eval()
    g = torch.Generator().manual_seed(config["seed"] + 1)
    sums, n = {}, 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            xb = data_lib.binarize(x[i:i + batch], "static" if config["binarize"] == "dynamic" else config["binarize"]).to(device)
            yb = y[i:i + batch].to(device) if y is not None else None
            eps = None
            if config["model"] in ("vae", "beta-vae", "cvae", "conv-vae"):
                eps = torch.randn(xb.shape[0], config["latent"], generator=g).to(device)
            elif config["model"] == "iwae":
                eps = torch.randn(config["iwSamples"], xb.shape[0], config["latent"], generator=g).to(device)
            elif config["model"] == "dvae":
                eps = gumbel_noise((xb.shape[0], config["categoricals"], config["classes"]), g).to(device)
            loss, metrics = loss_of(model, config, xb, kl_weight, eps, training=False, labels=yb, temperature=temperature)
            for k, v in {"loss": loss, **metrics}.items():
                sums[k] = sums.get(k, 0.0) + float(v) * xb.shape[0]
            n += xb.shape[0]
    model.train()
    return {k: v / max(1, n) for k, v in sums.items()}


# --- stacked-ae: greedy layer-wise pretraining (latentkit's src/models/stacked-ae.ts) ---

def pretrain_stacked(model, config, x_train, device, log):
    """Stage k = 1..L trains only E_k and G_k, pretrainEpochs epochs each, as the shallow AE

        c = φ_k(E_k a_{k−1}),  â = ψ_k(G_k c),  loss = mean_batch Σ ℓ(a_{k−1}, â)

    on the codes a_{k−1} of the trained layers below (outside the gradient). φ_k is the encoder's
    activation (none for the code layer k = L); ψ_k the decoder's, except for k = 1, whose output is
    the model's: ℓ is then BCE on logits or the squared error; for k > 1 the squared error on codes.
    Each stage: a fresh optimizer of the run's kind, the run's learning rate and batch size."""
    enc = [m for m in model.encoder if isinstance(m, torch.nn.Linear)]
    dec = [m for m in model.decoder if isinstance(m, torch.nn.Linear)]
    enc_act = [m for m in model.encoder if not isinstance(m, torch.nn.Linear)][:1] or [torch.nn.Identity()]
    dec_act = [m for m in model.decoder if not isinstance(m, torch.nn.Linear)][:1] or [torch.nn.Identity()]
    phi, psi = enc_act[0], dec_act[0]
    L = len(enc)
    g = torch.Generator().manual_seed(config["seed"] + 7)
    for k in range(L):
        E, G = enc[k], dec[L - 1 - k]
        optimizer = make_optimizer(config, list(E.parameters()) + list(G.parameters()))
        for group in optimizer.param_groups:
            group["lr"] = config["lr"]
        with torch.no_grad():
            a = x_train.reshape(x_train.shape[0], -1).to(device)
            for i in range(k):
                a = phi(enc[i](a))
        for epoch in range(config["pretrainEpochs"]):
            order = torch.randperm(a.shape[0], generator=g)
            total, batches = 0.0, 0
            for i in range(0, a.shape[0] - config["batchSize"] + 1, config["batchSize"]):
                ab = a[order[i:i + config["batchSize"]]]
                pre = E(ab)
                out = G(pre if k == L - 1 else phi(pre))
                if k == 0:
                    loss = reconstruction_loss(config, out, ab).mean()
                else:
                    loss = ((ab - psi(out)) ** 2).sum(1).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total, batches = total + float(loss), batches + 1
            log({"pretrain": f"layer {k + 1}/{L}", "epoch": epoch + 1, "loss": total / max(1, batches)})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", help="folder with mnist/, fashion-mnist/, binarized-mnist/ (default $LATENTKIT_DATA)")
    p.add_argument("--out", required=True, help="the run folder to write")
    p.add_argument("--config", default=os.path.join(HERE, "config.json"))
    p.add_argument("--epochs", type=int, help="total epochs (default: the config's)")
    p.add_argument("--limit", type=int, help="train on the first N training examples only (quick checks)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/torch-checkpoint.pt")
    p.add_argument("--amp", action="store_true", help="mixed precision (GPUs)")
    p.add_argument("--init", help="start from these weights (a latentkit model.safetensors; default: weights.safetensors beside train.py when present, else a fresh initialisation)")
    args = p.parse_args()

    with open(args.config) as f:
        config = json.load(f)
    if args.epochs:
        config["epochs"] = args.epochs
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    if config["batchSize"] % world:
        raise SystemExit(f"batchSize {config['batchSize']} does not split evenly over {world} processes")
    per_process = config["batchSize"] // world

    splits = data_lib.load(config["dataset"], args.data_dir or config.get("dataDir"))
    x_train, y_train = splits["train"]
    if args.limit:
        x_train = x_train[: args.limit]
        y_train = y_train[: args.limit] if y_train is not None else None
    x_valid, y_valid = splits.get("valid", (None, None))
    if config["binarize"] == "static":
        x_train = data_lib.binarize(x_train, "static")
    num_classes = config.get("data", {}).get("numClasses") or (int(y_train.max()) + 1 if y_train is not None else None)
    config["data"] = {"imageShape": list(x_train.shape[1:]), "numClasses": num_classes}
    conditional = config["model"] == "cvae"
    if conditional and y_train is None:
        raise SystemExit(f"cvae needs labels; {config['dataset']} has none")

    torch.manual_seed(config["seed"])
    model = Model(config).to(device)
    init = args.init or (os.path.join(HERE, "weights.safetensors") if os.path.exists(os.path.join(HERE, "weights.safetensors")) else None)
    if init and not args.resume:
        model.load_state_dict(read_safetensors(init))
    elif not args.resume and config["model"] == "stacked-ae" and config.get("pretrainEpochs", 0) > 0 and rank == 0:
        # rank 0 pretrains; DistributedDataParallel gives its parameters to every process
        x_pre = data_lib.binarize(x_train, "static") if config["binarize"] == "dynamic" else x_train
        pretrain_stacked(model, config, x_pre, device, lambda line: print(json.dumps(line), flush=True))
    net = DistributedDataParallel(model, device_ids=[local_rank] if cuda else None) if world > 1 else model
    optimizer = make_optimizer(config, model.parameters())
    scaler = torch.cuda.amp.GradScaler(enabled=args.amp and cuda)

    dataset = TensorDataset(x_train, y_train) if conditional else TensorDataset(x_train)
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=config["seed"], drop_last=True)
    loader = DataLoader(dataset, batch_size=per_process, sampler=sampler, drop_last=True)
    steps_per_epoch = len(loader)
    if steps_per_epoch == 0:
        raise SystemExit(f"{x_train.shape[0]} training examples make no batch of {config['batchSize']}")

    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "torch-checkpoint.pt")
    start_epoch, step, best = 0, 0, None
    if args.resume and os.path.exists(ckpt_path):
        ckpt = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        start_epoch, step, best = ckpt["epoch"], ckpt["step"], ckpt["best"]
    elif rank == 0 and os.path.exists(os.path.join(args.out, "metrics.jsonl")):
        os.remove(os.path.join(args.out, "metrics.jsonl"))
    if rank == 0:
        write_atomic(os.path.join(args.out, "config.json"), json.dumps(config, indent=2).encode())

    for epoch in range(start_epoch, config["epochs"]):
        started = time.time()
        sampler.set_epoch(epoch)
        gen = torch.Generator().manual_seed(config["seed"] * 1000003 + epoch * 101 + rank)
        sums = torch.zeros(8, dtype=torch.float64)
        names = None
        for batch in loader:
            xb, yb = batch[0], (batch[1].to(device) if conditional else None)
            xb = data_lib.binarize(xb, config["binarize"], gen) if config["binarize"] == "dynamic" else xb
            xb = data_lib.shift(xb, config.get("augmentShift", 0), gen)
            xb = xb.to(device, non_blocking=True)
            lr = lr_at(config, step, steps_per_epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with torch.autocast(device_type="cuda", enabled=args.amp and cuda):
                loss, metrics = net(xb, kl_weight_at(config, step, steps_per_epoch), labels=yb, temperature=temperature_at(config, step))
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if config.get("clipNorm"):
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), config["clipNorm"])
            if not torch.isfinite(loss):
                continue  # the divergence guard: skip the step
            scaler.step(optimizer)
            scaler.update()
            if getattr(model, "vq_stats", None):
                # the VQ-VAE's update after the step, from the whole batch's statistics: counts and sums
                # of assigned vectors add over processes; the restart candidates are rank 0's draw
                stats = dict(model.vq_stats)
                if world > 1:
                    for name in ("counts", "sums"):
                        if name in stats:
                            dist.all_reduce(stats[name])
                    if "candidates" in stats:
                        dist.broadcast(stats["candidates"], 0)
                model.after_step(stats)
                model.vq_stats = None
            step += 1
            names = names or ["loss"] + list(metrics)
            values = [float(loss)] + [float(v) for v in metrics.values()]
            sums[0] += 1
            for i, v in enumerate(values):
                sums[1 + i] += v
        if world > 1:
            dist.all_reduce(sums)
        line = {"epoch": epoch + 1, "step": step}
        for i, name in enumerate(names or []):
            line[f"train_{name}"] = float(sums[1 + i] / max(1, sums[0]))
        if rank == 0:
            valid_loss = line.get("train_loss")
            if x_valid is not None:
                v = evaluate(model, config, x_valid, y_valid if conditional else None, config["beta"], device, temperature=temperature_at(config, step))
                line.update({f"valid_{k}": val for k, val in v.items()})
                valid_loss = v["loss"]
            line["lr"] = lr_at(config, step, steps_per_epoch)
            line["kl_weight"] = kl_weight_at(config, step, steps_per_epoch)
            if config["model"] == "dvae":
                line["temperature"] = temperature_at(config, step)
            line["time_s"] = time.time() - started
            with open(os.path.join(args.out, "metrics.jsonl"), "a") as f:
                f.write(json.dumps(line) + "\n")
            state = {name: t for name, t in model.state_dict().items()}
            weights = safetensors_bytes(state)
            improved = best is None or valid_loss < best["metric"]
            if improved:
                best = {"metric": valid_loss, "epoch": epoch + 1}
                write_atomic(os.path.join(args.out, "best.safetensors"), weights)
            write_atomic(os.path.join(args.out, "model.safetensors"), weights)
            write_atomic(os.path.join(args.out, "state.json"), json.dumps({
                "epoch": epoch + 1, "step": step, "key": [0, config["seed"]], "lrScale": 1, "divergences": 0,
                "bestMetric": best["metric"], "bestEpoch": best["epoch"], "epochsWithoutImprovement": epoch + 1 - best["epoch"],
                "stopped": None, "trainer": f"torch {torch.__version__}, {world} process(es)",
            }).encode())
            tmp = ckpt_path + ".tmp"
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch + 1, "step": step, "best": best}, tmp)
            os.replace(tmp, ckpt_path)
            print(json.dumps(line), flush=True)
    if rank == 0 and config["model"] == "vq-vae":
        # the prior over codes, fitted on the codes of the training (and validation) images: prior.safetensors
        x_codes = data_lib.binarize(x_train, "static") if config["binarize"] == "dynamic" else x_train
        valid_codes = None
        if x_valid is not None:
            xv = data_lib.binarize(x_valid, "static" if config["binarize"] != "none" else "none")
            valid_codes = prior_lib.codes_of(model, xv.to(device)).cpu()
        tensors, metrics = prior_lib.fit_prior(prior_lib.codes_of(model, x_codes.to(device)).cpu(), valid_codes, config)
        write_atomic(os.path.join(args.out, "prior.safetensors"), safetensors_bytes(tensors, metrics))
        print(json.dumps(metrics), flush=True)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
