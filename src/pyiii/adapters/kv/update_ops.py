"""The update operations of ``state::update`` / ``stream::update`` (spec/workers.md §6.4).

Pure functions on JSON values, no engine and no storage, so every kv back-end can run them
inside its own atomic read-modify-write. :func:`parse_ops` turns the wire ``ops`` array into
typed ops (a malformed op fails the whole call, as in the reference); :func:`apply_ops` runs
them in order on a working copy and reports per-op problems without failing.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

#: Validation bounds (identical to the reference engine's).
MAX_PATH_DEPTH: Final = 32
MAX_SEGMENT_BYTES: Final = 256
MAX_VALUE_DEPTH: Final = 16
MAX_VALUE_KEYS: Final = 1024
PROTO_POLLUTION_KEYS: Final = frozenset({"__proto__", "constructor", "prototype"})
DOC_URL: Final = "https://iii.dev/docs/workers/iii-state#error-codes"
OP_TYPES: Final = ("set", "merge", "increment", "decrement", "append", "remove")

# Range of numbers the reference keeps as integers (i64 or u64); beyond it is an overflow.
_INT_MIN: Final = -(2**63)
_INT_MAX: Final = 2**64 - 1


class _Missing:
    """The value of a key that does not exist (distinct from a stored JSON ``null``)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


def or_none(value: Any) -> Any:
    """A stored value as the wire shows it: ``MISSING`` (no value) is ``null``."""
    return None if value is MISSING else value


