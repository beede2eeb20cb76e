"""Real Flink distributions assembled from PyPI into a local cache, plus the example checkpointing job.

Layout under the cache root (``$AIRFLOW_FLINK_K8S_CACHE``, default ``~/.cache/airflow-flink-k8s``)::

    wheels/                                 apache-flink and apache-flink-libraries as pip downloaded them
    flink/<version>/dist/pyflink/...        both packages installed without dependencies (pip --target)
    flink/<version>/home/                   FLINK_HOME: real lib/ opt/ plugins/ dirs of per-file symlinks
                                            into dist/, copied bin/ and conf/, an empty log/
    flink/<version>/usrlib/checkpointing-job.jar
    flink/<version>/usrlib/bounded-job.jar   the bounded example job (same usrlib/: one user classpath)

``flink/<version>`` is built in a temporary directory and renamed into place, so it is either complete or absent.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from airflow_flink_k8s.core.versions import FlinkVersion

FLINK_VERSIONS_UNDER_TEST = ("2.3.0", "1.20.3")
#: Fully qualified class name of the example job in ``jobs/CheckpointingJob.java``.
EXAMPLE_JOB_CLASS = "airflow_flink_k8s_sandbox.jobs.CheckpointingJob"
EXAMPLE_JOB_SOURCE = Path(__file__).parent / "jobs" / "CheckpointingJob.java"
#: Fully qualified class name of the bounded example job in ``jobs/BoundedJob.java`` (``usrlib/bounded-job.jar``).
BOUNDED_JOB_CLASS = "airflow_flink_k8s_sandbox.jobs.BoundedJob"
BOUNDED_JOB_SOURCE = Path(__file__).parent / "jobs" / "BoundedJob.java"

_PACKAGES = ("apache-flink", "apache-flink-libraries")
_SOURCE_HASH_ATTRIBUTE = "X-Source-SHA256"
_SYMLINKED_DIRS = ("lib", "opt", "plugins")
_COPIED_DIRS = ("bin", "conf")


def cache_root() -> Path:
    """The cache directory: ``$AIRFLOW_FLINK_K8S_CACHE`` or ``~/.cache/airflow-flink-k8s``."""
    configured = os.environ.get("AIRFLOW_FLINK_K8S_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "airflow-flink-k8s"


def _version_dir(version: str) -> Path:
    return cache_root() / "flink" / str(FlinkVersion.parse(version))


def _progress(message: str) -> None:
    print(f"[flink-dist] {message}", flush=True)


def _normalise(project: str) -> str:
    return re.sub(r"[-_.]+", "_", project).lower()


def _find_artifact(wheels: Path, project: str, version: str) -> Path | None:
    """A wheel or sdist of ``project==version`` in ``wheels``, if one was downloaded."""
    for path in sorted(wheels.glob("*")):
        if path.name.endswith(".whl"):
            name, _, rest = path.name.partition("-")
            found_version = rest.partition("-")[0]
        elif path.name.endswith(".tar.gz"):
            name, _, found_version = path.name[: -len(".tar.gz")].rpartition("-")
        else:
            continue
        if _normalise(name) == _normalise(project) and found_version == version:
            return path
    return None


def _ensure_artifacts(version: str) -> list[Path]:
    """Download (without dependencies) whichever of the two Flink packages for ``version`` is missing."""
    wheels = cache_root() / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    artifacts = []
    for project in _PACKAGES:
        found = _find_artifact(wheels, project, version)
        if found is None:
            _progress(f"downloading {project}=={version} from PyPI")
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                 "--quiet", "--dest", str(wheels), f"{project}=={version}"],
                check=True,
            )
            found = _find_artifact(wheels, project, version)
            if found is None:
                raise RuntimeError(f"pip download of {project}=={version} left no wheel or sdist in {wheels}")
        artifacts.append(found)
    return artifacts


def _link_tree(source: Path, target: Path) -> None:
    """Recreate ``source``'s directories under ``target`` as real directories holding relative file symlinks."""
    for dirpath, _, filenames in os.walk(source):
        here = Path(dirpath)
        made = target / here.relative_to(source)
        made.mkdir(parents=True, exist_ok=True)
        for filename in filenames:
            os.symlink(os.path.relpath(here / filename, made), made / filename)


