"""Character-level text corpora for language models.

Book: chapter "Recurrent networks" (`chapters/rnn.ipynb`), section {ref}`sec-rnn-charlm`.

`load_corpus()` reads Tiny Shakespeare (the 1,115,394 characters collected for Karpathy's
char-rnn) from `<data dir>/text/tinyshakespeare.txt` when that file is there and intact. Else it
falls back to a small text that ships with dlbook: public-domain excerpts of Shakespeare (sonnets
and well-known speeches, about 22 KB), and says so in `Corpus.source`. Nothing is downloaded.

Never imports torch.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

from dlbook.checks import as_index_array, check_choice, check_fraction, check_int, check_rng
from dlbook.data.mnist import data_dir

__all__ = ["CORPORA", "Corpus", "Vocabulary", "lm_batches", "load_corpus"]

# name -> (file under <data dir>/text/, md5 of its bytes)
CORPORA = {"tinyshakespeare": ("tinyshakespeare.txt", "6fb458f1232090904fb40fe944165e91")}
_BUNDLED = "shakespeare-excerpts"
_BUNDLED_FILE = "shakespeare_excerpts.txt"


class Vocabulary:
    """The characters of a text, each with an integer id (sorted by code point).

    `encode(text)` returns an int64 array of ids; `decode(ids)` the string. A character that is
    not in the vocabulary, or an id outside [0, len(vocab)), raises `ValueError`.
    """

    def __init__(self, symbols: Iterable[str]) -> None:
        symbols = list(symbols)
        if not symbols or any(not isinstance(s, str) or len(s) != 1 for s in symbols):
            raise ValueError("symbols must be a non-empty sequence of single characters")
        if len(set(symbols)) != len(symbols):
            raise ValueError("symbols must not repeat a character")
        self.symbols = "".join(symbols)
        self.index = {s: i for i, s in enumerate(self.symbols)}

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        """The vocabulary of every distinct character of `text`, sorted."""
        if not isinstance(text, str) or not text:
            raise ValueError("text must be a non-empty string")
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.symbols)

    def __repr__(self) -> str:
        more = "..." if len(self) > 40 else ""
        return f"Vocabulary({len(self)} symbols: {self.symbols[:40]!r}{more})"

    def encode(self, text: str) -> np.ndarray:
        """int64 ids (len(text),) of the characters of `text`."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a string; got {type(text).__name__}")
        try:
            return np.fromiter((self.index[ch] for ch in text), dtype=np.int64, count=len(text))
        except KeyError as err:
            raise ValueError(
                f"text contains {err.args[0]!r}, which is not in the vocabulary"
            ) from None

    def decode(self, ids: object) -> str:
        """The string of the ids (any shape; read in row-major order)."""
        ids = as_index_array("ids", ids, high=len(self))
        return "".join(self.symbols[i] for i in ids.ravel())


class Corpus(NamedTuple):
    """A character corpus: its text, where it came from, its vocabulary and a split by position.

    `train` holds the ids of the first (1 - val_fraction) of the text, `val` the rest: the
    validation text comes after the training text, unshuffled, so that no sentence is split
    between them at random.
    """

    text: str
    source: str  # "tinyshakespeare" or "shakespeare-excerpts" (the bundled fallback)
    path: str  # the file that was read
    vocab: Vocabulary
    train: np.ndarray  # int64 ids
    val: np.ndarray  # int64 ids


def _bundled() -> tuple[str, str]:
    ref = resources.files("dlbook.data").joinpath("texts").joinpath(_BUNDLED_FILE)
    return ref.read_text(encoding="utf-8"), str(ref)


def _read_checked(path: Path, md5: str) -> str | None:
    """The file's text, or None (with a warning) when it is missing or not the expected bytes."""
    if not path.is_file():
        return None
    raw = path.read_bytes()
    if hashlib.md5(raw).hexdigest() != md5:
        warnings.warn(
            f"{path} is not the expected file (md5 mismatch: truncated or corrupted?); "
            f"using the bundled {_BUNDLED} instead",
            stacklevel=3,
        )
        return None
    return raw.decode("utf-8")


def load_corpus(
    name: str = "tinyshakespeare",
    *,
    root: str | Path | None = None,
    val_fraction: float = 0.1,
) -> Corpus:
    """Load a character corpus and split it by position into training and validation ids.

    `name="tinyshakespeare"` reads `<data dir>/text/tinyshakespeare.txt` (the data dir is `root`,
    else `DLBOOK_DATA`, else the checkout's data/ folder, see `dlbook.data.data_dir`) and checks
    its md5; when the file is missing or differs it falls back to the bundled excerpts.
    `name="shakespeare-excerpts"` asks for the bundled text directly. `Corpus.source` says which
    was used. The vocabulary holds every character of the whole text.
    """
    check_choice("name", name, [*CORPORA, _BUNDLED])
    val_fraction = check_fraction("val_fraction", val_fraction, low_open=True)
    text = None
    if name in CORPORA:
        filename, md5 = CORPORA[name]
        path = data_dir(root) / "text" / filename
        text = _read_checked(path, md5)
    if text is None:
        name = _BUNDLED
        text, where = _bundled()
    else:
        where = str(path)
    vocab = Vocabulary.from_text(text)
    ids = vocab.encode(text)
    n_train = int(round(len(ids) * (1 - val_fraction)))
    return Corpus(text, name, where, vocab, ids[:n_train], ids[n_train:])


def lm_batches(
    ids: np.ndarray,
    seq_len: int,
    batch_size: int,
    *,
    rng: np.random.Generator | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(x, y) int64 batches (batch_size, seq_len) for next-character training; y is x shifted.

    The ids are cut into `batch_size` contiguous streams, one per row, and each batch continues
    every row where the previous batch stopped. So the hidden state at the end of one batch is
    the right initial state for the next: truncated backpropagation through time with a carried
    state. With `rng`, the streams start at a random offset in [0, seq_len), so the chunk
    boundaries move from epoch to epoch; without it the batches are the same every time.
    """
    ids = as_index_array("ids", ids, shape=("L",))
    seq_len, batch_size = check_int("seq_len", seq_len), check_int("batch_size", batch_size)
    offset = 0 if rng is None else int(check_rng(rng).integers(seq_len))
    stream = (len(ids) - 1 - offset) // batch_size  # characters per row, keeping one for y
    n_batches = stream // seq_len
    if n_batches < 1:
        raise ValueError(
            f"ids has {len(ids)} characters, too few for one batch of {batch_size} rows of "
            f"seq_len {seq_len} (+1 for the targets)"
        )
    rows = np.arange(batch_size)[:, None] * stream + offset
    return _batches(ids, rows, seq_len, n_batches)


def _batches(
    ids: np.ndarray, rows: np.ndarray, seq_len: int, n_batches: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for k in range(n_batches):
        cols = rows + k * seq_len + np.arange(seq_len)  # row r continues where it stopped
        yield ids[cols], ids[cols + 1]
