"""Tests for dlbook.data: toy sets, the IDX reader and the MNIST loader (never the network).

The network is faked by patching `dlbook.data._download._urlopen` and `_sleep`; the real MNIST
test files, when present, are only read, and always from a private copy."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import stat
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import dlbook
from dlbook import data
from dlbook.data import _download, mnist

SHARED = (
    Path(os.environ["DLBOOK_DATA"])
    if os.environ.get("DLBOOK_DATA")
    else Path(__file__).resolve().parents[1].parent / "shared" / "data"
)
T10K = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
OFFICIAL, MIRROR = data.MNIST_URLS
OFFLINE = urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


# ---------------------------------------------------------------------------------------------
# Helpers


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode `array` in the IDX format (big-endian), the inverse of read_idx."""
    codes = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C}
    codes |= {"float32": 0x0D, "float64": 0x0E}
    code = codes[array.dtype.name]
    header = bytes([0, 0, code, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def listing(folder: Path) -> list[str]:
    """All names under `folder`, temp files included (an absent folder lists as empty)."""
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


class FakeNet:
    """Stands in for _download._urlopen and _download._sleep; routes map URL -> bytes, error
    or a list."""

    def __init__(self) -> None:
        self.routes: dict[str, object] = {}
        self.calls: list[str] = []
        self.sleeps: list[float] = []

    def urlopen(self, url: str, timeout: float) -> bytes:
        assert 0 < timeout <= 60
        self.calls.append(url)
        answer = self.routes.get(url, OFFLINE)
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def serve(self, base: str, files: dict[str, bytes]) -> None:
        for name, payload in files.items():
            self.routes[f"{base}{name}.gz"] = payload


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch) -> FakeNet:
    fake = FakeNet()
    monkeypatch.setattr(_download, "_urlopen", fake.urlopen)
    monkeypatch.setattr(_download, "_sleep", fake.sleeps.append)
    return fake


@pytest.fixture
def fake_mnist(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, object]]:
    """A small MNIST look-alike (120 train, 20 test) whose MD5s replace the real table."""
    rng = np.random.default_rng(7)
    arrays = {
        TRAIN[0]: rng.integers(0, 256, size=(120, 28, 28), dtype=np.uint8),
        TRAIN[1]: (np.arange(120) % 10).astype(np.uint8),
        T10K[0]: rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8),
        T10K[1]: (np.arange(20) % 10).astype(np.uint8),
    }
    files = {}
    for name, array in arrays.items():
        raw = idx_bytes(array)
        monkeypatch.setitem(data.MNIST_MD5, name, hashlib.md5(raw).hexdigest())
        files[name] = {"array": array, "raw": raw, "gz": gzip.compress(raw, mtime=0)}
    return files


def gz_of(fake: dict[str, dict[str, object]]) -> dict[str, bytes]:
    return {name: f["gz"] for name, f in fake.items()}


@pytest.fixture
def shared_mnist() -> Path:
    """The folder of the real MNIST test files (read here, never written or relied on to be
    read-only: tests that need a folder copy the files with `copy_t10k`)."""
    folder = SHARED / "mnist"
    if not all((folder / f"{name}.gz").is_file() for name in T10K):
        pytest.skip(f"real MNIST test files not found in {folder}")
    return folder


def copy_t10k(shared_mnist: Path, root: Path) -> Path:
    """Copy the real t10k files into root/mnist (writable) and return that folder."""
    folder = root / "mnist"
    folder.mkdir(parents=True)
    for name in T10K:
        shutil.copy(shared_mnist / f"{name}.gz", folder)
        (folder / f"{name}.gz").chmod(0o644)
    return folder


@pytest.fixture
def read_only_t10k(shared_mnist: Path, tmp_path: Path):
    """A private copy of the real t10k files in a folder without write bits (as a shared,
    read-only data folder is); the bits come back afterwards so tmp_path can be removed."""
    folder = copy_t10k(shared_mnist, tmp_path / "ro")
    for path in (folder, folder.parent):
        path.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    yield folder
    for path in (folder.parent, folder):
        path.chmod(0o755)


# ---------------------------------------------------------------------------------------------
# Toy sets

TOYS = {
    "linearly_separable": (lambda **k: data.linearly_separable(50, **k)[:2], 50, {-1, 1}),
    "blobs": (lambda **k: data.blobs(60, **k), 60, {-1, 1}),
    "xor": (lambda **k: data.xor(40, noise=0.1, **k), 40, {-1, 1}),
    "moons": (lambda **k: data.moons(70, **k), 70, {0, 1}),
    "spirals": (lambda **k: data.spirals(90, num_classes=3, **k), 90, {0, 1, 2}),
    "circles": (lambda **k: data.circles(80, **k), 80, {0, 1}),
}