def change_answer(old: Any, new: Any, errors: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """What ``state::set|update`` and ``stream::set|update`` answer: the value before and after,
    and the update operations that failed, when some did."""
    answer: dict[str, Any] = {"old_value": or_none(old), "new_value": new}
    if errors:
        answer["errors"] = list(errors)
    return answer


class OpsDecodeError(ValueError):
    """The ``ops`` array is not a list of well-formed update operations."""


@dataclass(slots=True, frozen=True)
class UpdateOp:
    type: str
    #: Literal key segments; ``()`` is the root.
    segments: tuple[str, ...]
    value: Any = None
    by: int | float = 0
    #: ``path`` was given as one string (first-level key), not as a list.
    single: bool = True


# ---------------------------------------------------------------------------------- parsing


def parse_ops(raw: Any) -> list[UpdateOp]:
    if not isinstance(raw, list):
        raise OpsDecodeError(f"`ops` must be an array of update operations, got {_type_name(raw)}")
    return [_parse_op(i, item) for i, item in enumerate(raw)]


def _parse_op(index: int, item: Any) -> UpdateOp:
    where = f"ops[{index}]"
    if not isinstance(item, dict):
        raise OpsDecodeError(f"{where}: expected an object with a `type`, got {_type_name(item)}")
    kind = item.get("type")
    if kind not in OP_TYPES:
        raise OpsDecodeError(f"{where}: unknown update op type {kind!r}; expected one of {', '.join(OP_TYPES)}")
    if kind in ("merge", "append"):
        segments, single = _merge_path(where, item.get("path"))
        if "value" not in item:
            raise OpsDecodeError(f"{where}: `{kind}` needs a `value`")
        return UpdateOp(kind, segments, item["value"], single=single)
    path = item.get("path")
    if not isinstance(path, str):
        raise OpsDecodeError(f"{where}: `{kind}` needs a string `path` (\"\" for the root), got {_type_name(path)}")
    segments = (path,) if path else ()
    if kind in ("increment", "decrement"):
        by = item.get("by")
        if isinstance(by, bool) or not isinstance(by, int | float):
            raise OpsDecodeError(f"{where}: `{kind}` needs a number `by`, got {_type_name(by)}")
        return UpdateOp(kind, segments, by=by)
    return UpdateOp(kind, segments, item.get("value"))


def _merge_path(where: str, path: Any) -> tuple[tuple[str, ...], bool]:
    if path is None or path == "":
        return (), True
    if isinstance(path, str):
        return (path,), True
    if isinstance(path, list) and all(isinstance(s, str) for s in path):
        return tuple(path), False
    raise OpsDecodeError(f"{where}: `path` must be a string or an array of strings, got {_type_name(path)}")


# ---------------------------------------------------------------------------------- applying


def op_error(op_index: int, code: str, message: str) -> dict[str, Any]:
    return {"op_index": op_index, "code": code, "message": message, "doc_url": DOC_URL}


def apply_ops(old: Any, ops: list[UpdateOp]) -> tuple[Any, list[dict[str, Any]]]:
    """Apply ``ops`` to ``old`` (``MISSING`` starts from ``{}``). ``old`` is not modified."""
    state = _Work(copy.deepcopy(old) if old is not MISSING else {}, old is MISSING)
    errors: list[dict[str, Any]] = []
    for index, op in enumerate(ops):
        if not _valid_path(op, index, errors):
            continue
        _APPLY[op.type](state, op, index, errors)
    return state.value, errors


@dataclass(slots=True)
class _Work:
    value: Any
    #: The key did not exist and nothing has been written yet (root ops start from "missing").
    missing: bool


def _valid_path(op: UpdateOp, index: int, errors: list[dict[str, Any]]) -> bool:
    segments = op.segments
    if len(segments) > MAX_PATH_DEPTH:
        errors.append(op_error(index, f"{op.type}.path.too_deep",
                               f"Path depth {len(segments)} exceeds maximum of {MAX_PATH_DEPTH}"))
        return False
    for seg in segments:
        if not seg:
            errors.append(op_error(index, f"{op.type}.path.empty_segment", "Path contains an empty segment"))
            return False
        size = len(seg.encode())
        if size > MAX_SEGMENT_BYTES:
            errors.append(op_error(index, f"{op.type}.path.segment_too_long",
                                   f"Path segment of {size} bytes exceeds maximum of {MAX_SEGMENT_BYTES}"))
            return False
        if seg in PROTO_POLLUTION_KEYS:
            errors.append(op_error(index, f"{op.type}.path.proto_polluted",
                                   f"Path segment '{seg}' is not allowed (prototype pollution)."))
            return False
    return True


def _apply_set(w: _Work, op: UpdateOp, index: int, errors: list[dict[str, Any]]) -> None:
    if not op.segments:
        w.value, w.missing = op.value, False
    elif isinstance(w.value, dict):
        w.value[op.segments[0]] = op.value
        w.missing = False
    else:
        errors.append(op_error(index, "set.target_not_object", _not_object("set", op.segments[0], w.value)))


def _apply_merge(w: _Work, op: UpdateOp, index: int, errors: list[dict[str, Any]]) -> None:
    value = op.value
    if not isinstance(value, dict):
        errors.append(op_error(index, "merge.value.not_an_object", "Merge value must be a JSON object"))
        return
    if len(value) > MAX_VALUE_KEYS:
        errors.append(op_error(index, "merge.value.too_many_keys",
                               f"Merge value has {len(value)} top-level keys, exceeds maximum of {MAX_VALUE_KEYS}"))
        return
    for key in value:
        if key in PROTO_POLLUTION_KEYS:
            errors.append(op_error(index, "merge.value.proto_polluted",
                                   f"Merge value top-level key {key!r} is a prototype-pollution sink"))
            return
    depth = _depth(value)
    if depth > MAX_VALUE_DEPTH:
        errors.append(op_error(index, "merge.value.too_deep",
                               f"Merge value JSON nesting depth {depth} exceeds maximum of {MAX_VALUE_DEPTH}"))
        return
    if not op.segments:
        # Root merge into a non-object is a silent no-op (reference behaviour).
        if isinstance(w.value, dict):
            w.value.update(copy.deepcopy(value))
            w.missing = False
        return
    _walk_or_create(w, op.segments).update(copy.deepcopy(value))
    w.missing = False


def _apply_number(w: _Work, op: UpdateOp, index: int, errors: list[dict[str, Any]]) -> None:
    delta = op.by if op.type == "increment" else -op.by
    if not op.segments:
        if w.missing:
            w.value, w.missing = delta, False
            return
        result = _add(w.value, delta)
        if result is None:
            errors.append(op_error(index, f"{op.type}.not_number", _not_number("", w.value)))
            return
        w.value, w.missing = result, False
        return
    key = op.segments[0]
    if not isinstance(w.value, dict):
        errors.append(op_error(index, f"{op.type}.target_not_object", _not_object(op.type, key, w.value)))
        return
    if key not in w.value:
        w.value[key] = delta
    else:
        result = _add(w.value[key], delta)
        if result is None:
            errors.append(op_error(index, f"{op.type}.not_number", _not_number(key, w.value[key])))
            return
        w.value[key] = result
    w.missing = False


def _apply_append(w: _Work, op: UpdateOp, index: int, errors: list[dict[str, Any]]) -> None:
    value = copy.deepcopy(op.value)
    if not op.segments:
        if w.missing:
            w.value = None
        appended = _append_to(w.value, value, "root", index, errors)
        if appended is not _REFUSED:
            w.value, w.missing = appended, False
        return
    if not isinstance(w.value, dict):
        label = f"[{', '.join(op.segments)}]"
        errors.append(op_error(index, "append.target_not_object",
                               f"Cannot append at path '{label}': target is {_type_name(w.value)}, expected object."))
        return
    *parents, leaf = op.segments
    parent = _walk_or_create(w, tuple(parents)) if parents else w.value
    if leaf in parent:
        appended = _append_to(parent[leaf], value, leaf, index, errors)
        if appended is not _REFUSED:
            parent[leaf] = appended
    else:
        # A missing leaf starts as the value itself only for strings at a first-level key.
        parent[leaf] = value if (not parents and isinstance(value, str)) else [value]
    w.missing = False


def _apply_remove(w: _Work, op: UpdateOp, index: int, errors: list[dict[str, Any]]) -> None:
    if not op.segments:
        w.value, w.missing = None, False
    elif isinstance(w.value, dict):
        w.value.pop(op.segments[0], None)
        w.missing = False
    else:
        errors.append(op_error(index, "remove.target_not_object", _not_object("remove", op.segments[0], w.value)))


_APPLY: Final = {
    "set": _apply_set,
    "merge": _apply_merge,
    "increment": _apply_number,
    "decrement": _apply_number,
    "append": _apply_append,
    "remove": _apply_remove,
}

_REFUSED: Final = object()


def _append_to(target: Any, value: Any, label: str, index: int, errors: list[dict[str, Any]]) -> Any:
    """The target after appending ``value``, or ``_REFUSED`` (an error was recorded)."""
    if isinstance(target, list):
        target.append(value)
        return target
    if isinstance(target, str):
        if isinstance(value, str):
            return target + value
        errors.append(op_error(index, "append.type_mismatch",
                               f"Expected string append value at path '{label}', got {_type_name(value)}."))
        return _REFUSED
    if target is None:
        return value if isinstance(value, str) else [value]
    errors.append(op_error(
        index, "append.type_mismatch",
        f"Cannot append at path '{label}': target is {_type_name(target)}, "
        "expected array, string, null, or missing field.",
    ))
    return _REFUSED


def _walk_or_create(w: _Work, segments: tuple[str, ...]) -> dict[str, Any]:
    """The object at ``segments``, replacing non-object nodes on the way with ``{}``."""
    if not isinstance(w.value, dict):
        w.value = {}
    node: dict[str, Any] = w.value
    for seg in segments:
        child = node.get(seg)
        if not isinstance(child, dict):
            child = {}
            node[seg] = child
        node = child
    return node


def _add(current: Any, delta: int | float) -> int | float | None:
    if isinstance(current, bool) or not isinstance(current, int | float):
        return None
    result = current + delta
    if isinstance(result, int) and not _INT_MIN <= result <= _INT_MAX:
        return None  # the reference reports integer overflow as not_number
    return result


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _type_name(value: Any) -> str:
    if value is None or value is MISSING:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _not_object(op: str, path: str, target: Any) -> str:
    return f"Cannot {op} at path '{path or 'root'}': target is {_type_name(target)}, expected object."


def _not_number(path: str, value: Any) -> str:
    return f"Expected number at path '{path or 'root'}', got {_type_name(value)}."
