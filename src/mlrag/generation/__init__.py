"""Generation: model backends, prompts, code extraction, grounding, repair and an output cache.

Cheap to import: backends load torch / transformers / llama_cpp / httpx only when a spec asks for them.
"""

from __future__ import annotations

from .base import BaseGenerator, DecodeParams, Generator, available, get_generator, parse_spec, register
from .extract import extract_code
from .grounding import ground
from .pipeline import GenerationRequest, draft_query, run_generation, run_generation_batch

__all__ = [
    "BaseGenerator",
    "DecodeParams",
    "Generator",
    "GenerationRequest",
    "available",
    "draft_query",
    "extract_code",
    "get_generator",
    "ground",
    "parse_spec",
    "register",
    "run_generation",
    "run_generation_batch",
]
