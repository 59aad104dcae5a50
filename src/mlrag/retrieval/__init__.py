"""Retrieval: from a task to ranked, packed context.

``lexical`` (bm25s over ``tokenize.code_tokens``), ``dense`` (vector store search), ``paths`` (the path prior),
``hybrid`` (reciprocal-rank and weighted fusion), ``query`` (expansion into the repository's code forms),
``rerank`` (optional cross-encoder), ``search`` (``Searcher``: the pipeline over one index), ``multi``
(``MultiIndex``: several repositories as namespaces) and ``context`` (``pack``: parents, merging, budget).
Nothing heavy is imported here; ``mlrag.index`` builds a ``Searcher`` when an index is loaded.
"""
