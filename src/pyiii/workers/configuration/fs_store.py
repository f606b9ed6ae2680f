"""The ``fs`` adapter: ``<directory>/<id>.yaml`` per entry, written atomically.

A write goes to a hidden temp file in the same directory, is fsynced and renamed over the
target, so a killed engine leaves either the old or the new file, never a torn one.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from pyiii.workers.configuration.codes import ID_RE
from pyiii.workers.configuration.entry import Entry

log = logging.getLogger("pyiii.configuration")


class BadFile(Exception):
    """A ``<id>.yaml`` that cannot be read as an entry."""


class FsStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, config_id: str) -> Path:
        return self.directory / f"{config_id}.yaml"

    def id_of(self, path: Path) -> str | None:
        """The entry id a file in the directory stands for, or ``None`` for other files."""
        if path.parent != self.directory or path.suffix != ".yaml" or not ID_RE.fullmatch(path.stem):
            return None
        return path.stem

    def load_all(self) -> dict[str, Entry]:
        entries: dict[str, Entry] = {}
        for path in sorted(self.directory.glob("*.yaml")):
            config_id = self.id_of(path)
            if config_id is None:
                continue
            try:
                entry = self.read(config_id)
            except BadFile as exc:
                log.warning("configuration: ignoring %s: %s", path, exc)
                continue
            if entry is not None:
                entries[config_id] = entry
        return entries

    def read(self, config_id: str) -> Entry | None:
        """The entry in ``<id>.yaml``; ``None`` if the file is gone; BadFile if unreadable."""
        try:
            text = self.path(config_id).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BadFile(str(exc)) from None
        try:
            doc: Any = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise BadFile(f"not valid YAML: {exc}") from None
        if not isinstance(doc, dict):
            raise BadFile("expected a mapping with id, name, description, value")
        if doc.get("id", config_id) != config_id:
            raise BadFile(f"its id {doc.get('id')!r} does not match the file name")
        name, description = doc.get("name", config_id), doc.get("description", "")
        if not isinstance(name, str) or not isinstance(description, str):
            raise BadFile("`name` and `description` must be strings")
        return Entry(config_id, name, description, doc.get("value"), doc.get("metadata"))

    def write(self, entry: Entry) -> None:
        text = yaml.safe_dump(entry.document(), sort_keys=False, allow_unicode=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{entry.id}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path(entry.id))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self, config_id: str) -> None:
        self.path(config_id).unlink(missing_ok=True)
