"""Flink version numbers and the ranges this provider supports."""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")


@dataclass(frozen=True, order=True)
class FlinkVersion:
    """A Flink release as ``major.minor[.patch]``; ordering follows release order."""

    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str | FlinkVersion) -> FlinkVersion:
        """Parse ``"2.3"``, ``"2.3.0"`` or ``"1.20.3"``; raise ``ValueError`` on anything else."""
        if isinstance(text, FlinkVersion):
            return text
        match = _VERSION.match(str(text).strip())
        if not match:
            raise ValueError(f"not a Flink version (expected MAJOR.MINOR[.PATCH]): {text!r}")
        major, minor, patch = match.groups()
        return cls(int(major), int(minor), int(patch or 0))

    def at_least(self, major: int, minor: int, patch: int = 0) -> bool:
        """True when this release is ``major.minor.patch`` or newer."""
        return (self.major, self.minor, self.patch) >= (major, minor, patch)

    @property
    def series(self) -> str:
        """``"1.20"`` for 1.20.3."""
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


#: Oldest and newest Flink series the launcher renders configuration and objects for.
OLDEST_LAUNCHABLE = FlinkVersion(1, 16)
NEWEST_LAUNCHABLE = FlinkVersion(2, 3, 999)
#: Oldest series whose HA leader data the sensor can read.
OLDEST_READABLE = FlinkVersion(1, 13)
