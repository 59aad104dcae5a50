"""Retrieval pieces: the code tokenizer, BM25, fusion, dense filtering and context packing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlrag.embedding.fake import FakeEmbedder
from mlrag.retrieval.context import merge_text, pack
from mlrag.retrieval.dense import dense_search
from mlrag.retrieval.hybrid import rrf, weighted
from mlrag.retrieval.lexical import LexicalIndex
from mlrag.retrieval.search import glob_match
from mlrag.retrieval.tokenize import code_tokens
from mlrag.stores import NumpyStore, chunk_key
from mlrag.types import Chunk

README = "".join(f"line {i}\n" for i in range(1, 41))


def _slice(start: int, end: int, path: str = "README.md", **kw) -> Chunk:  # type: ignore[no-untyped-def]
    text = "".join(README.split("\n")[i] + "\n" for i in range(start - 1, end))
    return Chunk.make(text, path, start, end, "markdown", **kw)


# --- tokenizer -------------------------------------------------------------------------------------------------


def test_code_tokens_keep_compounds_and_split_them() -> None:
    toks = code_tokens("Run examples/pytorch/arma/citation.py --num-stacks 5 with numStacks and num_stacks", stem=False)
    for t in [
        "examples/pytorch/arma/citation.py",
        "examples",
        "arma",
        "citation",
        "py",
        "--num-stacks",
        "num",
        "stacks",
        "5",
        "numstacks",
        "num_stacks",
    ]:
        assert t in toks, t
    assert "with" not in toks and "and" not in toks
    assert code_tokens("torch.nn.Module ResNet50", stem=False) == [
        "torch.nn.module",
        "torch",
        "nn",
        "module",
        "resnet50",
        "res",
        "net",
        "50",
    ]
    assert code_tokens("-h --lr=0.1", stem=False)[:2] == ["-h", "--lr"]  # the flag without its value
    assert code_tokens("") == []


@pytest.mark.parametrize("text", ["a", "...", "--", "___", "日本語 text", "x" * 5000])
def test_code_tokens_never_crash(text: str) -> None:
    tokens = code_tokens(text, stem=False)
    assert all(isinstance(t, str) and t and t in text.lower() for t in tokens)  # pieces of the text, nothing else
    assert ("text" in tokens) == ("text" in text)


# --- fusion ----------------------------------------------------------------------------------------------------


def test_rrf_matches_formula_and_breaks_ties_by_row() -> None:
    a, b = [(1, 9.0), (2, 5.0), (3, 1.0)], [(3, 0.9), (1, 0.8)]
    fused = dict(rrf([a, b], k=60))
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert [r for r, _ in rrf([[(5, 1.0)], [(4, 1.0)]])] == [4, 5]
    assert rrf([]) == []


def test_weighted_fusion_normalises_each_list() -> None:
    fused = weighted([[(1, 100.0), (2, 0.0)], [(2, 0.9), (1, 0.1)]], [0.5, 0.5])
    assert fused == [(1, 0.5), (2, 0.5)]
    assert weighted([[(1, 3.0)], []], [1.0, 1.0]) == [(1, 1.0)]


# --- lexical ---------------------------------------------------------------------------------------------------


def _units() -> list[Chunk]:
    return [
        Chunk.make("python citation.py --num-stacks 3\n", "examples/arma/README.md", 1, 1, "markdown"),
        Chunk.make("pip install dgl\n", "README.md", 1, 1, "markdown"),
        Chunk.make("def train(num_layers):\n    pass\n", "examples/gcn/train.py", 1, 2, "python"),
        Chunk.make("python train.py --dataset cora\n", "examples/gcn/README.md", 1, 1, "markdown"),
    ]


def test_bm25_finds_flags_paths_and_identifiers(tmp_path: Path) -> None:
    lex = LexicalIndex.build(_units())
    assert lex.search("number of stacks flag", 2)[0][0] == 0
    assert lex.search("arma", 4)[0][0] == 0  # from the path only
    assert lex.search("num layers", 4)[0][0] == 2  # snake_case split
    assert lex.search("zzzz unknown", 4) == []
    mask = np.array([False, False, True, True])
    assert {r for r, _ in lex.search("train gcn cora arma", 4, mask)} <= {2, 3}
    lex.save(tmp_path / "bm25")
    again = LexicalIndex.load(tmp_path / "bm25")
    assert again.search("train gcn cora", 4) == lex.search("train gcn cora", 4)


def test_empty_lexical_index_roundtrips(tmp_path: Path) -> None:
    lex = LexicalIndex.build([])
    assert lex.search("anything", 3) == []
    lex.save(tmp_path / "bm25")
    assert LexicalIndex.load(tmp_path / "bm25").search("anything", 3) == []


# --- dense -----------------------------------------------------------------------------------------------------


def test_dense_filtered_search_equals_brute_force() -> None:
    units = _units()
    emb = FakeEmbedder(dim=32)
    vecs = emb.embed_batch([u.text for u in units])
    store = NumpyStore(32)
    store.add([chunk_key(u.id) for u in units], vecs)
    key_to_row = {chunk_key(u.id): i for i, u in enumerate(units)}
    q = emb.embed_batch(["python train.py cora"])[0]
    full = dense_search(q, 4, store=store, key_to_row=key_to_row, vectors=vecs)
    brute = sorted(range(4), key=lambda i: (-float(vecs[i] @ q), i))
    assert [r for r, _ in full] == brute
    mask = np.array([True, False, True, False])
    filt = dense_search(q, 4, store=store, key_to_row=key_to_row, vectors=vecs, mask=mask)
    assert [r for r, _ in filt] == [r for r in brute if mask[r]]


def test_glob_match() -> None:
    assert glob_match("examples/arma/README.md", "examples/*")
    assert glob_match("examples/arma/README.md", "examples/arma")
    assert glob_match("examples/arma/README.md", "*.md")
    assert not glob_match("README.md", "examples/*")


# --- context packing ---------------------------------------------------------------------------------------------


def test_merge_text_rebuilds_exact_slices() -> None:
    a, b = _slice(3, 8), _slice(7, 12)
    s, e, text = merge_text((a.start_line, a.end_line, a.text), (b.start_line, b.end_line, b.text))  # type: ignore
    assert (s, e) == (3, 12) and text == _slice(3, 12).text
    assert merge_text((1, 2, _slice(1, 2).text), (3, 4, _slice(3, 4).text))[2] == _slice(1, 4).text  # type: ignore
    assert merge_text((1, 2, _slice(1, 2).text), (5, 6, _slice(5, 6).text)) is None


def test_pack_expands_parents_once_merges_overlaps_and_keeps_order() -> None:
    parent = _slice(1, 20)
    u1 = _slice(2, 4, parent_id=parent.id)
    u2 = _slice(10, 12, parent_id=parent.id)
    other1, other2 = _slice(25, 30), _slice(29, 34)
    hits = pack([(u1, 0.9), (other1, 0.8), (u2, 0.7), (other2, 0.6)], {parent.id: parent}, k=10)
    assert [(h.start_line, h.end_line) for h in hits] == [(1, 20), (25, 34)]
    assert hits[0].chunk == u1 and hits[0].text == parent.text
    assert hits[1].text == _slice(25, 34).text and hits[1].score == 0.8
    hits = pack([(u1, 0.9), (u2, 0.7)], {parent.id: parent}, k=10, context_unit="chunk")
    assert [h.text for h in hits] == [u1.text, u2.text]


def test_pack_respects_budget_and_k() -> None:
    parent = _slice(1, 40)
    u1 = _slice(2, 4, parent_id=parent.id)
    units = [(_slice(i, i), 1.0 / i) for i in range(1, 41, 3)]
    hits = pack([(u1, 1.0)], {parent.id: parent}, k=5, budget_chars=len(u1.text) + 5)
    assert [h.text for h in hits] == [u1.text]  # the parent would overflow: the unit alone is used
    for budget in (0, 50, 300, 2000):
        hits = pack(units, {}, k=8, budget_chars=budget)
        assert len(hits) <= 8
        if budget:
            assert sum(len(h.text) for h in hits) <= budget
        for h in hits:
            assert h.text == _slice(h.start_line, h.end_line).text
    big = _slice(1, 40)
    cut = pack([(big, 1.0)], {}, k=3, budget_chars=250)
    assert len(cut) == 1 and len(cut[0].text) <= 250 and cut[0].text == _slice(1, cut[0].end_line).text


def test_pack_skips_parents_above_parent_max_chars() -> None:
    parent = _slice(1, 30)
    unit = _slice(5, 6, parent_id=parent.id)
    assert pack([(unit, 1.0)], {parent.id: parent}, k=3)[0].text == parent.text
    small = pack([(unit, 1.0)], {parent.id: parent}, k=3, parent_max_chars=len(parent.text) - 1)
    assert small[0].text == unit.text


def test_query_expansion_adds_only_code_forms_the_repo_has() -> None:
    from mlrag.retrieval.query import expand_query

    vocab = {"lr", "batch_size", "batch", "size", "train"}
    q = "train with a learning rate of 0.1 and batch size 8"
    assert expand_query(q, vocab, stem=False) == q + " lr batch_size"
    assert expand_query("train the model", vocab) == "train the model"


def test_pack_joins_hits_of_one_section_with_the_lines_between() -> None:
    section = _slice(1, 40, meta={"level": 2})
    a = _slice(2, 3, meta={"section_id": section.id})
    b = _slice(10, 12, meta={"section_id": section.id})
    other = _slice(30, 31)  # no section: never joined across a gap
    hits = pack([(b, 0.9), (a, 0.8), (other, 0.7)], {section.id: section}, k=5)
    assert [(h.start_line, h.end_line) for h in hits] == [(2, 12), (30, 31)]
    assert hits[0].text == _slice(2, 12).text and hits[0].score == 0.9  # exact slice, the better rank
    # the joined passage must fit the budget; otherwise the hits stay apart
    tight = pack([(b, 0.9), (a, 0.8)], {section.id: section}, k=5, budget_chars=len(a.text) + len(b.text) + 5)
    assert [(h.start_line, h.end_line) for h in tight] == [(10, 12), (2, 3)]
    # context_unit="chunk" returns the matched units as they are
    raw = pack([(b, 0.9), (a, 0.8)], {section.id: section}, k=5, context_unit="chunk")
    assert [(h.start_line, h.end_line) for h in raw] == [(10, 12), (2, 3)]


def test_pack_keeps_a_card_piece_instead_of_the_whole_card() -> None:
    whole = Chunk.make("card: wide.py\n" + "--option-1 int\n" * 50, "wide.py", 1, 60, "card", derived=True)
    piece = Chunk.make("card: wide.py (part 1 of 3)\n--option-1 int\n", "wide.py", 1, 60, "card", derived=True)
    piece = Chunk(**{**piece.__dict__, "parent_id": whole.id})
    (hit,) = pack([(piece, 1.0)], {whole.id: whole}, k=3)
    assert hit.text == piece.text
