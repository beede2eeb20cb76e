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


#: Schemes of the file systems Flink ships (built in, or as plugins under ``opt/``): ``file``, Hadoop's, S3, GCS,
#: OSS and Azure.
FILE_SYSTEM_SCHEMES = ("file", "hdfs", "viewfs", "s3", "s3a", "s3p", "gs", "oss", "abfs", "abfss", "wasb", "wasbs")
#: Those whose URI names a bucket or container as its authority (``s3://bucket/path``).
BUCKET_SCHEMES = ("s3", "s3a", "s3p", "gs", "oss", "abfs", "abfss", "wasb", "wasbs")
#: What a job jar may also be from Flink 1.19 (``local``: in the image; ``http(s)``: fetched by the JobManager).
JAR_SCHEMES = ("local", "http", "https", *FILE_SYSTEM_SCHEMES)


def uri_problem(uri: str, schemes: tuple[str, ...]) -> str | None:
    """What is wrong with a file system URI Flink will read (None: nothing): an unknown scheme, a ``file:``/
    ``local:`` URI whose path is relative (``file://ckpt`` names the host ``ckpt``), a bucket scheme without a
    bucket."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        return f"scheme must be one of {', '.join(schemes)} (a file system Flink ships), not {scheme!r}"
    if scheme in ("file", "local") and parts.netloc not in ("", "localhost"):
        return (f"a {scheme}: URI needs an absolute path ({scheme}:///path); {scheme}://{parts.netloc} names the "
                f"host {parts.netloc!r}")
    if scheme in BUCKET_SCHEMES and not parts.netloc:
        return f"a {scheme}: URI needs a bucket or container: {scheme}://<bucket>/path"
    return None
