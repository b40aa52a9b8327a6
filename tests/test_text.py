"""dlbook.data.text: the corpus loader (data dir, checksum, bundled fallback), the vocabulary
and the LM batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dlbook import data
from dlbook.data.text import CORPORA

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_bundled_corpus_loads_offline(tmp_path):
    corpus = data.load_corpus(root=tmp_path)  # an empty data dir: falls back
    assert corpus.source == "shakespeare-excerpts"
    assert 10_000 < len(corpus.text) < 300_000
    assert corpus.train.dtype == np.int64 and corpus.val.dtype == np.int64
    assert len(corpus.train) + len(corpus.val) == len(corpus.text)
    assert corpus.vocab.decode(corpus.train) + corpus.vocab.decode(corpus.val) == corpus.text


def test_split_is_by_position_and_fraction():
    corpus = data.load_corpus("shakespeare-excerpts", val_fraction=0.25)
    n = len(corpus.text)
    assert abs(len(corpus.val) - 0.25 * n) <= 1
    assert corpus.vocab.decode(corpus.val) == corpus.text[len(corpus.train) :]


@pytest.mark.skipif(not (SHARED / "text" / "tinyshakespeare.txt").exists(), reason="no shared data")
def test_tinyshakespeare_from_the_data_dir():
    corpus = data.load_corpus(root=SHARED)
    assert corpus.source == "tinyshakespeare"
    assert len(corpus.text) == 1_115_394 and len(corpus.vocab) == 65
    assert corpus.text.startswith("First Citizen:")
    assert corpus.path.endswith("tinyshakespeare.txt")


def test_a_corrupted_file_is_not_used(tmp_path):
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / CORPORA["tinyshakespeare"][0]).write_text("First Citizen:\ntruncated")
    with pytest.warns(UserWarning, match="md5 mismatch"):
        corpus = data.load_corpus(root=tmp_path)
    assert corpus.source == "shakespeare-excerpts"


def test_dlbook_data_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("DLBOOK_DATA", str(tmp_path))
    assert data.load_corpus().source == "shakespeare-excerpts"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "wikitext"}, "name must be one of"),
        ({"val_fraction": 0.0}, r"val_fraction must lie in \(0, 1\)"),
        ({"val_fraction": 1.0}, r"val_fraction must lie in \(0, 1\)"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.load_corpus(**kwargs)


def test_vocabulary_round_trip_and_errors():
    vocab = data.Vocabulary.from_text("hello world\n")
    assert vocab.symbols == "\n dehlorw" and len(vocab) == 9
    ids = vocab.encode("world")
    assert ids.dtype == np.int64 and vocab.decode(ids) == "world"
    assert vocab.decode(ids.reshape(1, -1)) == "world"
    with pytest.raises(ValueError, match="'z', which is not in the vocabulary"):
        vocab.encode("zebra")
    with pytest.raises(ValueError, match=r"ids must hold indices in \[0, 9\)"):
        vocab.decode([0, 9])
    with pytest.raises(ValueError, match=r"ids must hold indices"):
        vocab.decode([-1])
    with pytest.raises(ValueError, match="must not repeat"):
        data.Vocabulary("aa")


def test_lm_batches_continue_each_row():
    ids = np.arange(1000)
    batches = list(data.lm_batches(ids, seq_len=10, batch_size=4))
    assert len(batches) == (999 // 4) // 10
    for x, y in batches:
        assert x.shape == y.shape == (4, 10) and x.dtype == np.int64
        np.testing.assert_array_equal(y, x + 1)  # targets are the next ids
    for (x0, _), (x1, _) in zip(batches, batches[1:], strict=False):
        np.testing.assert_array_equal(x1[:, 0], x0[:, -1] + 1)  # row r continues
    # the rows are disjoint streams covering the text in order
    starts = batches[0][0][:, 0]
    assert np.all(np.diff(starts) == 999 // 4)


def test_lm_batches_random_offset_is_reproducible():
    ids = np.arange(500)
    a = [x for x, _ in data.lm_batches(ids, 8, 3, rng=np.random.default_rng(1))]
    b = [x for x, _ in data.lm_batches(ids, 8, 3, rng=np.random.default_rng(1))]
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    offsets = {
        int(next(data.lm_batches(ids, 8, 3, rng=np.random.default_rng(s)))[0][0, 0])
        for s in range(20)
    }
    assert len(offsets) > 1 and max(offsets) < 8


def test_lm_batches_bad_input():
    with pytest.raises(ValueError, match="too few for one batch"):
        data.lm_batches(np.arange(10), seq_len=5, batch_size=4)
    with pytest.raises(ValueError, match="seq_len must be an int >= 1"):
        data.lm_batches(np.arange(10), seq_len=0, batch_size=1)
    with pytest.raises(ValueError, match=r"ids must be a 1-D array"):
        data.lm_batches(np.zeros((2, 5), dtype=int), seq_len=2, batch_size=1)
