"""Deciding the queue, priority and SLA of a submitted case, with the reasons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from casebox.queues.rules import RoutingRules
from casebox.queues.sla import add_working_days


@dataclass(frozen=True)
class RoutingDecision:
    """Where a case goes and why."""

    queue: str
    priority: str
    sla_due_at: datetime
    reasons: list[str]


def red_flags(
    questionnaire: dict[str, Any], malignancy_score: float | None, rules: RoutingRules
) -> list[str]:
    """The reasons, if any, to treat a case as suspected skin cancer."""
    flags = []
    if questionnaire.get("bleeding"):
        flags.append("bleeding lesion")
    changed = [
        aspect for aspect in ("size", "shape", "colour") if questionnaire.get(f"changed_{aspect}")
    ]
    if changed and questionnaire.get("duration") in rules.rapid_change_durations:
        flags.append(f"rapid change in {', '.join(changed)} (over {questionnaire['duration']})")
    if questionnaire.get("previous_skin_cancer"):
        flags.append("previous skin cancer")
    if malignancy_score is not None and malignancy_score >= rules.malignancy_threshold:
        threshold = rules.malignancy_threshold
        flags.append(f"model malignancy score {malignancy_score:.2f} at or above {threshold}")
    return flags


def age_in_years(date_of_birth: date, on: date) -> int:
    """Completed years of age on a given day."""
    had_birthday = (on.month, on.day) >= (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - (0 if had_birthday else 1)


def route(
    *,
    questionnaire: dict[str, Any],
    date_of_birth: date,
    submitted_at: datetime,
    malignancy_score: float | None,
    rules: RoutingRules,
) -> RoutingDecision:
    """Apply the rules: red flags go to urgent, children to paediatric, the rest to routine."""
    flags = red_flags(questionnaire, malignancy_score, rules)
    age = age_in_years(date_of_birth, submitted_at.date())
    if flags:
        queue = rules.queue("urgent")
        reasons = flags
    elif age < rules.paediatric_age_below:
        queue = rules.queue("paediatric")
        reasons = [f"patient aged {age}, under {rules.paediatric_age_below}"]
    else:
        queue = rules.queue("routine")
        reasons = ["no red flags"]
    return RoutingDecision(
        queue=queue.name,
        priority=queue.priority,
        sla_due_at=add_working_days(submitted_at, queue.sla_working_days),
        reasons=reasons,
    )
