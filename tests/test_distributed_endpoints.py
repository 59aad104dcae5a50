"""The endpoint pool: least-loaded choice, the per-endpoint bound under threads, failover (no Ray, no servers)."""

from __future__ import annotations

import threading
import time

import pytest

from mlrag.config import GenerationConfig
from mlrag.distributed.endpoints import EndpointPool, PooledGenerator
from mlrag.errors import BackendError, ConfigError
from mlrag.generation import DecodeParams


def test_least_loaded_then_round_robin() -> None:
    pool = EndpointPool(["http://a/v1", "http://b/v1/"], concurrency=2)
    assert pool.urls == ["http://a/v1", "http://b/v1"]
    held = [pool.acquire(), pool.acquire(), pool.acquire()]
    assert held == [0, 1, 0]  # least in flight, ties to the one that served fewest
    pool.release(0)
    assert pool.acquire(avoid=[0]) == 1
    assert pool.stats()["http://b/v1"] == {"served": 2, "in_flight": 2}


def test_bound_holds_under_threads() -> None:
    pool = EndpointPool(["u0", "u1"], concurrency=2)
    peak = [0, 0]
    lock = threading.Lock()

    def work() -> None:
        with pool.lease() as i:
            with lock:
                peak[i] = max(peak[i], pool.in_flight[i])
            time.sleep(0.01)

    threads = [threading.Thread(target=work) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == [2, 2] and pool.in_flight == [0, 0] and sum(pool.served) == 24


def test_bad_pool_settings() -> None:
    with pytest.raises(ConfigError, match="at least one"):
        EndpointPool([], 1)
    with pytest.raises(ConfigError, match="concurrency_per_endpoint"):
        EndpointPool(["u"], 0)


def test_failover_tries_each_endpoint_once() -> None:
    gen = PooledGenerator("m", ["http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1"],
                          GenerationConfig(max_retries=0, timeout_s=2.0))
    calls: list[int] = []

    class Down:
        def __init__(self, i: int) -> None:
            self.i = i

        def complete(self, messages: object, params: object) -> str:
            calls.append(self.i)
            if self.i == 0:
                raise BackendError("openai: cannot reach endpoint 0")
            return "ok"

    gen.backends = [Down(0), Down(1)]  # type: ignore[list-item]
    assert gen.id == "openai:m@http://127.0.0.1:9/v1,http://127.0.0.1:10/v1"
    assert gen.complete([{"role": "user", "content": "hi"}], DecodeParams()) == "ok"
    assert calls == [0, 1]
    gen.backends = [Down(0), Down(0)]  # type: ignore[list-item]
    with pytest.raises(BackendError, match="endpoint 0"):
        gen.complete([{"role": "user", "content": "hi"}], DecodeParams())


def test_distributed_modules_import_without_ray() -> None:
    """Ray is imported only when a Ray path runs: importing the modules (as the CLI does) loads none of it."""
    import subprocess
    import sys

    code = ("import sys; import mlrag.distributed.ray_index, mlrag.distributed.ray_eval, "
            "mlrag.distributed.endpoints; print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_ray_config_validation() -> None:
    from mlrag.config import load_config

    cfg = load_config(overrides=["ray.endpoints=[http://a:8000/v1,http://b:8000/v1]", "ray.workers=3"])
    assert cfg.ray.endpoints == ("http://a:8000/v1", "http://b:8000/v1") and cfg.ray.workers == 3
    for bad, msg in (("ray.workers=0", "ray.workers"), ("ray.num_gpus_per_worker=-1", "ray.num_gpus_per_worker")):
        with pytest.raises(ConfigError, match=msg):
            load_config(overrides=[bad])


def test_read_repo_list(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mlrag.distributed.ray_index import read_repo_list
    from mlrag.errors import RepoError

    f = tmp_path / "repos.txt"
    f.write_text("# mine\nrepos/dgl\n\nhttps://github.com/a/b@abc123  # pinned\n", encoding="utf-8")
    assert read_repo_list(f) == ["repos/dgl", "https://github.com/a/b@abc123"]
    f.write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(RepoError, match="names no repositories"):
        read_repo_list(f)