def _assemble(version: str, into: Path) -> None:
    """Install both packages into ``into/dist`` and build ``into/home`` from them."""
    artifacts = _ensure_artifacts(version)
    dist = into / "dist"
    _progress(f"installing Flink {version} (no dependencies) from {', '.join(a.name for a in artifacts)}")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "--disable-pip-version-check",
         "--quiet", "--target", str(dist), *map(str, artifacts)],
        check=True,
    )
    pyflink = dist / "pyflink"
    home = into / "home"
    for name in _SYMLINKED_DIRS:
        _link_tree(pyflink / name, home / name)
    for name in _COPIED_DIRS:
        shutil.copytree(pyflink / name, home / name, symlinks=False)
    (home / "log").mkdir()
    dist_jar = home / "lib" / f"flink-dist-{version}.jar"
    if not dist_jar.exists():
        raise RuntimeError(f"assembled FLINK_HOME for {version} has no {dist_jar.name}; lib/ holds "
                           f"{sorted(p.name for p in (home / 'lib').iterdir())}")


def ensure_flink_home(version: str) -> Path:
    """Return the cached FLINK_HOME for ``version``, assembling it from PyPI first if it is not there."""
    version = str(FlinkVersion.parse(version))
    target = _version_dir(version)
    home = target / "home"
    if home.is_dir():
        return home
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=target.parent))
    staging.chmod(0o755)
    try:
        _assemble(version, staging)
        try:
            staging.rename(target)
        except OSError:
            if not home.is_dir():  # not a concurrent builder that finished first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _progress(f"FLINK_HOME {home} assembled in {time.monotonic() - started:.1f} s")
    return home


def _source_hash(source: Path) -> str:
    return hashlib.sha256(source.read_bytes()).hexdigest()


def _jar_source_hash(jar: Path) -> str | None:
    try:
        with zipfile.ZipFile(jar) as archive:
            manifest = archive.read("META-INF/MANIFEST.MF").decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    for line in manifest.splitlines():
        key, _, value = line.partition(": ")
        if key == _SOURCE_HASH_ATTRIBUTE:
            return value.strip()
    return None


def ensure_example_job(version: str) -> Path:
    """Return the example job jar compiled against ``version`` (recompiled when the Java source changed), with the
    bounded job's jar beside it in ``usrlib/`` (see :func:`ensure_bounded_job`)."""
    ensure_bounded_job(version)
    return _ensure_job_jar(version, EXAMPLE_JOB_SOURCE, EXAMPLE_JOB_CLASS, "checkpointing-job.jar")


def ensure_bounded_job(version: str) -> Path:
    """Return the bounded example job's jar compiled against ``version``; recompile when its source changed.

    A jar of its own in the same ``usrlib/`` (which the sandbox hands to Flink as the user classpath), so the
    checkpointing job's jar stays byte for byte what it was."""
    return _ensure_job_jar(version, BOUNDED_JOB_SOURCE, BOUNDED_JOB_CLASS, "bounded-job.jar")


def _ensure_job_jar(version: str, source: Path, main_class: str, name: str) -> Path:
    home = ensure_flink_home(version)
    jar = home.parent / "usrlib" / name
    source_hash = _source_hash(source)
    if _jar_source_hash(jar) == source_hash:
        return jar
    javac = shutil.which("javac")
    if javac is None:
        raise RuntimeError("javac not found on PATH: install a JDK 17 (scripts/install-system-deps.sh does)")
    jar.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # Staged beside usrlib/, not in it: usrlib/ is handed to Flink as a classpath dir while this may run.
    with tempfile.TemporaryDirectory(prefix=f".{jar.stem}-", dir=jar.parent.parent) as tmp:
        classes = Path(tmp) / "classes"
        compiled = subprocess.run(
            [javac, "--release", "11", "-nowarn", "-cp", str(home / "lib" / "*"), "-d", str(classes), str(source)],
            check=False, capture_output=True, text=True,
        )
        if compiled.returncode != 0:
            raise RuntimeError(f"javac failed for {source} against Flink {version}:\n"
                               f"{compiled.stdout}{compiled.stderr}")
        staged = Path(tmp) / jar.name
        manifest = (f"Manifest-Version: 1.0\r\nMain-Class: {main_class}\r\n"
                    f"{_SOURCE_HASH_ATTRIBUTE}: {source_hash}\r\n\r\n")
        with zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("META-INF/MANIFEST.MF", manifest)
            for path in sorted(classes.rglob("*.class")):
                archive.write(path, path.relative_to(classes).as_posix())
        os.replace(staged, jar)
    _progress(f"compiled {jar} against Flink {version} in {time.monotonic() - started:.1f} s")
    return jar


def main(argv: list[str] | None = None) -> int:
    """Prepare FLINK_HOME and the example job for each version given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="*", default=list(FLINK_VERSIONS_UNDER_TEST),
                        help="Flink versions to prepare (default: %(default)s)")
    args = parser.parse_args(argv)
    for version in args.versions:
        started = time.monotonic()
        home = ensure_flink_home(version)
        jar = ensure_example_job(version)
        _progress(f"Flink {version} ready in {time.monotonic() - started:.1f} s: FLINK_HOME={home} job={jar}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
