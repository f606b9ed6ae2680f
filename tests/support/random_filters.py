"""Seeded random filters (``iii-filter`` v1) and match documents, valid and deliberately broken,
for the differential test against the official SDK and the totality tests.

The vocabulary is small on purpose (a few keys, a few values that are equal across types in
tricky ways: ``1``/``1.0``/``true``, ``0``/``-0.0``, ``null``/absent) so that random documents
actually meet random filters.
"""

from __future__ import annotations

import random
from typing import Any

ROOTS = ("input", "output", "error", "caller", "metadata")
KEYS = ("a", "b", "0", "1", "01", "x.y", "k\\z", "$k", "é", "")
SCALARS: tuple[Any, ...] = (None, True, False, 0, -0.0, 1, 1.0, 2, 2.5, -3, 2**53, "", "a", "ab", "b", "B", "é", "😀")
OPERATORS = ("$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exists", "$prefix", "$any")


def _escape(key: str) -> str:
    return key.replace("\\", "\\\\").replace(".", "\\.")


class Generator:
    def __init__(self, seed: int, broken: float = 0.15) -> None:
        self.rng = random.Random(seed)
        self.broken = broken

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # ------------------------------------------------------------------ values

    def value(self, depth: int = 0) -> Any:
        r = self.rng.random()
        if depth >= 3 or r < 0.6:
            return self.rng.choice(SCALARS)
        if r < 0.8:
            return [self.value(depth + 1) for _ in range(self.rng.randrange(4))]
        return {self.rng.choice(KEYS): self.value(depth + 1) for _ in range(self.rng.randrange(4))}

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        for root in ROOTS:
            r = self.rng.random()
            if r < 0.2:
                continue
            doc[root] = None if r < 0.3 else self.tree(0)
        return doc

    def tree(self, depth: int) -> Any:
        """A document value shaped like the paths the filters use."""
        r = self.rng.random()
        if depth >= 3 or r < 0.4:
            return self.value(2)
        if r < 0.6:
            return [self.tree(depth + 1) for _ in range(self.rng.randrange(3))]
        return {key: self.tree(depth + 1) for key in self.rng.sample(KEYS, self.rng.randrange(1, 4))}

    # ------------------------------------------------------------------ filters

    def path(self, in_any: bool) -> str:
        root = "@" if in_any else self.rng.choice(ROOTS)
        segments = [_escape(self.rng.choice(KEYS)) for _ in range(self.rng.randrange(3))]
        text = ".".join([root, *(s for s in segments)])
        if self.chance(self.broken / 3):
            text = self.rng.choice([
                text + ".", text + "..a", text + "\\", text + "\\x", "@" if not in_any else "input",
                "inputs.a", "", ".a", root + "." + ".".join("s" * 17), root + "." + ".".join("s" * 16),
                root + ".1234567890123456", root + ".123456789012345", "$input",
            ])
        return text

    def operand(self, op: str, depth: int) -> Any:
        if self.chance(self.broken / 4):
            return self.rng.choice([[1], {"a": 1}, "s", 3, None, True, 2**53 + 1, 1e300, [[]] * 3])
        if op in ("$eq", "$ne"):
            return self.value()
        if op in ("$in", "$nin"):
            return [self.value() for _ in range(self.rng.randrange(5))]
        if op in ("$gt", "$gte", "$lt", "$lte"):
            return self.rng.choice([0, 1, -0.0, 2.5, "a", "b", "", "é"])
        if op == "$exists":
            return self.chance(0.5)
        if op == "$prefix":
            return self.rng.choice(["", "a", "b", "é"])
        r = self.rng.random()  # $any
        if r < 0.15:
            return {}
        if r < 0.55:
            return self.operators(depth + 1)
        return self.filter(depth + 1, in_any=True)

    def operators(self, depth: int) -> Any:
        if self.chance(self.broken / 5):
            return self.rng.choice([5, "x", {}, None, {"$bogus": 1}, {"$and": [{}]}])
        ops = self.rng.sample(OPERATORS, self.rng.randrange(1, 3))
        if depth >= 4 and "$any" in ops:
            ops.remove("$any")
            ops = ops or ["$eq"]
        return {op: self.operand(op, depth) for op in ops}

    def items(self) -> int:
        """How many filters an ``$and``/``$or`` holds (now and then none, which is invalid)."""
        return self.rng.randrange(0 if self.chance(self.broken) else 1, 3)

    def filter(self, depth: int = 1, in_any: bool = False) -> Any:
        if self.chance(self.broken / 6):
            return self.rng.choice([[], "x", 1, None, {"$eq": 1}, {"$unknown": []}])
        out: dict[str, Any] = {}
        for _ in range(self.rng.randrange(0 if depth > 1 or self.chance(0.1) else 1, 3)):
            r = self.rng.random()
            if r < 0.7 or depth >= 4:
                out[self.path(in_any)] = self.operators(depth)
            elif r < 0.8:
                out["$and"] = [self.filter(depth, in_any) for _ in range(self.items())]
            elif r < 0.9:
                out["$or"] = [self.filter(depth + 1, in_any) for _ in range(self.items())]
            else:
                out["$not"] = self.filter(depth + 1, in_any)
        return out


