"""Differential test: pyiii's filter language against the official Python SDK's evaluator
(``iii.filter.compile_filter`` in iii-sdk 0.25.0, which says it mirrors the engine's Rust
``crates/iii-filter``), used as an oracle only.

Thousands of seeded random filters (some deliberately broken) and the hand-picked limit cases are
compiled by both; they must agree on valid vs invalid, and every valid one must give the same
answer on every document. The SDK runs in its own venv (tests/support/official_sdks.py), all
cases batched through ONE subprocess as JSON on stdin/stdout. Disagreements kept on purpose are
listed in docs/observe.md ("Filter language"), and excluded below by name.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from pyiii.observe_filter import FilterError, compile_filter
from tests.support.official_sdks import official_sdk_python
from tests.support.random_filters import Generator, edge_documents, edge_filters

SDK_VERSION = "0.25.0"
SEED = 20261206
RANDOM_FILTERS = 3000
DOCUMENTS_PER_FILTER = 10

#: Runs inside the SDK's venv: [filters, documents per filter] -> per filter null (invalid) or
#: the list of match results.
ORACLE = r"""
import json, sys
from iii.filter import FilterError, compile_filter
cases = json.load(sys.stdin)
out = []
for source, docs in cases:
    try:
        f = compile_filter(source)
    except FilterError:
        out.append(None)
        continue
    out.append([f.matches(doc) for doc in docs])
json.dump(out, sys.stdout)
"""


def ours(source: Any, docs: list[Any]) -> list[bool] | None:
    try:
        f = compile_filter(source)
    except FilterError:
        return None
    return [f.matches(doc) for doc in docs]


def cases() -> list[tuple[Any, list[Any]]]:
    gen = Generator(SEED)
    fixed_docs = edge_documents()
    found = [(f, fixed_docs) for f in edge_filters()]
    for _ in range(RANDOM_FILTERS):
        found.append((gen.filter(), [gen.document() for _ in range(DOCUMENTS_PER_FILTER)] + fixed_docs[:4]))
    return found


def run_oracle(batch: list[tuple[Any, list[Any]]]) -> list[list[bool] | None]:
    python = official_sdk_python(SDK_VERSION)
    done = subprocess.run([str(python), "-c", ORACLE], input=json.dumps(batch), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result: list[list[bool] | None] = json.loads(done.stdout)
    return result


def test_filters_agree_with_the_official_sdk() -> None:
    batch = cases()
    # The batch travels as JSON: compare what the oracle really saw (tuples become lists, etc.).
    batch = json.loads(json.dumps(batch))
    theirs = run_oracle(batch)
    assert len(theirs) == len(batch)
    validity, matching = [], []
    valid = 0
    for (source, docs), expected in zip(batch, theirs, strict=True):
        got = ours(source, docs)
        if (got is None) != (expected is None):
            validity.append(f"{json.dumps(source)[:300]}: ours {'invalid' if got is None else 'valid'}, "
                            f"SDK {'invalid' if expected is None else 'valid'}")
        elif got is not None and expected is not None:
            valid += 1
            for doc, a, b in zip(docs, got, expected, strict=True):
                if a != b:
                    matching.append(f"{json.dumps(source)[:300]} on {json.dumps(doc)[:300]}: ours {a}, SDK {b}")
    assert not validity, f"{len(validity)} validity disagreements:\n" + "\n".join(validity[:30])
    assert not matching, f"{len(matching)} match disagreements:\n" + "\n".join(matching[:30])
    # The generator must exercise both sides, or this test proves nothing.
    assert valid > len(batch) // 3
    assert len(batch) - valid > 100


@pytest.mark.parametrize("trusted", [False, True])
def test_size_limit_and_its_bypass_agree(trusted: bool) -> None:
    """Over 8192 bytes: invalid as written, valid when pushed back to an owner."""
    big = {"input.a": {"$in": ["x" * 100] * 90}}
    python = official_sdk_python(SDK_VERSION)
    script = ("import json,sys\nfrom iii.filter import compile_filter, FilterError\n"
              f"try:\n compile_filter(json.load(sys.stdin), trusted={trusted}); print('valid')\n"
              "except FilterError: print('invalid')\n")
    done = subprocess.run([str(python), "-c", script], input=json.dumps(big), capture_output=True, text=True,
                          timeout=60)
    try:
        compile_filter(big, check_size=not trusted)
        mine = "valid"
    except FilterError:
        mine = "invalid"
    assert done.stdout.strip() == mine == ("valid" if trusted else "invalid")
