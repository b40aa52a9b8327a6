"""MNIST: the data folder, the IDX file format, and a loader with a stated fallback.

MNIST is read from the data directory (`data_dir`) and downloaded into it on demand, verified
by the MD5 of the decompressed content and written atomically (see `dlbook.data._download`).
When MNIST cannot be had, `load_mnist` falls back to what it can find and says so in
`MNIST.note`. Never imports torch.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from dlbook.checks import check_bool
from dlbook.data import _download
from dlbook.data.toys import load_digits

__all__ = ["MNIST", "MNIST_MD5", "MNIST_URLS", "data_dir", "load_mnist", "read_idx"]

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
_SPLIT_SEED = 0


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


def _verified(content: bytes, name: str, where: object, *, gzipped: bool) -> np.ndarray:
    """Check the MD5 of decompressed MNIST content, then parse it."""
    got, want = _download.md5(content), MNIST_MD5[name]
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


def _download_file(name: str, folder: Path) -> np.ndarray:
    """Fetch `name`.gz from each URL of MNIST_URLS in turn, verify it, store it atomically."""
    return _download.fetch_verified(
        [f"{base}{name}.gz" for base in MNIST_URLS],
        folder / f"{name}.gz",
        lambda payload, url: _verified(_decompress(payload, url), name, url, gzipped=True),
    )


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
    download = check_bool("download", download)
    verbose = check_bool("verbose", verbose)
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
        if not _download.is_writable(folder):
            failure = f"{folder} is read-only"
        else:
            # The t10k files come first: they alone already give "mnist-test-split".
            for name in missing:
                try:
                    arrays[name] = _download_file(name, folder)
                except _download.DownloadError as err:
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