def nested(count: int, inner: Any, wrap: str) -> Any:
    """``inner`` wrapped ``count`` times in ``[...]`` (``wrap="list"``) or ``{"k": ...}``."""
    value = inner
    for _ in range(count):
        value = [value] if wrap == "list" else {"k": value}
    return value


def edge_filters() -> list[Any]:
    """Hand-picked cases at and one past every limit, and the awkward spots of the grammar."""
    cases: list[Any] = [
        {}, {"input": {"$exists": True}}, {"@": {"$exists": True}}, {"input.a": 5}, {"input.a": {}},
        {"$and": []}, {"$or": []}, {"$not": {}}, {"$not": []}, {"$and": [{}]}, {"$or": [{}]},
        {"input.a": {"$any": {}}}, {"input.a": {"$any": {"$and": [{"@": {"$eq": 1}}]}}},
        {"input.a": {"$any": {"@": {"$eq": 1}, "$eq": 1}}}, {"input.a": {"$any": {"$not": {"@": {"$eq": 1}}}}},
        {"input.a": {"$any": {"input.b": {"$eq": 1}}}}, {"input.a": {"$any": 1}}, {"input.a": {"$any": []}},
        {"input.a": {"$in": []}}, {"input.a": {"$nin": []}}, {"input.a": {"$in": list(range(256))}},
        {"input.a": {"$in": list(range(257))}}, {"input.a": {"$gt": True}}, {"input.a": {"$gt": None}},
        {"input.a": {"$prefix": 1}}, {"input.a": {"$exists": 1}}, {"input.a": {"$eq": 2**53}},
        {"input.a": {"$eq": 2**53 + 1}}, {"input.a": {"$eq": -(2**53)}}, {"input.a": {"$eq": float(2**53)}},
        {"input.a": {"$eq": 1e300}}, {"input.a": {"$eq": float("nan")}}, {"input.a": {"$eq": float("inf")}},
        {"input.a": {"$eq": "\ud800"}}, {"input.\udc00": {"$eq": 1}}, {"input.a": {"$eq": {"\ud800": 1}}},
        {"input.a": {"$eq": nested(32, 1, "list")}}, {"input.a": {"$eq": nested(33, 1, "list")}},
        {"input.a": {"$ne": nested(32, 1, "dict")}}, {"input.a": {"$ne": nested(33, 1, "dict")}},
        {"input.a": {"$in": [nested(32, 1, "list")]}}, {"input.a": {"$in": [nested(33, 1, "list")]}},
        {"input.a": {"$gt": 1, "$lt": 5}}, {"input.a\\.b": {"$eq": 1}}, {"input.a\\\\": {"$eq": 1}},
        {"input.a\\": {"$eq": 1}}, {"input.a\\b": {"$eq": 1}}, {"input..a": {"$eq": 1}}, {"input.": {"$eq": 1}},
        {".input": {"$eq": 1}}, {"": {"$eq": 1}}, {"Input": {"$eq": 1}}, {"input\\.a": {"$eq": 1}},
        {"input." + ".".join("a" * 16): {"$eq": 1}}, {"input." + ".".join("a" * 17): {"$eq": 1}},
        {"input.0": {"$eq": 1}}, {"input.01": {"$eq": 1}}, {"input.123456789012345": {"$eq": 1}},
        {"input.1234567890123456": {"$eq": 1}}, {"input.-1": {"$eq": 1}}, {"input.+1": {"$eq": 1}},
        {"$eq": 1}, {"$any": {}}, {"$nor": []}, {"input.a": {"$eq": 1, "$bogus": 2}}, {"input.a": {"$or": []}},
        {"input.a": {"$regex": "x"}}, {"input.a": {"$in": [1, "1", True, None, [1], {"a": 1}]}},
    ]
    # depth: each $or adds one level, $and none; $not and $any add one.
    cases += [_or_chain(7), _or_chain(8), _not_chain(7), _not_chain(8), _and_chain(58), _and_chain(59), _and_chain(60)]
    cases += [_any_chain(7), _any_chain(8), _any_filter_chain(3), _any_filter_chain(4)]
    # nodes: 64 operators pass, 65 fail ($and and paths are free, $or/$not count)
    cases += [{f"input.k{i}": {"$exists": True} for i in range(64)},
              {f"input.k{i}": {"$exists": True} for i in range(65)},
              {"$or": [{f"input.k{i}": {"$exists": True}} for i in range(63)]},
              {"$or": [{f"input.k{i}": {"$exists": True}} for i in range(64)]},
              {"$and": [{f"input.k{i}": {"$exists": True}} for i in range(64)]}]
    # encoded size: 8192 bytes pass, 8193 fail
    cases += [_sized(8192), _sized(8193), _sized(8192, "é"), _sized(8193, "é")]
    return cases