@pytest.mark.parametrize("name", TOYS)
def test_toy_shapes_dtypes_and_labels(name):
    make, n, label_set = TOYS[name]
    X, y = make()
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert set(np.unique(y).tolist()) == label_set
    if name != "linearly_separable":  # its classes are as the random hyperplane cuts them
        counts = np.unique(y, return_counts=True)[1]
        assert counts.max() - counts.min() <= 1
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("name", TOYS)
def test_toy_sets_are_deterministic_in_the_seed(name):
    make = TOYS[name][0]
    X1, y1 = make(seed=3)
    X2, y2 = make(seed=3)
    X3, _ = make(seed=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("name", TOYS)
def test_toy_sets_take_a_generator_like_dnp(name):
    make = TOYS[name][0]
    X1, y1 = make(seed=3)
    X2, y2 = make(rng=np.random.default_rng(3))  # seed=s is rng=np.random.default_rng(s)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    rng = np.random.default_rng(3)
    first, second = make(rng=rng)[0], make(rng=rng)[0]
    assert not np.array_equal(first, second)  # the generator moves on between calls


@pytest.mark.parametrize(("dim", "margin"), [(2, 0.1), (2, 0.5), (5, 0.3), (1, 0.9), (3, 0.0)])
def test_linearly_separable_has_the_margin(dim, margin):
    X, y, w = data.linearly_separable(200, dim=dim, margin=margin, seed=1)
    assert X.shape == (200, dim) and w.shape == (dim,)
    assert np.linalg.norm(w) == pytest.approx(1.0)
    assert np.all(np.abs(X) <= 1)
    functional_margin = y * (X @ w)
    assert functional_margin.min() >= margin
    assert functional_margin.min() > 0


def test_linearly_separable_01_labels_agree_with_pm1():
    X, y_pm, w = data.linearly_separable(30, labels="pm1", seed=5)
    X01, y01, w01 = data.linearly_separable(30, labels="01", seed=5)
    np.testing.assert_array_equal(X, X01)
    np.testing.assert_array_equal(w, w01)
    np.testing.assert_array_equal(y01, (y_pm + 1) // 2)


def test_xor_four_corners_are_exact():
    X, y = data.xor()
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [-1, 1, 1, -1])
    _, y01 = data.xor(labels="01")
    np.testing.assert_array_equal(y01, [0, 1, 1, 0])


def test_xor_noisy_points_keep_their_corner_label():
    X, y = data.xor(400, noise=0.05, labels="01", seed=2)
    corner = np.round(X).clip(0, 1).astype(int)  # noise 0.05 never moves a point past 0.5
    np.testing.assert_array_equal(y, corner[:, 0] ^ corner[:, 1])


def test_blobs_with_three_centers_use_integer_labels():
    X, y = data.blobs(90, centers=[(0, 0), (5, 0), (0, 5)], std=0.1)
    assert set(y.tolist()) == {0, 1, 2}
    centers = np.array([[0, 0], [5, 0], [0, 5]])
    assert np.all(np.linalg.norm(X - centers[y], axis=1) < 1.0)
    with pytest.raises(ValueError, match=r"labels='pm1' needs exactly 2 classes"):
        data.blobs(90, centers=[(0, 0), (5, 0), (0, 5)], labels="pm1")


def test_circles_radii_and_spirals_arms():
    X, y = data.circles(100, factor=0.3, noise=0.0)
    radius = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)
    X, y = data.spirals(60, num_classes=2, noise=0.0)
    assert np.linalg.norm(X, axis=1).max() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: data.blobs(0), r"n must be an int >= 1; got 0"),
        (lambda: data.moons(-3), r"n must be an int >= 1"),
        (lambda: data.circles(10.5), r"n must be an int >= 1; got 10.5"),
        (lambda: data.xor(True), r"n must be an int"),
        (lambda: data.moons(noise=-0.1), r"noise must be a finite number >= 0"),
        (lambda: data.spirals(noise=float("nan")), r"noise must be a finite number >= 0"),
        (lambda: data.xor(noise=float("inf")), r"noise"),
        (lambda: data.moons(labels="bool"), r"labels must be one of \['pm1', '01', 'int'\]"),
        (lambda: data.xor(labels=1), r"labels must be one of"),
        (lambda: data.spirals(num_classes=3, labels="01"), r"labels='01' needs exactly 2 classes"),
        (lambda: data.spirals(num_classes=1), r"num_classes must be an int >= 2"),
        (lambda: data.linearly_separable(margin=1.0), r"margin must be in \[0, 1\)"),
        (lambda: data.linearly_separable(margin=-0.1), r"margin must be a finite number >= 0"),
        (lambda: data.linearly_separable(dim=0), r"dim must be an int >= 1"),
        (lambda: data.circles(factor=1.5), r"factor must be in \(0, 1\)"),
        (lambda: data.circles(factor=0), r"factor must be a finite number > 0"),
        (lambda: data.blobs(std=-1), r"std must be a finite number >= 0"),
        (lambda: data.blobs(centers=[1, 2, 3]), r"centers must be a 2-D array"),
        (lambda: data.blobs(centers=[[0, np.nan], [1, 1]]), r"centers contains NaN"),
        (lambda: data.moons(seed=-1), r"seed must be an int >= 0"),
        (lambda: data.moons(seed="a"), r"seed must be an int"),
        (lambda: data.moons(rng=0), r"rng must be a numpy Generator"),
        (lambda: data.moons(seed=1, rng=np.random.default_rng(1)), r"either seed or rng"),
        (lambda: data.data_dir(3), r"root must be a path"),
        (lambda: data.read_idx(None), r"path must be a path"),
        (lambda: data.load_mnist(download="yes"), r"download must be True or False"),
    ],
)
def test_bad_arguments_raise_valueerror_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_load_digits_is_scaled_to_unit_interval():
    X, y = data.load_digits()
    assert X.shape == (1797, 8, 8) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(y.tolist()) == set(range(10))


