"""Routing rules: which review queue a case goes to, with what priority and SLA.

The rules are data, read from ``CASEBOX_ROUTING_RULES`` (a JSON object, or
``@/path/to/rules.json``) over these defaults, so a clinic changes routing by
configuration, never by code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from casebox.errors import ConfigurationError

PRIORITY_RANK = {"urgent": 0, "soon": 1, "routine": 2}


@dataclass(frozen=True)
class QueueRule:
    """A review queue and its service level."""

    name: str
    label: str
    priority: str
    sla_working_days: int


@dataclass(frozen=True)
class RoutingRules:
    """Thresholds and queues that decide where a submitted case is reviewed."""

    malignancy_threshold: float = 0.5
    paediatric_age_below: int = 16
    rapid_change_durations: tuple[str, ...] = ("days", "weeks")
    queues: tuple[QueueRule, ...] = field(
        default=(
            QueueRule("urgent", "Suspected skin cancer", "urgent", 2),
            QueueRule("paediatric", "Children under 16", "routine", 5),
            QueueRule("routine", "Routine dermatology", "routine", 5),
        )
    )

    def queue(self, name: str) -> QueueRule:
        """The queue called ``name``."""
        for rule in self.queues:
            if rule.name == name:
                return rule
        raise KeyError(name)

    @classmethod
    def from_setting(cls, value: str | None) -> RoutingRules:
        """Parse the CASEBOX_ROUTING_RULES value; None gives the defaults."""
        if not value:
            return cls()
        try:
            text = Path(value[1:]).read_text() if value.startswith("@") else value
            data = json.loads(text)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"CASEBOX_ROUTING_RULES is not readable JSON: {exc}") from exc
        if not isinstance(data, Mapping):
            raise ConfigurationError("CASEBOX_ROUTING_RULES must be a JSON object")
        return cls._from_mapping(data)

    @classmethod
    def _from_mapping(cls, data: Mapping[str, Any]) -> RoutingRules:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigurationError(f"unknown routing rule settings: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = dict(data)
        try:
            if "queues" in values:
                values["queues"] = tuple(QueueRule(**queue) for queue in values["queues"])
            if "rapid_change_durations" in values:
                values["rapid_change_durations"] = tuple(values["rapid_change_durations"])
            rules = cls(**values)
        except TypeError as exc:
            raise ConfigurationError(f"CASEBOX_ROUTING_RULES is malformed: {exc}") from exc
        for required in ("urgent", "paediatric", "routine"):
            try:
                queue = rules.queue(required)
            except KeyError:
                raise ConfigurationError(
                    f"routing rules must define the {required!r} queue"
                ) from None
            if queue.priority not in PRIORITY_RANK or queue.sla_working_days < 1:
                raise ConfigurationError(f"queue {required!r} has a bad priority or SLA")
        return rules
