"""URLs as shown to people (banner, logs, errors): never with the password they may carry."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def without_credentials(url: str) -> str:
    """``redis://user:secret@host:6379/0`` -> ``redis://user@host:6379/0``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if parts.password is None:
        return url
    # The host and port as written (an unparsable port must not hide the URL from an error).
    host_port = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username}@{host_port}" if parts.username else host_port
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