# ---------------------------------------------------------------------------------------------
# IDX reader


def test_read_idx_on_the_real_mnist_test_files(shared_mnist):
    images = data.read_idx(shared_mnist / "t10k-images-idx3-ubyte.gz")
    labels = data.read_idx(shared_mnist / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    np.testing.assert_array_equal(labels[:5], [7, 2, 1, 0, 4])  # the well-known first five
    assert hashlib.md5(idx_bytes(images)).hexdigest() == data.MNIST_MD5[T10K[0]]


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path, dtype, compress):
    array = (np.arange(2 * 3 * 4).reshape(2, 3, 4) - 5).astype(dtype)
    payload = idx_bytes(array)
    path = tmp_path / "a.idx"
    path.write_bytes(gzip.compress(payload) if compress else payload)
    out = data.read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)
    out[0, 0, 0] = 1  # a writable copy, not a view of the file's bytes


def test_read_idx_detects_gzip_by_magic_not_name(tmp_path):
    array = np.arange(6, dtype=np.uint8)
    (tmp_path / "raw.gz").write_bytes(idx_bytes(array))
    (tmp_path / "packed.bin").write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "raw.gz"), array)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "packed.bin"), array)


def test_read_idx_truncated_payload(tmp_path):
    payload = idx_bytes(np.zeros((10, 28, 28), dtype=np.uint8))
    (tmp_path / "raw").write_bytes(payload[:-100])
    (tmp_path / "packed").write_bytes(gzip.compress(payload[:1234]))
    with pytest.raises(ValueError, match=r"raw: truncated: expected 7856 bytes .*got 7756"):
        data.read_idx(tmp_path / "raw")
    with pytest.raises(ValueError, match=r"truncated: expected 7856 bytes after decompression"):
        data.read_idx(tmp_path / "packed")


def test_read_idx_trailing_bytes_and_short_header(tmp_path):
    (tmp_path / "long").write_bytes(idx_bytes(np.zeros(4, dtype=np.uint8)) + b"\x00")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(ValueError, match=r"long: trailing bytes: expected 12 bytes"):
        data.read_idx(tmp_path / "long")
    with pytest.raises(ValueError, match=r"short: truncated: the header needs 16 bytes"):
        data.read_idx(tmp_path / "short")


@pytest.mark.parametrize(
    "magic", [b"\x01\x00\x08\x01", b"\x00\x00\x0a\x01", b"\x00\x00\x08\x00", b"PK\x03\x04", b"\x00"]
)
def test_read_idx_bad_magic(tmp_path, magic):
    path = tmp_path / "bad.idx"
    path.write_bytes(magic + bytes(8))
    with pytest.raises(ValueError, match=r"bad\.idx: not an IDX file"):
        data.read_idx(path)


