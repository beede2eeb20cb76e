"""Fault injection for the emulator: injected error answers, latency and dropped watch streams."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FaultRule:
    """Answer matching requests with ``status`` (and/or delay them), by count, rate or period.

    ``every=3`` fires on every third matching request; ``probability=0.1`` on one in ten (seeded);
    ``times`` caps how often it fires. An empty ``methods`` matches every verb. ``applied=True`` carries the
    request out before answering ``status`` (a response lost on its way back: the client cannot tell it landed).
    ``spare_users`` names authenticated users whose requests the rule never matches.
    """

    status: int | None = None
    methods: tuple[str, ...] = ()
    resource: str | None = None
    name_prefix: str | None = None
    every: int | None = None
    probability: float | None = None
    times: int | None = None
    delay_ms: int = 0
    include_watch: bool = False
    applied: bool = False
    spare_users: tuple[str, ...] = ()
    seen: int = 0
    fired: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        allowed = {"status", "methods", "resource", "name_prefix", "every", "probability", "times", "delay_ms",
                   "include_watch", "applied", "spare_users"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault rule fields: {sorted(unknown)}")
        values = dict(data)
        values["methods"] = tuple(m.upper() for m in values.get("methods", ()))
        values["spare_users"] = tuple(values.get("spare_users", ()))
        return cls(**values)

    def matches(self, method: str, plural: str | None, name: str | None, watch: bool, user: str | None = None) -> bool:
        if watch and not self.include_watch:
            return False
        if user is not None and user in self.spare_users:
            return False
        if self.methods and method not in self.methods:
            return False
        if self.resource and self.resource != plural:
            return False
        return not (self.name_prefix and not (name or "").startswith(self.name_prefix))


@dataclass
class Faults:
    """The active fault plan; ``decide`` is asked once per request."""

    rules: list[FaultRule] = field(default_factory=list)
    watch_max_seconds: float | None = None
    seed: int = 0
    _random: random.Random = field(default_factory=random.Random)

    def configure(self, data: dict[str, Any]) -> None:
        """Replace the plan with ``{"rules": [...], "watch_max_seconds": s, "seed": n}``."""
        self.rules = [FaultRule.from_dict(rule) for rule in data.get("rules", [])]
        self.watch_max_seconds = data.get("watch_max_seconds")
        self.seed = int(data.get("seed", 0))
        self._random = random.Random(self.seed)

    def decide(self, method: str, plural: str | None, name: str | None,
               watch: bool, user: str | None = None) -> tuple[float, int | None, bool]:
        """Return (delay in seconds, injected status or None, whether to apply the request first) for one request
        by ``user``."""
        delay, status, applied = 0.0, None, False
        for rule in self.rules:
            if not rule.matches(method, plural, name, watch, user):
                continue
            rule.seen += 1
            if rule.times is not None and rule.fired >= rule.times:
                continue
            fire = True
            if rule.every is not None:
                fire = rule.seen % rule.every == 0
            if fire and rule.probability is not None:
                fire = self._random.random() < rule.probability
            if not fire:
                continue
            rule.fired += 1
            delay += rule.delay_ms / 1000.0
            if rule.status is not None and status is None:
                status, applied = rule.status, rule.applied
        return delay, status, applied

    def summary(self) -> list[dict[str, Any]]:
        """Per rule: what it injects (``status``, ``delay_ms``), what it matches, and how often it matched (``seen``)
        and fired."""
        return [{"status": r.status, "delay_ms": r.delay_ms, "methods": list(r.methods), "resource": r.resource,
                 "applied": r.applied, "spare_users": list(r.spare_users), "seen": r.seen, "fired": r.fired}
                for r in self.rules]