def _or_chain(levels: int) -> Any:
    f: Any = {"input.a": {"$eq": 1}}
    for _ in range(levels):
        f = {"$or": [f]}
    return f


def _not_chain(levels: int) -> Any:
    f: Any = {"input.a": {"$eq": 1}}
    for _ in range(levels):
        f = {"$not": f}
    return f


def _and_chain(levels: int) -> Any:
    f: Any = {"input.a": {"$eq": 1}}
    for _ in range(levels):
        f = {"$and": [f]}
    return f


def _any_chain(levels: int) -> Any:
    op: Any = {"$eq": 1}
    for _ in range(levels):
        op = {"$any": op}
    return {"input.a": op}


def _any_filter_chain(levels: int) -> Any:
    f: Any = {"@": {"$eq": 1}}
    for _ in range(levels):
        f = {"@": {"$any": {"$or": [f]}}}
    return {"input.a": {"$any": f}}


def _sized(size: int, char: str = "a") -> Any:
    skeleton = '{"input.a":{"$eq":""}}'
    room = size - len(skeleton.encode())
    return {"input.a": {"$eq": char * (room // len(char.encode()))}} if room % len(char.encode()) == 0 \
        else {"input.a": {"$eq": "a" + char * ((room - 1) // len(char.encode()))}}


def edge_documents() -> list[Any]:
    return [
        {}, {"input": None}, {"input": {"a": None}}, {"input": {"a": 1}}, {"input": {"a": 1.0}}, {"input": {"a": True}},
        {"input": {"a": -0.0}}, {"input": {"a": 0}}, {"input": {"a": [1, 2]}}, {"input": {"a": []}},
        {"input": {"a": [[1]]}}, {"input": {"a": {"b": 1}}}, {"input": {"a.b": 1, "a": {"b": 2}}},
        {"input": {"a\\": 1}}, {"input": [5, 6]}, {"input": {"0": 1, "01": 2}}, {"input": {"a": "abc"}},
        {"input": {"a": 2**53 + 1}}, {"input": {"a": 10**400}}, {"input": {"a": float("nan")}},
        {"input": {"a": float("inf")}}, {"input": {"a": -float("inf")}}, {"input": {"a": [float("nan")]}},
        {"input": {"a": {"a": float("nan")}}}, {"input": {"a": -(10**400)}}, {"input": {"a": "😀"}},
        {"input": {"a": "\uffff"}}, {"input": {"a": [{"x": 1}, {"x": 2}]}},
    ]
