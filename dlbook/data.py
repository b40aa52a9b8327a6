"""Datasets for the book: generated toy sets, scikit-learn's digits and MNIST.

Everything here runs offline. The toy sets are generated from a seed; the digits ship with
scikit-learn; MNIST is read from the data directory (`data_dir`) and downloaded into it on
demand, verified by the MD5 of the decompressed content and written atomically. When MNIST
cannot be had, `load_mnist` falls back to what it can find and says so in `MNIST.note`.

Labels come in three encodings, chosen by ``labels``: ``"pm1"`` gives {-1, +1} (the perceptron's
convention), ``"01"`` gives {0, 1} (logistic regression's) and ``"int"`` gives 0..K-1 (softmax's).
All generated inputs are float64 and all labels int64.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import os
import socket
import stat
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from dlbook import __version__
from dlbook._validate import as_float_array, as_label_array, check_int, check_positive

__all__ = [
    "MNIST",
    "MNIST_MD5",
    "MNIST_URLS",
    "blobs",
    "circles",
    "data_dir",
    "linearly_separable",
    "load_digits",
    "load_mnist",
    "moons",
    "read_idx",
    "spirals",
    "xor",
]

_LABEL_KINDS = ("pm1", "01", "int")


# ---------------------------------------------------------------------------------------------
# Argument checks (beyond dlbook._validate)


def _check_seed(seed: object) -> int:
    return check_int("seed", seed, minimum=0)


def _check_labels(labels: object, n_classes: int, *, kinds: tuple[str, ...] = _LABEL_KINDS) -> str:
    if not isinstance(labels, str) or labels not in kinds:
        choices = ", ".join(repr(k) for k in kinds)
        raise ValueError(f"labels must be one of {choices}; got {labels!r}")
    if labels != "int" and n_classes != 2:
        raise ValueError(
            f"labels={labels!r} needs exactly 2 classes; got {n_classes} (use labels='int')"
        )
    return labels


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def _encode(k: np.ndarray, labels: str) -> np.ndarray:
    """Map class indices k in 0..K-1 to the requested encoding, as int64."""
    k = k.astype(np.int64)
    return 2 * k - 1 if labels == "pm1" else k  # pm1: 0 -> -1, 1 -> +1


def _balanced_classes(n: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """n class indices, as equal in count as n allows, in random order."""
    return rng.permutation(np.arange(n) % n_classes)


# ---------------------------------------------------------------------------------------------
# Generated toy sets


def linearly_separable(
    n: int = 100,
    *,
    dim: int = 2,
    margin: float = 0.1,
    labels: str = "pm1",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points in [-1, 1]^dim that the hyperplane w_true . x = 0 separates with a margin.

    `w_true` is a random unit vector (no bias). Points with |w_true . x| < margin are rejected
    and redrawn, so min_i y_i (w_true . x_i) >= margin exactly: the setting of Novikoff's
    bound, which caps the perceptron's mistakes at (R / margin)^2 with R = max ||x_i||.

    Returns X float64 (n, dim), y int64 (n,) in {-1, +1} ("pm1") or {0, 1} ("01"), and
    w_true float64 (dim,) with ||w_true|| = 1.
    """
    n = check_int("n", n)
    dim = check_int("dim", dim)
    margin = check_positive("margin", margin, allow_zero=True)
    # ||w||_1 >= ||w||_2 = 1, so the cube always holds points with |w . x| up to 1.
    if margin >= 1:
        raise ValueError(f"margin must be in [0, 1) for points in [-1, 1]^dim; got {margin!r}")
    labels = _check_labels(labels, 2)
    rng = np.random.default_rng(_check_seed(seed))

    w_true = rng.normal(size=dim)
    w_true /= np.linalg.norm(w_true)
    kept: list[np.ndarray] = []
    count = 0
    while count < n:
        cand = rng.uniform(-1.0, 1.0, size=(2 * (n - count) + 16, dim))
        score = cand @ w_true
        # s = 0 has no sign, so it is rejected even when margin = 0.
        ok = (np.abs(score) >= margin) & (score != 0)
        kept.append(cand[ok])
        count += int(ok.sum())
    X = np.concatenate(kept)[:n]
    k = (X @ w_true > 0).astype(np.int64)
    return X, _encode(k, labels), w_true