def test_read_idx_truncated_gzip_stream(tmp_path):
    packed = gzip.compress(idx_bytes(np.arange(5000, dtype=np.int32)))
    path = tmp_path / "cut.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ValueError, match=r"cut\.gz: corrupted gzip stream: .*truncated"):
        data.read_idx(path)


@pytest.mark.parametrize("where", [0.5, -6])  # in the deflate data; in the CRC-32 trailer
def test_read_idx_corrupted_gzip(tmp_path, where):
    rng = np.random.default_rng(0)
    packed = bytearray(gzip.compress(idx_bytes(rng.integers(0, 9, 4000, dtype=np.uint8))))
    at = int(where * len(packed)) if isinstance(where, float) else where
    packed[at] ^= 0xFF
    path = tmp_path / "flip.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(ValueError, match=r"flip\.gz: corrupted gzip stream"):
        data.read_idx(path)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"nothing\.idx: cannot read"):
        data.read_idx(tmp_path / "nothing.idx")


# ---------------------------------------------------------------------------------------------
# load_mnist


def test_mnist_test_split_from_a_read_only_folder(read_only_t10k, net, capsys):
    folder = read_only_t10k
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    first = data.load_mnist(folder.parent)
    second = data.load_mnist(folder.parent, verbose=False)
    assert first.source == "mnist-test-split"
    assert [len(a) for a in first[:6]] == [6000, 6000, 2000, 2000, 2000, 2000]
    assert first.x_train.shape == (6000, 28, 28) and first.x_train.dtype == np.float32
    assert first.y_train.dtype == np.int64
    assert first.x_test.min() >= 0.0 and first.x_test.max() <= 1.0
    for a, b in zip(first[:6], second[:6], strict=True):
        np.testing.assert_array_equal(a, b)
    for labels in (first.y_train, first.y_val, first.y_test):
        assert set(labels.tolist()) == set(range(10))
    # The three parts are a partition of the 10,000 test images.
    all_labels = data.read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    together = np.concatenate([first.y_train, first.y_val, first.y_test])
    np.testing.assert_array_equal(np.bincount(together), np.bincount(all_labels))
    assert "6,000/2,000/2,000" in first.note and str(folder) in first.note
    assert f"{folder} is read-only" in first.note
    assert capsys.readouterr().out == first.note + "\n"  # one print, only when verbose
    assert net.calls == []  # a read-only folder cannot take a download, so none is tried
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before


def test_mnist_test_split_when_the_download_fails(shared_mnist, net, tmp_path):
    copy_t10k(shared_mnist, tmp_path)
    result = data.load_mnist(tmp_path, verbose=False)
    assert result.source == "mnist-test-split"
    assert [len(a) for a in result[:6]] == [6000, 6000, 2000, 2000, 2000, 2000]
    assert "MNIST download failed (network unreachable" in result.note
    # Three tries at each URL for the first missing file, then it stops asking.
    assert net.calls == [f"{OFFICIAL}{TRAIN[0]}.gz"] * 3 + [f"{MIRROR}{TRAIN[0]}.gz"] * 3
    assert net.sleeps == [1.0, 2.0, 1.0, 2.0]
    assert listing(tmp_path / "mnist") == sorted(f"{name}.gz" for name in T10K)
    offline = data.load_mnist(tmp_path, download=False, verbose=False)
    assert "download=False" in offline.note  # the same split whatever the reason
    np.testing.assert_array_equal(result.x_val, offline.x_val)


def test_full_mnist_download_is_verified_and_atomic(fake_mnist, net, tmp_path, monkeypatch):
    net.serve(OFFICIAL, gz_of(fake_mnist))
    renames: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def spy_replace(src, dst):
        renames.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy_replace)
    result = data.load_mnist(tmp_path, verbose=False)
    folder = tmp_path / "mnist"

    assert result.source == "mnist"
    assert [len(a) for a in result[:6]] == [110, 110, 10, 10, 20, 20]
    assert listing(folder) == sorted(f"{name}.gz" for name in fake_mnist)  # no temp files
    for name, fake in fake_mnist.items():
        np.testing.assert_array_equal(data.read_idx(folder / f"{name}.gz"), fake["array"])
    assert [dst.name for _, dst in renames] == [f"{n}.gz" for n in (*T10K, *TRAIN)]
    for src, dst in renames:
        assert src.parent == dst.parent == folder and src.name.startswith(".")
    np.testing.assert_array_equal(result.x_test * 255, fake_mnist[T10K[0]]["array"])
    # Train and validation together are the 120 training images, each exactly once.
    seen = np.concatenate([result.x_train, result.x_val]) * 255
    rows = sorted(np.round(image).astype(np.uint8).tobytes() for image in seen)
    want = sorted(img.tobytes() for img in fake_mnist[TRAIN[0]]["array"])
    assert rows == want
    assert "full MNIST" in result.note and "downloaded" in result.note

    net.routes.clear()  # offline now: the cache alone must serve the same data
    again = data.load_mnist(tmp_path, verbose=False)
    assert again.source == "mnist" and "downloaded" not in again.note
    np.testing.assert_array_equal(again.x_val, result.x_val)
    assert len(net.calls) == 4


