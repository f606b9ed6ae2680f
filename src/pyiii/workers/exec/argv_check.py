"""Refuse ``exec:`` lists that read like one argv split over lines (issue #19 item 4).

``exec: [python, -m, src.main]`` looks like a command, but each string item is a whole shell
command run with ``sh -c``: ``python`` opens a REPL, then ``-m`` fails with
``sh: 0: -c requires an argument``. The reference engine does the same; pyiii refuses the list
at config load and shows the argv form (``- [python, -m, src.main]``) instead.
"""

from __future__ import annotations

import re
import shlex

import yaml

#: ``src.main``, ``app.main:app``: a Python module path, never a command of its own.
MODULE_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+(:[A-Za-z_]\w*)?")
#: ``main.py``, ``index.js``: a script name without a folder; ``sh -c`` looks it up in PATH only.
SCRIPT_NAME = re.compile(r"[\w.-]+\.(py|js|mjs|cjs|ts|mts|cts|tsx|jsx|rb|pl|php)")


def _word(item: str | list[str]) -> bool:
    """One shell word (no space), or anything starting with ``-``: what a split argv is made of."""
    return isinstance(item, str) and bool(item.strip()) and (len(item.split()) == 1 or _flag(item))


def _flag(item: str | list[str]) -> bool:
    return isinstance(item, str) and item.strip().startswith("-")


def _argument(item: str | list[str]) -> bool:
    """An item that can only be an argument of the item before it."""
    if not isinstance(item, str):
        return False
    text = item.strip()
    return _flag(text) or bool(MODULE_PATH.fullmatch(text) or SCRIPT_NAME.fullmatch(text))


def split_argv_problem(items: list[str | list[str]]) -> str | None:
    """A message showing the argv form when some items are not commands, else None.

    Not a command: an item starting with ``-`` (anywhere), or a module path / bare script name
    right after a one-word item (``[python, src.main]``, ``[node, index.js]``). Consecutive
    one-word items around such an item are one command; other items stay as they are.
    """
    bad = [i for i, item in enumerate(items)
           if _flag(item) or (i > 0 and _word(items[i - 1]) and _word(item) and _argument(item))]
    if not bad:
        return None
    fixed: list[str | list[str]] = []
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(items):
        if not _word(items[i]):
            fixed.append(items[i])
            i += 1
            continue
        end = i
        while end + 1 < len(items) and _word(items[end + 1]):
            end += 1
        if any(i <= b <= end for b in bad):
            argv = [word for item in items[i:end + 1] for word in shlex.split(str(item))]
            start = i
            previous = fixed[-1] if fixed else None
            if _flag(items[i]) and isinstance(previous, str):  # flags continuing `python app.py`
                fixed.pop()
                argv = [*shlex.split(previous), *argv]
                start = i - 1
            fixed.append(argv)
            runs.append((start, end))
        else:
            fixed.extend(items[i:end + 1])
        i = end + 1
    first, last = runs[0]
    culprit = str(items[bad[0]]).strip()
    why = "starts with '-' (sh reads it as an option)" if _flag(culprit) else "is an argument, not a command"
    if first == last:
        head = f"exec[{first}] ({str(items[first])!r}) is not a command"
    else:
        shown = ", ".join(repr(str(item)) for item in items[first:last + 1])
        head = f"exec[{first}..{last}] ({shown}) read like one command split over lines"
    suggestion = "\n".join(f"    - {_flow(item)}" for item in fixed)
    return (f"{head}: each `exec` string runs on its own with `sh -c`, and '{culprit}' {why}. "
            f"Write the command as one argv list:\n  exec:\n{suggestion}")


def _flow(value: str | list[str]) -> str:
    dumped = yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True).strip()
    return dumped.removesuffix("\n...").removesuffix("...").strip()