def blobs(
    n: int = 100,
    *,
    centers: object = ((-1.0, -1.0), (1.0, 1.0)),
    std: float = 0.5,
    labels: str | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian blobs: x = centers[k] + std * eps, eps ~ N(0, I).

    `centers` is (K, D). The K classes are as balanced as n allows, in random order.
    `labels=None` means "pm1" for K = 2 and "int" otherwise.

    Returns X float64 (n, D) and y int64 (n,).
    """
    n = check_int("n", n)
    c = as_float_array("centers", centers, shape=("K", "D"))
    std = check_positive("std", std, allow_zero=True)
    n_classes = c.shape[0]
    if labels is None:
        labels = "pm1" if n_classes == 2 else "int"
    labels = _check_labels(labels, n_classes)
    rng = np.random.default_rng(_check_seed(seed))

    k = _balanced_classes(n, n_classes, rng)
    X = c[k] + std * rng.normal(size=(n, c.shape[1]))
    return X, _encode(k, labels)


_XOR_CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
_XOR_CLASS = np.array([0, 1, 1, 0])  # x1 XOR x2


def xor(
    n: int | None = None,
    *,
    noise: float = 0.0,
    labels: str = "pm1",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem, which no single linear threshold unit solves.

    `n=None` gives the four corners (0,0), (0,1), (1,0), (1,1) in that order, with labels
    -1, +1, +1, -1 ("pm1") or 0, 1, 1, 0 ("01"); with the default noise=0 they are exact.
    Otherwise n points are spread evenly over the corners, in random order, each moved by
    Gaussian noise of standard deviation `noise`.

    Returns X float64 (n, 2) (or (4, 2)) and y int64.
    """
    n = None if n is None else check_int("n", n)
    noise = check_positive("noise", noise, allow_zero=True)
    labels = _check_labels(labels, 2)
    rng = np.random.default_rng(_check_seed(seed))
    corner = np.arange(4) if n is None else _balanced_classes(n, 4, rng)
    X = _XOR_CORNERS[corner].copy()
    if noise > 0:
        X += noise * rng.normal(size=X.shape)
    return X, _encode(_XOR_CLASS[corner], labels)


def moons(
    n: int = 200,
    *,
    noise: float = 0.1,
    labels: str = "01",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (the construction of scikit-learn's make_moons).

    Class 0: (cos t, sin t); class 1: (1 - cos t, 1/2 - sin t), t evenly spaced in [0, pi];
    then Gaussian noise of standard deviation `noise` on both coordinates.

    Returns X float64 (n, 2) in random order and y int64 (n,).
    """
    n = check_int("n", n)
    noise = check_positive("noise", noise, allow_zero=True)
    labels = _check_labels(labels, 2)
    rng = np.random.default_rng(_check_seed(seed))

    n_outer = n // 2
    t_out = np.linspace(0.0, np.pi, n_outer)
    t_in = np.linspace(0.0, np.pi, n - n_outer)
    outer = np.column_stack([np.cos(t_out), np.sin(t_out)])
    inner = np.column_stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)])
    X = np.concatenate([outer, inner]) + noise * rng.normal(size=(n, 2))
    k = np.repeat([0, 1], [n_outer, n - n_outer])
    order = rng.permutation(n)
    return X[order], _encode(k[order], labels)


def spirals(
    n: int = 300,
    *,
    classes: int = 2,
    noise: float = 0.2,
    labels: str = "int",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """K interleaved spiral arms, the classic "not linearly separable" picture.

    Arm k: x = r (cos theta, sin theta) with r evenly spaced in [0.1, 1] and
    theta = 2 pi k / K + 3 pi r + eps, eps ~ N(0, noise^2) (noise is an angle, in radians),
    so each arm turns 1.5 times around the origin.

    Returns X float64 (n, 2) in random order and y int64 (n,).
    """
    n = check_int("n", n)
    classes = check_int("classes", classes, minimum=2)
    noise = check_positive("noise", noise, allow_zero=True)
    labels = _check_labels(labels, classes)
    rng = np.random.default_rng(_check_seed(seed))

    k = np.arange(n) % classes
    r = np.empty(n)
    for c in range(classes):
        arm = k == c
        r[arm] = np.linspace(0.1, 1.0, int(arm.sum()))
    theta = 2 * np.pi * k / classes + 3 * np.pi * r + noise * rng.normal(size=n)
    X = r[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
    order = rng.permutation(n)
    return X[order], _encode(k[order], labels)


def circles(
    n: int = 200,
    *,
    factor: float = 0.5,
    noise: float = 0.05,
    labels: str = "01",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: class 0 of radius 1, class 1 of radius `factor` (0 < factor < 1).

    Angles are evenly spaced; Gaussian noise of standard deviation `noise` is added to both
    coordinates.

    Returns X float64 (n, 2) in random order and y int64 (n,).
    """
    n = check_int("n", n)
    factor = check_positive("factor", factor)
    if factor >= 1:
        raise ValueError(f"factor must be in (0, 1) (inner radius / outer radius); got {factor!r}")
    noise = check_positive("noise", noise, allow_zero=True)
    labels = _check_labels(labels, 2)
    rng = np.random.default_rng(_check_seed(seed))

    n_outer = n // 2
    t_out = np.linspace(0.0, 2 * np.pi, n_outer, endpoint=False)
    t_in = np.linspace(0.0, 2 * np.pi, n - n_outer, endpoint=False)
    outer = np.column_stack([np.cos(t_out), np.sin(t_out)])
    inner = factor * np.column_stack([np.cos(t_in), np.sin(t_in)])
    X = np.concatenate([outer, inner]) + noise * rng.normal(size=(n, 2))
    k = np.repeat([0, 1], [n_outer, n - n_outer])
    order = rng.permutation(n)
    return X[order], _encode(k[order], labels)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (UCI Optical Recognition of Handwritten Digits).

    Returns X float64 (1797, 8, 8) in [0, 1] (the 0..16 pixel counts divided by 16) and
    y int64 (1797,) in 0..9.
    """
    from sklearn.datasets import load_digits as _sklearn_digits

    bunch = _sklearn_digits()
    X = np.asarray(bunch.images, dtype=np.float64) / 16.0
    y = as_label_array("digits target", bunch.target, allowed=range(10), n=X.shape[0])
    return X, y


# ---------------------------------------------------------------------------------------------
# Data directory and the IDX format


def _checkout_data_dir() -> Path | None:
    """The repository's data/ folder when the package runs from a checkout, else None."""
    import dlbook

    folder = Path(dlbook.__file__).resolve().parents[1] / "data"
    return folder if (folder / "README.md").is_file() else None


def data_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """The folder that holds downloaded datasets.

    In order: `root` if given; else the environment variable DLBOOK_DATA if set; else the
    repository's data/ folder when dlbook runs from a checkout; else ~/.cache/dlbook.
    The folder need not exist yet.
    """
    if root is not None:
        if not isinstance(root, str | os.PathLike):
            raise ValueError(f"root must be a path (str or os.PathLike); got {root!r}")
        return Path(root).expanduser()
    env = os.environ.get("DLBOOK_DATA")
    if env:
        return Path(env).expanduser()
    checkout = _checkout_data_dir()
    if checkout is not None:
        return checkout
    return Path.home() / ".cache" / "dlbook"


# IDX type codes; multi-byte values are big-endian. 0x0A is unassigned.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _decompress(raw: bytes, where: object) -> bytes:
    """Gunzip `raw` if it starts with the gzip magic, checking CRC and length; else return it."""
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as err:
        raise ValueError(
            f"{where}: corrupted gzip stream: it ends before the compressed data does "
            f"(truncated download?) [{err}]"
        ) from err
    except (OSError, zlib.error) as err:
        raise ValueError(f"{where}: corrupted gzip stream: {err}") from err


def _parse_idx(content: bytes, where: object, *, gzipped: bool) -> np.ndarray:
    """Decode an IDX byte string: magic (0, 0, type, ndim), ndim big-endian uint32 sizes, data."""
    if len(content) < 4:
        raise ValueError(
            f"{where}: not an IDX file: {len(content)} bytes, too short for the 4-byte magic"
        )
    magic = content[:4]
    code, ndim = magic[2], magic[3]
    if magic[0] != 0 or magic[1] != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(
            f"{where}: not an IDX file: bad magic 0x{magic.hex()} (expected 0x0000, a type code "
            "in 0x08, 0x09, 0x0B-0x0E, and at least one dimension)"
        )
    header = 4 + 4 * ndim
    after = " after decompression" if gzipped else ""
    if len(content) < header:
        raise ValueError(
            f"{where}: truncated: the header needs {header} bytes{after}, got {len(content)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(content, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(content) != expected:
        problem = "truncated" if len(content) < expected else "trailing bytes"
        raise ValueError(
            f"{where}: {problem}: expected {expected} bytes{after} for shape {shape} of "
            f"{dtype.name}, got {len(content)}"
        )
    data = np.frombuffer(content, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # a native-endian, writable copy


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed or raw.

    Compression is recognised by the gzip magic bytes, not by the file name. The gzip CRC and
    length, the IDX magic and the payload size are all checked; any problem raises ValueError
    naming the file and what is wrong.

    Returns an array of the file's shape and type (uint8 for MNIST: images (N, 28, 28),
    labels (N,)), in native byte order.
    """
    if not isinstance(path, str | os.PathLike):
        raise ValueError(f"path must be a path (str or os.PathLike); got {path!r}")
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ValueError(f"{path}: cannot read: {err.strerror or err}") from err
    return _parse_idx(_decompress(raw, path), path, gzipped=raw[:2] == _GZIP_MAGIC)


# ---------------------------------------------------------------------------------------------
# MNIST

# MD5 of the decompressed files, as published with MNIST. Module level so tests can patch it.
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
MNIST_URLS = (
    "https://yann.lecun.com/exdb/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
_TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
_TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_RETRIES = 3  # attempts per URL
_BACKOFF_S = 1.0  # sleeps 1 s, 2 s between attempts
_TIMEOUT_S = 30.0
_SPLIT_SEED = 0
_sleep = time.sleep


class MNIST(NamedTuple):
    """Images float32 (N, 28, 28) in [0, 1] ((N, 8, 8) for "digits"), labels int64 in 0..9.

    `source` is "mnist", "mnist-test-split" or "digits"; `note` says what was used and why.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    note: str


class _DownloadError(Exception):
    """A file could not be fetched; the message is a short reason for MNIST.note."""


def _urlopen(url: str, timeout: float) -> bytes:
    """GET `url` and return the body. The only function here that touches the network."""
    request = urllib.request.Request(url, headers={"User-Agent": f"dlbook/{__version__}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def _fetch(url: str) -> bytes:
    body = _urlopen(url, _TIMEOUT_S)
    if hasattr(body, "read"):  # a response object rather than bytes
        with contextlib.closing(body):
            body = body.read()
    return bytes(body)


def _md5(content: bytes) -> str:
    return hashlib.md5(content, usedforsecurity=False).hexdigest()


def _verified(content: bytes, name: str, where: object, *, gzipped: bool) -> np.ndarray:
    """Check the MD5 of decompressed MNIST content, then parse it."""
    got, want = _md5(content), MNIST_MD5[name]
    if got != want:
        raise ValueError(
            f"{where}: MD5 check failed: the decompressed content has md5 {got}, expected {want}"
        )
    array = _parse_idx(content, where, gzipped=gzipped)
    if name.endswith("labels-idx1-ubyte"):
        ok = array.ndim == 1 and array.dtype == np.uint8 and int(array.max(initial=0)) <= 9
    else:
        ok = array.ndim == 3 and array.dtype == np.uint8
    if not ok:
        raise ValueError(f"{where}: unexpected content {array.dtype} {array.shape} for {name}")
    return array


def _read_cached(path: Path, name: str) -> np.ndarray:
    try:
        raw = path.read_bytes()
        return _verified(_decompress(raw, path), name, path, gzipped=raw[:2] == _GZIP_MAGIC)
    except (OSError, ValueError) as err:
        raise ValueError(
            f"{err} -- this file is never used; delete it ({path}) and call "
            "load_mnist(download=True) to fetch a fresh copy"
        ) from err


def _cached_path(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def _is_writable(folder: Path) -> bool:
    """Whether files may be created in `folder` (or in the ancestor it would be created in).

    A folder without any write permission bit counts as read-only even for root, who could
    otherwise write into a shared, deliberately read-only data folder.
    """
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return False
    any_write = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    return bool(probe.stat().st_mode & any_write) and os.access(probe, os.W_OK | os.X_OK)


def _write_atomic(target: Path, payload: bytes) -> None:
    """Write to a temp file in the target's folder, fsync, then rename over the target."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        # After a successful os.replace the temp name no longer exists.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    with contextlib.suppress(OSError):  # persist the rename; not possible on every platform
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _download(name: str, folder: Path) -> np.ndarray:
    """Fetch `name`.gz from each URL in turn (with retries), verify it, store it atomically."""
    failures: list[str] = []
    network_only = True
    for base in MNIST_URLS:
        url = f"{base}{name}.gz"
        for attempt in range(_RETRIES):
            if attempt:
                _sleep(_BACKOFF_S * 2 ** (attempt - 1))
            try:
                payload = _fetch(url)
                array = _verified(_decompress(payload, url), name, url, gzipped=True)
            except urllib.error.HTTPError as err:
                failures.append(f"{url}: HTTP {err.code}")
                network_only = False
                if 400 <= err.code < 500:
                    break  # the server says the file is not there; asking again will not help
            except urllib.error.URLError as err:
                failures.append(f"{url}: {err.reason}")
                if isinstance(err.reason, socket.gaierror):
                    break  # the host name does not resolve (offline): retrying will not help
            except (OSError, http.client.HTTPException) as err:
                failures.append(f"{url}: {type(err).__name__}: {err}")
            except ValueError as err:
                failures.append(str(err))
                network_only = False
            else:
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                    _write_atomic(folder / f"{name}.gz", payload)
                except OSError as err:
                    raise _DownloadError(f"cannot write to {folder}: {err}") from err
                return array
    last = failures[-1] if failures else "no URL to try"
    if network_only:
        raise _DownloadError(f"network unreachable; last error: {last}")
    raise _DownloadError(f"{len(failures)} attempts failed; last: {last}")


def _split(n: int, n_val: int, n_test: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays (train, val, test) from one fixed-seed permutation of range(n)."""
    perm = np.random.default_rng(_SPLIT_SEED).permutation(n)
    n_train = n - n_val - n_test
    return perm[:n_train], perm[n_train : n_train + n_val], perm[n_train + n_val :]


def _pair(images: np.ndarray, labels: np.ndarray, where: object) -> tuple[np.ndarray, np.ndarray]:
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{where}: {images.shape[0]} images but {labels.shape[0]} labels; the image and "
            "label files do not belong together (delete both)"
        )
    return images.astype(np.float32) / np.float32(255.0), labels.astype(np.int64)


def _sizes(*parts: np.ndarray) -> str:
    return "/".join(f"{len(p):,}" for p in parts)


def load_mnist(
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    *,
    verbose: bool = True,
) -> MNIST:
    """MNIST from `data_dir(root)`/mnist, downloading what is missing, else a stated fallback.

    The four standard files (train-images-idx3-ubyte etc., each as name.gz or raw) are read
    from the folder and each is checked against `MNIST_MD5` (the MD5 of the decompressed
    content). A file that fails a check is never used: ValueError names it and asks for it to be
    deleted, unless download=True and a fresh copy replaces it. Missing files are downloaded
    when `download` is True (official source, then mirror; verified; written atomically).

    Sources, best first:
      "mnist"            all four files: the 60,000 training images split 55,000/5,000 into
                         train/val by a fixed permutation; the 10,000 test images as test;
      "mnist-test-split" only the two t10k files: their 10,000 images split 6,000/2,000/2,000;
      "digits"           no usable MNIST: scikit-learn's 1,797 8x8 digits, split about 60/20/20.
    `note` says which one and why; `verbose` prints it.

    Returns an MNIST tuple: x_* float32 (N, 28, 28) in [0, 1] ((N, 8, 8) for "digits"),
    y_* int64 (N,) in 0..9.
    """
    download = _check_bool("download", download)
    verbose = _check_bool("verbose", verbose)
    folder = data_dir(root) / "mnist"

    arrays: dict[str, np.ndarray] = {}
    broken: dict[str, tuple[Path, ValueError]] = {}
    for name in (*_TEST, *_TRAIN):
        path = _cached_path(folder, name)
        if path is None:
            continue
        try:
            arrays[name] = _read_cached(path, name)
        except ValueError as err:
            broken[name] = (path, err)
    if broken and not download:
        raise next(iter(broken.values()))[1]

    failure = None
    downloaded: list[str] = []
    missing = [name for name in (*_TEST, *_TRAIN) if name not in arrays]
    if missing and download:
        if not _is_writable(folder):
            failure = f"{folder} is read-only"
        else:
            # The t10k files come first: they alone already give "mnist-test-split".
            for name in missing:
                try:
                    arrays[name] = _download(name, folder)
                except _DownloadError as err:
                    failure = str(err)
                    break  # offline: the remaining files would fail the same way
                downloaded.append(name)
    for name, (path, err) in broken.items():
        if name not in arrays:
            raise ValueError(f"{err} (downloading a fresh copy failed: {failure})") from err
        if path != folder / f"{name}.gz":
            path.unlink(missing_ok=True)  # the corrupt raw file, now replaced by name.gz

    fetched = f" (downloaded {', '.join(downloaded)})" if downloaded else ""
    why = "download=False" if not download else f"MNIST download failed ({failure})"
    if all(name in arrays for name in (*_TRAIN, *_TEST)):
        x, y = _pair(arrays[_TRAIN[0]], arrays[_TRAIN[1]], folder)
        x_test, y_test = _pair(arrays[_TEST[0]], arrays[_TEST[1]], folder)
        train, val, _ = _split(len(y), len(y) // 12, 0)  # 60,000 -> 55,000 + 5,000
        source = "mnist"
        note = (
            f"Using the full MNIST from {folder}{fetched}: {_sizes(train, val, y_test)} "
            "train/validation/test images, the validation set split off the training set."
        )
    elif all(name in arrays for name in _TEST):
        x, y = _pair(arrays[_TEST[0]], arrays[_TEST[1]], folder)
        train, val, test = _split(len(y), len(y) // 5, len(y) // 5)  # 60/20/20
        x_test, y_test = x[test], y[test]
        source = "mnist-test-split"
        if not download:
            why = f"MNIST training files are not in {folder} and download=False"
        note = (
            f"{why}; using the {len(y):,} MNIST test images from {folder}{fetched}, split "
            f"{_sizes(train, val, test)} into train/validation/test."
        )
    else:
        X, y = load_digits()
        x = X.astype(np.float32)
        train, val, test = _split(len(y), len(y) // 5, len(y) // 5)  # about 60/20/20
        x_test, y_test = x[test], y[test]
        source = "digits"
        if not download:
            why = f"MNIST test files are not in {folder} and download=False"
        note = (
            f"{why}; using scikit-learn's {len(y):,} 8x8 digits instead of MNIST, split "
            f"{_sizes(train, val, test)} into train/validation/test."
        )
    if verbose:
        print(note)
    return MNIST(x[train], y[train], x[val], y[val], x_test, y_test, source, note)
