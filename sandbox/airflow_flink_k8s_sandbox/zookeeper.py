"""A real standalone ZooKeeper server (Debian's ``zookeeper`` package) on 127.0.0.1 at a free port."""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from airflow_flink_k8s_sandbox.processes import ManagedProcess, free_port

ZOOKEEPER_JAR = Path("/usr/share/java/zookeeper.jar")
SLF4J_BINDING_JAR = Path("/usr/share/java/slf4j-simple.jar")


def four_letter_word(host: str, port: int, command: str, timeout: float = 2.0) -> str:
    """Send a ZooKeeper four-letter command (``ruok``, ``srvr``...) and return the whole answer."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(command.encode("ascii"))
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


class ZooKeeperServer:
    """One ZooKeeper JVM in a temporary data dir, listening on 127.0.0.1 only, admin server off."""

    def __init__(self, work_dir: str | Path | None = None, tick_time_ms: int = 2000) -> None:
        self._own_work_dir = work_dir is None
        self.work_dir = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="zookeeper-"))
        self.tick_time_ms = tick_time_ms
        self.port = 0
        self._process: ManagedProcess | None = None

    @property
    def hosts(self) -> str:
        """The connect string, ``127.0.0.1:PORT``."""
        self._require_started()
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """PID of the ZooKeeper JVM."""
        return self._require_started().pid

    @property
    def log_path(self) -> Path:
        return self.work_dir / "zookeeper.log"

    def _require_started(self) -> ManagedProcess:
        if self._process is None:
            raise RuntimeError("ZooKeeperServer: not started (call start() or use it as a context manager)")
        return self._process

    def start(self, timeout: float = 30.0) -> Self:
        """Start the server and wait until it answers ``ruok`` with ``imok`` and serves requests."""
        if self._process is not None:
            raise RuntimeError(f"ZooKeeperServer: already started (pid {self._process.pid})")
        for jar in (ZOOKEEPER_JAR, SLF4J_BINDING_JAR):
            if not jar.is_file():
                raise RuntimeError(f"{jar} is missing: run scripts/install-system-deps.sh "
                                   "(apt-get install -y zookeeper libslf4j-java)")
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("java not found on PATH: install a Java 17 runtime")
        self.port = free_port()
        data_dir = self.work_dir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        conf_dir = self.work_dir / "conf"
        conf_dir.mkdir(exist_ok=True)
        config = conf_dir / "zoo.cfg"
        config.write_text(
            f"tickTime={self.tick_time_ms}\n"
            f"dataDir={data_dir}\n"
            f"clientPort={self.port}\n"
            "clientPortAddress=127.0.0.1\n"
            "maxClientCnxns=0\n"
            "admin.enableServer=false\n"
            "4lw.commands.whitelist=ruok,srvr,stat,mntr\n"
        )
        self._process = ManagedProcess.start(
            [java, "-Xmx256m", "-XX:+UseSerialGC", "-Dzookeeper.jmx.log4j.disable=true",
             "-cp", f"{conf_dir}:{ZOOKEEPER_JAR}:{SLF4J_BINDING_JAR}",
             "org.apache.zookeeper.server.ZooKeeperServerMain", str(config)],
            log_path=self.log_path,
            name="zookeeper",
        )
        self._wait_until_ok(timeout)
        return self

    def _wait_until_ok(self, timeout: float) -> None:
        process = self._require_started()
        deadline = time.monotonic() + timeout
        while True:
            try:
                # ``ruok`` says imok as soon as the port is open; ``srvr`` names a mode only once it serves.
                if (four_letter_word("127.0.0.1", self.port, "ruok") == "imok"
                        and "Mode: " in four_letter_word("127.0.0.1", self.port, "srvr")):
                    return
            except OSError:
                pass
            if not process.alive or time.monotonic() >= deadline:
                reason = f"exited with {process.returncode}" if not process.alive else f"no imok in {timeout:.0f} s"
                message = f"ZooKeeper on 127.0.0.1:{self.port} {reason}; log {self.log_path}:\n{process.tail()}"
                self.stop()
                raise RuntimeError(message)
            time.sleep(0.1)

    def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop the JVM by its PID and remove a work dir this object created."""
        if self._process is not None:
            self._process.stop(grace_seconds)
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
