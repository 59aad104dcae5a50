"""Scaling out on Ray: many repositories indexed in parallel, evaluations spread over workers and model servers.

Nothing here imports Ray at module level; ``runtime.connect`` does, when a ``--ray`` path asks for it.

- ``ray_index.build_indexes_ray(repos, config)`` -> ``list[RepoResult]``: per-repository index shards, each an
  ordinary index folder that ``Index.open``/``Index.load``/``MultiIndex`` read.
- ``ray_eval.run_eval_ray(rows, conditions, repos=, out=, ...)`` -> ``EvalRun``: ``run_eval`` with (row,
  condition) pairs spread over Ray workers, into the same ``rows.jsonl`` (resumable the same way).
- ``endpoints.EndpointPool`` / ``PooledGenerator``: ``openai:<model>`` over several OpenAI-compatible servers,
  least-loaded first, with a bound on requests in flight per server.
"""

from __future__ import annotations
