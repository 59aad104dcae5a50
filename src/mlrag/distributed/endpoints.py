"""Several OpenAI-compatible servers behind one ``openai:<model>`` generator, least-loaded first.

Design choices:
- ``EndpointPool`` is the whole policy, in plain threads: a request takes the endpoint with the fewest requests in
  flight (ties: the one that served fewest, then the first), and waits while every endpoint
  is at ``concurrency``. Servers like vLLM and llama.cpp's batch concurrent requests, so a small bound per server
  keeps them busy without queueing hundreds of requests on one while another idles.
- Across Ray workers the same object runs as one threaded Ray actor (``pool_actor``), so the bound holds for the
  whole cluster, not per worker; ``RayLease`` is the worker-side handle.
- ``PooledGenerator`` sends each request through one lease; when an endpoint still fails after the backend's own
  retries, the request is tried once on each other endpoint before the error is raised.
- All endpoints are assumed to serve the same model: the generator's ``id`` (which keys the output cache and is
  recorded in results) names the model and every endpoint, not the one that answered, so results do not depend on
  load balancing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..config import GenerationConfig
from ..errors import BackendError, ConfigError
from ..generation.base import BaseGenerator, DecodeParams, Messages, Spec

log = logging.getLogger(__name__)

Lease = Callable[[frozenset[int]], contextlib.AbstractContextManager[int]]


class EndpointPool:
    """Hands out endpoint indexes: least-loaded first, at most ``concurrency`` in flight per endpoint.

    Example:
        >>> pool = EndpointPool(["http://a:8000/v1", "http://b:8000/v1"], concurrency=2)
        >>> with pool.lease() as i:
        ...     pool.urls[i]
        'http://a:8000/v1'
    """

    def __init__(self, urls: Sequence[str], concurrency: int) -> None:
        if not urls:
            raise ConfigError("ray.endpoints: give at least one OpenAI-compatible base URL")
        if concurrency < 1:
            raise ConfigError(f"ray.concurrency_per_endpoint: must be >= 1, got {concurrency}")
        self.urls = [u.rstrip("/") for u in urls]
        self.concurrency = concurrency
        self.in_flight = [0] * len(self.urls)
        self.served = [0] * len(self.urls)
        self._cond = threading.Condition()

    def acquire(self, avoid: Sequence[int] = ()) -> int:
        """Block until an endpoint (not in ``avoid``, unless all are) has a free slot; take it."""
        with self._cond:
            while True:
                allowed = [i for i in range(len(self.urls)) if i not in avoid] or list(range(len(self.urls)))
                free = [i for i in allowed if self.in_flight[i] < self.concurrency]
                if free:
                    i = min(free, key=lambda j: (self.in_flight[j], self.served[j], j))
                    self.in_flight[i] += 1
                    self.served[i] += 1
                    return i
                self._cond.wait()

    def release(self, i: int) -> None:
        """Give back a slot of endpoint ``i``."""
        with self._cond:
            self.in_flight[i] -= 1
            self._cond.notify_all()

    def stats(self) -> dict[str, Any]:
        """Requests served and in flight per endpoint."""
        with self._cond:
            return {u: {"served": s, "in_flight": f} for u, s, f in zip(self.urls, self.served, self.in_flight)}

    @contextlib.contextmanager
    def lease(self, avoid: Sequence[int] = ()) -> Iterator[int]:
        i = self.acquire(avoid)
        try:
            yield i
        finally:
            self.release(i)


def pool_actor(ray: Any, urls: Sequence[str], concurrency: int, waiters: int) -> Any:
    """One ``EndpointPool`` as a threaded Ray actor shared by every worker (``waiters``: workers that may wait)."""
    actor_cls = ray.remote(EndpointPool).options(num_cpus=0, max_concurrency=max(16, waiters + 4))
    return actor_cls.remote(list(urls), concurrency)


class RayLease:
    """A worker's lease on the shared pool actor (picklable: it holds only the actor handle)."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor

    @contextlib.contextmanager
    def __call__(self, avoid: frozenset[int] = frozenset()) -> Iterator[int]:
        import ray

        i = ray.get(self.actor.acquire.remote(sorted(avoid)))
        try:
            yield i
        finally:
            self.actor.release.remote(i)


class PooledGenerator(BaseGenerator):
    """``openai:<model>`` over several endpoints; each request goes through one ``lease``."""

    def __init__(self, model: str, urls: Sequence[str], config: GenerationConfig, lease: Lease | None = None,
                 concurrency: int = 4) -> None:
        from ..generation.openai_backend import _public_url, make_openai

        self.backends = [make_openai(Spec("openai", model, None, (("base_url", u),)), config) for u in urls]
        self._lease: Lease = lease or _local_lease(EndpointPool(urls, concurrency))
        self.id = f"openai:{model}@" + ",".join(_public_url(u.rstrip("/")) for u in urls)

    def __repr__(self) -> str:
        return f"PooledGenerator(id={self.id!r})"

    def complete(self, messages: Messages, params: DecodeParams) -> str:
        failed: set[int] = set()
        last: BackendError | None = None
        while len(failed) < len(self.backends):
            with self._lease(frozenset(failed)) as i:
                try:
                    return self.backends[i].complete(messages, params)
                except BackendError as e:
                    last = e
                    failed.add(i)
                    if len(failed) < len(self.backends):
                        log.warning("%s; trying another endpoint", e)
        raise last if last is not None else BackendError("openai: no endpoint")


def _local_lease(pool: EndpointPool) -> Lease:
    return lambda avoid: pool.lease(sorted(avoid))


def pooled_generator(llm: str, config: GenerationConfig, urls: Sequence[str], lease: Lease | None = None,
                     concurrency: int = 4) -> Any:
    """The generator for ``llm`` (``openai:<model>``) over ``urls``, wrapped in the output cache when enabled."""
    if not llm.startswith("openai:"):
        raise ConfigError(f"ray.endpoints serve OpenAI-compatible models: use --llm openai:<model>, got {llm!r}")
    gen: Any = PooledGenerator(llm.split(":", 1)[1].split("?", 1)[0], urls, config, lease, concurrency)
    if config.cache:
        from ..generation.cache import CachedGenerator, OutputCache

        gen = CachedGenerator(gen, OutputCache.open(config.cache_dir))
    return gen