def test_the_mirror_is_used_after_retries_at_the_official_source(fake_mnist, net, tmp_path):
    net.serve(MIRROR, gz_of(fake_mnist))
    result = data.load_mnist(tmp_path, verbose=False)
    assert result.source == "mnist"
    for name in (*T10K, *TRAIN):
        assert net.calls.count(f"{OFFICIAL}{name}.gz") == 3
        assert net.calls.count(f"{MIRROR}{name}.gz") == 1
    assert net.sleeps == [1.0, 2.0] * 4


def test_a_transient_failure_is_retried_and_a_404_is_not(fake_mnist, net, tmp_path):
    files = gz_of(fake_mnist)
    not_found = urllib.error.HTTPError("u", 404, "Not Found", {}, None)
    for name, payload in files.items():
        net.routes[f"{OFFICIAL}{name}.gz"] = [OFFLINE, payload] if "t10k" in name else not_found
        net.routes[f"{MIRROR}{name}.gz"] = payload
    result = data.load_mnist(tmp_path, verbose=False)
    assert result.source == "mnist"
    assert [net.calls.count(f"{OFFICIAL}{n}.gz") for n in (*T10K, *TRAIN)] == [2, 2, 1, 1]
    assert [net.calls.count(f"{MIRROR}{n}.gz") for n in (*T10K, *TRAIN)] == [0, 0, 1, 1]
    assert net.sleeps == [1.0, 1.0]


@pytest.mark.parametrize("fault", ["wrong bytes", "cut short", "not gzip"])
def test_a_bad_download_leaves_nothing_behind(fake_mnist, net, tmp_path, fault):
    for name, f in fake_mnist.items():
        bad = {
            "wrong bytes": gzip.compress(f["raw"][:-1] + b"\x01"),
            "cut short": f["gz"][: len(f["gz"]) // 2],
            "not gzip": b"<html>moved</html>",
        }[fault]
        net.routes[f"{OFFICIAL}{name}.gz"] = net.routes[f"{MIRROR}{name}.gz"] = bad
    result = data.load_mnist(tmp_path, verbose=False)
    assert result.source == "digits"
    assert len(net.calls) == 6  # 3 tries x 2 URLs for the first file, then it gives up
    assert listing(tmp_path) in ([], ["mnist"])  # at most the empty folder
    assert "MNIST download failed" in result.note


def test_a_failed_write_leaves_no_temp_file(fake_mnist, net, tmp_path, monkeypatch):
    net.serve(OFFICIAL, gz_of(fake_mnist))

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    result = data.load_mnist(tmp_path, verbose=False)
    assert result.source == "digits"
    assert "cannot write to" in result.note and "No space left" in result.note
    assert listing(tmp_path / "mnist") == []


def test_empty_folder_and_no_network_gives_digits(net, tmp_path, capsys):
    result = data.load_mnist(tmp_path / "cache")
    assert result.source == "digits"
    assert result.x_train.shape[1:] == (8, 8) and result.x_train.dtype == np.float32
    assert result.y_test.dtype == np.int64
    assert sum(len(y) for y in (result.y_train, result.y_val, result.y_test)) == 1797
    assert len(result.y_train) == 1079 and len(result.y_val) == len(result.y_test) == 359
    assert result.x_train.min() >= 0.0 and result.x_train.max() == 1.0
    assert "digits" in result.note and "network unreachable" in result.note
    assert capsys.readouterr().out.count("\n") == 1
    assert listing(tmp_path / "cache") in ([], ["mnist"])


def test_download_false_never_touches_the_network(net, tmp_path):
    result = data.load_mnist(tmp_path, download=False, verbose=False)
    assert result.source == "digits" and "download=False" in result.note
    assert net.calls == [] and listing(tmp_path) == []


@pytest.mark.parametrize("stored_as", ["raw", "gz"])
def test_a_corrupted_cached_file_is_never_used(fake_mnist, net, tmp_path, stored_as):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / f"{T10K[1]}.gz").write_bytes(fake_mnist[T10K[1]]["gz"])
    raw = bytearray(fake_mnist[T10K[0]]["raw"])
    raw[500] ^= 0x01  # one pixel off: parses fine, fails the checksum
    bad = folder / (T10K[0] + (".gz" if stored_as == "gz" else ""))
    bad.write_bytes(gzip.compress(bytes(raw)) if stored_as == "gz" else bytes(raw))
    want = data.MNIST_MD5[T10K[0]]
    got = hashlib.md5(bytes(raw)).hexdigest()
    with pytest.raises(ValueError, match=rf"{bad.name}: MD5 check failed") as info:
        data.load_mnist(tmp_path, download=False, verbose=False)
    message = str(info.value)
    assert str(bad) in message and want in message and got in message
    assert "delete it" in message
    # download=True with the network down: still an error, and the file is left as it was.
    with pytest.raises(ValueError, match=r"downloading a fresh copy failed"):
        data.load_mnist(tmp_path, verbose=False)
    assert bad.read_bytes()[:2] == (b"\x1f\x8b" if stored_as == "gz" else b"\x00\x00")
    assert listing(folder) == sorted([bad.name, f"{T10K[1]}.gz"])


