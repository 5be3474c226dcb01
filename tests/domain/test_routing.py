"""Routing rules: red flags, children and everyone else, with working-day SLAs."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from casebox.errors import ConfigurationError
from casebox.queues.routing import age_in_years, route
from casebox.queues.rules import RoutingRules
from casebox.queues.sla import add_working_days
from tests.support import questionnaire

MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ADULT = date(1980, 1, 1)
CALM = questionnaire(
    changed_size=False, changed_shape=False, changed_colour=False, bleeding=False,
    previous_skin_cancer=False, duration="years",
)  # fmt: skip


def _route(
    answers: dict,
    born: date = ADULT,
    score: float | None = None,  # type: ignore[type-arg]
    rules: RoutingRules | None = None,
):  # type: ignore[no-untyped-def]
    return route(questionnaire=answers, date_of_birth=born, submitted_at=MONDAY_NOON,
                 malignancy_score=score, rules=rules or RoutingRules())  # fmt: skip


def test_calm_adult_case_is_routine_with_five_working_days() -> None:
    decision = _route(CALM)
    assert (decision.queue, decision.priority) == ("routine", "routine")
    assert decision.sla_due_at == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"bleeding": True}, "bleeding"),
        ({"changed_colour": True, "duration": "weeks"}, "rapid change in colour"),
        ({"previous_skin_cancer": True}, "previous skin cancer"),
    ],
)
def test_red_flags_go_to_urgent_with_two_working_days(changes: dict, reason: str) -> None:  # type: ignore[type-arg]
    decision = _route({**CALM, **changes})
    assert (decision.queue, decision.priority) == ("urgent", "urgent")
    assert any(reason in text for text in decision.reasons)
    assert decision.sla_due_at == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_slow_change_over_years_is_not_a_red_flag() -> None:
    assert _route({**CALM, "changed_size": True, "duration": "years"}).queue == "routine"


def test_high_model_score_is_a_red_flag_at_the_threshold() -> None:
    assert _route(CALM, score=0.5).queue == "urgent"
    assert _route(CALM, score=0.49).queue == "routine"


def test_children_go_to_paediatric_unless_red_flagged() -> None:
    child = date(2015, 6, 1)
    assert _route(CALM, born=child).queue == "paediatric"
    assert _route({**CALM, "bleeding": True}, born=child).queue == "urgent"
    sixteenth_birthday_today = date(2010, 11, 23)
    assert _route(CALM, born=sixteenth_birthday_today).queue == "routine"


def test_age_counts_completed_years() -> None:
    assert age_in_years(date(2010, 11, 24), date(2026, 11, 23)) == 15
    assert age_in_years(date(2010, 11, 23), date(2026, 11, 23)) == 16


def test_weekend_submissions_start_counting_on_monday() -> None:
    saturday = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert add_working_days(saturday, 2) == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    friday = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert add_working_days(friday, 1) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_rules_come_from_settings_json_and_files(tmp_path: Path) -> None:
    rules = RoutingRules.from_setting(json.dumps({"malignancy_threshold": 0.3}))
    assert _route(CALM, score=0.35, rules=rules).queue == "urgent"
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"paediatric_age_below": 18}))
    rules = RoutingRules.from_setting(f"@{path}")
    assert _route(CALM, born=date(2009, 1, 1), rules=rules).queue == "paediatric"


@pytest.mark.parametrize(
    "setting",
    [
        "not json",
        json.dumps(["a list"]),
        json.dumps({"malignancy_treshold": 0.3}),
        json.dumps(
            {
                "queues": [
                    {"name": "routine", "label": "R", "priority": "routine", "sla_working_days": 5}
                ]
            }
        ),
        json.dumps({"queues": [{"name": "x"}]}),
    ],
    ids=["not-json", "not-object", "misspelt", "missing-queues", "malformed-queue"],
)
def test_bad_rules_stop_the_service_from_starting(setting: str) -> None:
    with pytest.raises(ConfigurationError):
        RoutingRules.from_setting(setting)
