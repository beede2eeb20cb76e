"""Which Flink file system URIs name files this process can reach (``file:`` without a host, or a plain path)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


def local_path(uri: str) -> str | None:
    """The local path of ``uri`` when this process can reach it as files (``file:`` URIs without a host, or a
    plain absolute path); None for remote filesystems (s3, hdfs, gs, …) and for paths with ``..``."""
    parts = urlsplit(uri)
    if parts.scheme == "file" and parts.netloc in ("", "localhost"):
        path = unquote(parts.path)
    elif not parts.scheme and uri.startswith("/"):
        path = uri
    else:
        return None
    if not path.startswith("/") or ".." in path.split("/") or "\x00" in path:
        return None
    return path.rstrip("/") or "/"
