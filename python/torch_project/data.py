"""The data latentkit reads, for the PyTorch project (written by `latentkit export --format torch-project`).

Named sets from a data directory (`--data-dir`, else $LATENTKIT_DATA), as latentkit finds them:
  mnist/, fashion-mnist/   train-images-idx3-ubyte.gz, train-labels-..., t10k-images-..., t10k-labels-...
                           grey levels / 255; the validation split is the last 10% of train
  binarized-mnist/         train-, valid-, test-images-idx3-ubyte.gz, values 0 and 1
A path: an IDX file (gzipped or not) or a .npy array [N, H, W] or [N, C, H, W] (uint8 / 255, or floats
in [0, 1]) is the training split; a validation split is carved from its end.
Returns float32 tensors [N, C, H, W] per split, and labels where the set has them.
"""
import gzip
import os
import struct

import numpy as np
import torch

VALID_FRACTION = 0.1


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    if magic >> 8 != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (magic {magic:#x})")
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {arr.size} values for shape {dims}")
    return arr.reshape(dims)


def as_images(arr):
    """uint8 -> / 255; [N, H, W] -> [N, 1, H, W]; float32."""
    x = arr.astype(np.float32) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float32)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise ValueError(f"images must be [N, H, W] or [N, C, H, W], got {x.shape}")
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise ValueError("image values must be finite and in [0, 1]")
    return torch.from_numpy(np.ascontiguousarray(x))


def carve_valid(splits):
    x, y = splits["train"]
    n = x.shape[0]
    k = max(1, int(n * VALID_FRACTION))
    splits["train"] = (x[: n - k], None if y is None else y[: n - k])
    splits["valid"] = (x[n - k:], None if y is None else y[n - k:])
    return splits


def data_dir_of(arg):
    d = arg or os.environ.get("LATENTKIT_DATA")
    if not d:
        raise SystemExit("no data directory: pass --data-dir DIR or set LATENTKIT_DATA (the folder with mnist/, fashion-mnist/, ...)")
    return d


def load(name, data_dir=None):
    """{'train': (x, y|None), 'valid': ..., 'test': ... (when present)}."""
    if name in ("mnist", "fashion-mnist"):
        folder = os.path.join(data_dir_of(data_dir), name)
        out = {}
        for split, prefix in (("train", "train"), ("test", "t10k")):
            images = os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz")
            labels = os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz")
            if os.path.exists(images):
                out[split] = (as_images(read_idx(images)), torch.from_numpy(read_idx(labels).astype(np.int64)))
        if "train" not in out:
            raise SystemExit(f"{name}: no training images in {folder}")
        return carve_valid(out)
    if name == "binarized-mnist":
        folder = os.path.join(data_dir_of(data_dir), name)
        return {s: (as_images(read_idx(os.path.join(folder, f"{s}-images-idx3-ubyte.gz"))), None) for s in ("train", "valid", "test")}
    if name == "sprites":
        raise SystemExit("sprites is drawn by latentkit itself: save it as .npy first (latentkit's loadDataset) and pass the path")
    if os.path.exists(name):
        arr = np.load(name) if name.endswith(".npy") else read_idx(name)
        return carve_valid({"train": (as_images(arr), None)})
    raise SystemExit(f"{name}: not a data set name (mnist, fashion-mnist, binarized-mnist) or a file")


def shift(x, max_shift, generator):
    """latentkit's augmentShift: each image [N, C, H, W] moved by (dx, dy), each uniform in
    {-s, ..., s}, the pixels moved in from outside the frame 0; redrawn each epoch."""
    if max_shift == 0:
        return x
    n, _, h, w = x.shape
    offsets = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=generator)
    padded = torch.nn.functional.pad(x, (max_shift,) * 4)
    out = torch.empty_like(x)
    for r, (dx, dy) in enumerate(offsets.tolist()):
        out[r] = padded[r, :, max_shift - dy:max_shift - dy + h, max_shift - dx:max_shift - dx + w]
    return out


def binarize(x, mode, generator=None):
    """latentkit's binarize: static x > 0.5; dynamic x ~ Bernoulli(x), redrawn each epoch."""
    if mode == "static":
        return (x > 0.5).float()
    if mode == "dynamic":
        return torch.bernoulli(x, generator=generator)
    return x
