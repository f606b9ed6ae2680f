"""tests/unit is laid out like src/pyiii: the tests of ``pyiii/a/b/x.py`` live in
``tests/unit/a/b/``, so that the unit tests of a module are found where the module is.
(``tests/unit/support`` tests the test helpers in ``tests/support``.)"""

from __future__ import annotations

from pathlib import Path

UNIT = Path(__file__).resolve().parent
SRC = UNIT.parents[1] / "src" / "pyiii"
OWN = {"support"}


def test_every_unit_test_folder_mirrors_a_package_of_src() -> None:
    strays = []
    for folder in sorted(p for p in UNIT.rglob("*") if p.is_dir() and p.name != "__pycache__"):
        relative = folder.relative_to(UNIT)
        if relative.parts[0] in OWN:
            continue
        if not (SRC / relative).is_dir():
            strays.append(f"tests/unit/{relative}: no src/pyiii/{relative} package")
    assert not strays, "\n".join(strays)