def test_a_truncated_cached_file_is_reported(fake_mnist, tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / f"{T10K[1]}.gz").write_bytes(fake_mnist[T10K[1]]["gz"][:-9])
    with pytest.raises(ValueError, match=rf"{T10K[1]}\.gz: corrupted gzip stream.*delete it"):
        data.load_mnist(tmp_path, download=False, verbose=False)


def test_a_corrupted_cached_file_is_replaced_by_a_good_download(fake_mnist, net, tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / T10K[0]).write_bytes(b"\x00\x00\x08\x03garbage")
    (folder / f"{T10K[1]}.gz").write_bytes(fake_mnist[T10K[1]]["gz"])
    net.serve(MIRROR, {T10K[0]: fake_mnist[T10K[0]]["gz"]})
    result = data.load_mnist(tmp_path, verbose=False)
    assert result.source == "mnist-test-split"
    assert [len(a) for a in result[:6]] == [12, 12, 4, 4, 4, 4]
    assert listing(folder) == sorted(f"{name}.gz" for name in T10K)  # the raw file is gone
    assert net.calls.count(f"{MIRROR}{T10K[0]}.gz") == 1


def test_data_dir_order(monkeypatch, tmp_path):
    monkeypatch.setenv("DLBOOK_DATA", str(tmp_path / "env"))
    assert data.data_dir() == tmp_path / "env"
    assert data.data_dir(tmp_path / "given") == tmp_path / "given"
    assert data.data_dir(str(tmp_path)) == tmp_path
    monkeypatch.delenv("DLBOOK_DATA")
    checkout = Path(dlbook.__file__).resolve().parents[1] / "data"
    if (checkout / "README.md").is_file():
        assert data.data_dir() == checkout
    monkeypatch.setattr(mnist, "_checkout_data_dir", lambda: None)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.data_dir() == tmp_path / ".cache" / "dlbook"


def test_load_mnist_honours_dlbook_data(fake_mnist, net, tmp_path, monkeypatch):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in T10K:
        (folder / name).write_bytes(fake_mnist[name]["raw"])  # raw, uncompressed files
    monkeypatch.setenv("DLBOOK_DATA", str(tmp_path))
    result = data.load_mnist(download=False, verbose=False)
    assert result.source == "mnist-test-split" and str(folder) in result.note
    assert [len(a) for a in result[:6]] == [12, 12, 4, 4, 4, 4]


def test_an_unresolvable_host_is_not_retried(net, tmp_path):
    """Offline, name resolution fails at once; retrying it would only add sleeps."""
    import socket

    dns = urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))
    for base in (OFFICIAL, MIRROR):
        net.routes[f"{base}{T10K[0]}.gz"] = dns
    result = data.load_mnist(tmp_path, verbose=False)
    assert result.source == "digits"
    assert net.calls == [f"{OFFICIAL}{T10K[0]}.gz", f"{MIRROR}{T10K[0]}.gz"]
    assert net.sleeps == []
