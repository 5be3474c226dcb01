"""The questionnaire as a patient reads it: each question's wording, help and choices.

``casebox.cases.schemas.QuestionnaireSchema`` validates the answers; this module holds
the words (translated through Flask-Babel) the patient pages ask them with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString


@dataclass(frozen=True)
class Question:
    """One question: its answer key, wording, optional help and kind of answer."""

    key: str
    label: LazyString
    kind: str  # "yes_no", "choice", "lines" (one entry per line) or "text"
    hint: LazyString | None = None
    choices: tuple[tuple[str, LazyString], ...] = field(default_factory=tuple)


DURATION_CHOICES = (
    ("days", _l("A few days")),
    ("weeks", _l("A few weeks")),
    ("months", _l("A few months")),
    ("years", _l("A year or more")),
    ("since_birth", _l("Since birth")),
)

FITZPATRICK_CHOICES = (
    ("I", _l("Type I: always burns, never tans")),
    ("II", _l("Type II: usually burns, tans with difficulty")),
    ("III", _l("Type III: sometimes burns, tans gradually")),
    ("IV", _l("Type IV: rarely burns, tans easily")),
    ("V", _l("Type V: very rarely burns, tans very easily")),
    ("VI", _l("Type VI: never burns")),
)

QUESTIONS: tuple[Question, ...] = (
    Question("duration", _l("How long have you had it?"), "choice", choices=DURATION_CHOICES),
    Question("changed_size", _l("Has it changed in size recently?"), "yes_no"),
    Question("changed_shape", _l("Has it changed in shape recently?"), "yes_no"),
    Question("changed_colour", _l("Has it changed in colour recently?"), "yes_no"),
    Question("itch", _l("Does it itch?"), "yes_no"),
    Question("bleeding", _l("Has it bled without being injured?"), "yes_no"),
    Question("pain", _l("Is it painful?"), "yes_no"),
    Question("scaly", _l("Is it scaly or crusted?"), "yes_no"),
    Question("previous_skin_cancer", _l("Have you ever had skin cancer?"), "yes_no"),
    Question(
        "family_history_melanoma",
        _l("Has a parent, brother, sister or child had melanoma?"),
        "yes_no",
    ),
    Question(
        "fitzpatrick",
        _l("How does your skin react to the sun?"),
        "choice",
        hint=_l("Think of the first strong sun of the summer, without sunscreen."),
        choices=FITZPATRICK_CHOICES,
    ),
    Question(
        "medications",
        _l("Which medicines do you take?"),
        "lines",
        hint=_l("One per line, with the dose if you know it. Leave empty if none."),
    ),
    Question(
        "allergies",
        _l("Are you allergic to any medicine?"),
        "lines",
        hint=_l("One per line. Leave empty if none."),
    ),
    Question(
        "pregnant_or_breastfeeding",
        _l("Are you pregnant or breastfeeding?"),
        "yes_no",
        hint=_l("Some treatments are not safe in pregnancy; answer no if it cannot apply."),
    ),
    Question(
        "description",
        _l("Anything else the dermatologist should know?"),
        "text",
        hint=_l("For example what you have tried, or what worries you. Optional."),
    ),
)
