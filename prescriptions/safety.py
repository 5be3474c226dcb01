"""The safety checks a prescription must pass before it is signed.

Pure: frozen dataclasses in, a list of :class:`Finding` out; no Flask, no database. The
prescribing operations build a :class:`PatientSafetyContext` and a
:class:`ProposedPrescription` and call :func:`check_prescription` when the prescriber
reviews the draft and again at signing. A finding is a **block** (the prescription cannot
be signed) or a **warning** (it can be signed with a recorded reason). Findings come
blocks first, then in the order of the rules below, so the same input always gives the
same list. Messages name medicines, rules and the prescription's own numbers, never the
patient's free text, dates or measurements; the patient's own entries a finding is
about travel beside the message in :attr:`Finding.patient_entries`.

The formulary's data is a draft for review (see ``FORMULARY.md``); these rules only
apply it. Choices made where the issue is silent:

Formulary membership (``not_in_formulary``, block)
    An unknown medicine id gives that one finding and nothing else. A form, route or
    strength the formulary does not list for the medicine is a block; the other checks
    still run.

Controlled substances (``controlled_substance``, block)
    casebox refuses them: no schedule-specific rules are implemented.

Allergies (``allergy``; ``allergy_unchecked``, warning)
    Each allergy entry is split at commas, semicolons, slashes, "&", "+", "and" and
    line breaks (outside parentheses, so "amoxicillin (rash, hives)" stays one entry).
    An entry is matched to formulary medicines by name (the name before any bracket,
    its first word, international spellings and a few brands) and to allergy classes
    by class names and synonyms ("penicillin(s)", "sulfa", "sulpha", "sulphonamide",
    "steroid", "NSAID", "aspirin", ...). The proposed medicine is **blocked** when an
    entry names it, names one of its allergy classes, or names a medicine that shares
    one of its allergy classes (an amoxicillin allergy blocks flucloxacillin). Two
    umbrella classes only **warn** when reached through another medicine or class:
    ``beta-lactams`` (penicillin/cephalosporin cross-sensitivity is uncommon; the BNF
    advises against cephalosporins only after an immediate reaction to a penicillin)
    and ``corticosteroids`` (cross-sensitivity follows the steroid's structural group).
    An entry that names the umbrella class itself ("beta-lactam allergy") blocks.
    Entries such as "none" or "NKDA" mean no allergy. Every other entry that matches
    nothing gives one warning whose message gives the **count**; the entries themselves
    are in ``patient_entries`` for the prescriber's screen (they are the patient's own
    words; keeping them out of the message keeps messages safe to store and log).

Interactions (``interaction``; ``medication_unchecked``, ``active_prescription_unchecked``,
warnings)
    Current medications are free text matched like allergies, with one refinement:
    form words narrow the route ("ketoconazole shampoo" is the topical product,
    "tacrolimus 1 mg capsules" is not the formulary's topical tacrolimus and so stays
    unmatched). An entry naming a substance in both routes without a form word matches
    both (the safer reading). Active prescriptions are formulary ids. Every
    interaction :meth:`Formulary.interactions_between` reports between the proposed
    medicine and one of them, and every curated rule with a substance outside the
    formulary ("vitamin A") named in a current medication, gives one finding per
    medicine pair: a block if any source says contraindicated, else a warning; the
    message gives each source's level and its recommendation text (the ANSM text is
    French, as published). ANSM rows are skipped when the proposed route is topical or
    nasal, or the other medicine has only such forms: the thesaurus concerns systemic
    exposure (FORMULARY.md), and the loader matches by RxCUI, which ketoconazole
    shampoo shares with ketoconazole tablets. Curated rules always apply. Unmatched
    current medications give one warning with their count, because the ANSM rows for
    substances outside the formulary cannot be queried by name through the loader
    (warfarin, for one, is not checked). An active prescription id the formulary no
    longer knows gives a warning.

Duplicate therapy (``duplicate_therapy``, warning)
    The same medicine, or another of the same therapeutic class, among the active
    prescriptions or matched current medications; one warning per such medicine.

Dose (``dose_above_maximum``, block; ``dose_below_usual``, ``dose_unchecked``, warnings)
    The dose is an amount per day or per week (:class:`DoseAmount`), compared with the
    formulary's limit for the route. Units convert within mass (microgram, mg, g),
    volume (mL, L) and counts (sachet); "per kg" limits use the patient's weight.
    A daily amount is converted to a week exactly (x 7), so 7.5 mg of methotrexate a
    day is 52.5 mg a week, above its 25 mg weekly maximum. A weekly amount against a
    daily limit is compared as its daily average, with a warning when the whole weekly
    amount exceeds the daily maximum (it could all be taken on one day), and is never
    called "below usual" (intermittent regimens such as fluconazole 150 mg once a week
    are ordinary). ``usual_limit`` is read as the lower end of the usual range. A dose
    in units that cannot be converted, a per-kg limit without a weight, or a missing
    dose where the formulary has a limit is a warning that the dose was not checked.
    Cumulative doses (isotretinoin's 120-150 mg/kg course) are not checked.

Children (``paediatric_dose``, warning)
    The formulary's limits are adult doses; under 12 years a fixed (not per-kg) limit
    gives a warning to check a paediatric reference (BNF for Children). Most adult
    doses apply from 12 years in the BNF; that cut-off is casebox's choice.

Pregnancy and breastfeeding (``pregnancy``, ``breastfeeding``)
    Pregnant: contraindicated blocks; avoid or caution warns. Status unknown (None) for
    a patient who can become pregnant and a medicine contraindicated in pregnancy:
    warning. Breastfeeding follows the same pattern, the unknown case again only for a
    patient who can become pregnant. A patient recorded as pregnant is treated as able
    to become pregnant whatever ``can_become_pregnant`` says.

Pregnancy prevention programmes (``pregnancy_prevention``, blocks)
    For a medicine flagged ``pregnancy_prevention_programme`` and a patient who can
    become pregnant, each violation is its own block:

    * a medically supervised negative pregnancy test (laboratory or clinic, not
      self-reported) taken on the day of prescribing or in the 3 days before;
    * a second such negative test taken at least N days before that one
      (oral retinoids N = 19, mycophenolate N = 8);
    * no positive test (any source, self-reported included) dated on or after the
      earlier test (or in the N days before the recent one when there is no earlier
      test); tests dated after ``today`` are ignored;
    * at most a 30-day supply, no repeats, and at most 7 days' validity.

    Sources, as the compiler recalls them (none of the primary texts was read in full
    in this session; confirm before clinical use): the EU pregnancy prevention
    programme for oral retinoids (EMA Article 31 referral, 2018; isotretinoin,
    acitretin and alitretinoin SmPC section 4.4, and the MHRA Drug Safety Update of
    June 2018): medically supervised pregnancy testing on the day of the prescribing
    visit or in the 3 days before it, prescriptions limited to 30 days of treatment,
    dispensing within 7 days of the prescription (the 30-day and 7-day limits are
    confirmed by AIFA's 2019 communication as summarised by SIDeMaST). The issue asks
    for *two* tests before each prescription, which the EU programme asks only
    before the first; the 19-day spacing is the US iPLEDGE rule for the screening and
    confirmation tests (US isotretinoin labelling), which also sets the 30-day supply,
    no refills and a 7-day window. casebox applies the strictest combination. For
    mycophenolate (MHRA Drug Safety Update, December 2015, as quoted by MIMS): two
    tests, "the second 8-10 days after the first and immediately before starting
    treatment"; its own programme sets no supply limit, so the 30-day, no-repeat and
    7-day limits are casebox policy there. A flagged medicine without a programme of
    its own gets the oral-retinoid programme.
"""

from __future__ import annotations

import math
import re
import unicodedata
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from prescriptions.formulary import Dose, DoseLimit, Formulary, Interaction, Medicine, UseFlag

Severity = Literal["block", "warning"]
Period = Literal["day", "week"]
TestSource = Literal["laboratory", "clinic", "self_reported"]

PERIODS: frozenset[str] = frozenset({"day", "week"})
TEST_SOURCES: frozenset[str] = frozenset({"laboratory", "clinic", "self_reported"})


@dataclass(frozen=True)
class PregnancyTest:
    """One pregnancy test result and who recorded it."""

    taken_on: date
    negative: bool
    documented_by: str  # who recorded the result: a clinician, a laboratory, the patient
    source: TestSource  # only laboratory and clinic tests count as medically supervised

    def __post_init__(self) -> None:
        if not self.documented_by.strip():
            raise ValueError("a pregnancy test must say who documented it")
        if self.source not in TEST_SOURCES:
            raise ValueError(f"a pregnancy test source must be one of {sorted(TEST_SOURCES)}")


@dataclass(frozen=True)
class PatientSafetyContext:
    """What the checks need to know about the patient, as recorded for this case."""

    age_years: int
    can_become_pregnant: bool
    pregnant: bool | None  # None: not recorded
    breastfeeding: bool | None  # None: not recorded
    weight_kg: float | None = None  # needed for per-kg limits (isotretinoin, ciclosporin)
    allergies: tuple[str, ...] = ()  # free text as the patient typed it
    current_medications: tuple[str, ...] = ()  # free text as the patient typed it
    active_prescriptions: tuple[str, ...] = ()  # formulary ids of active casebox prescriptions
    pregnancy_tests: tuple[PregnancyTest, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.age_years <= 130:
            raise ValueError("age_years must be between 0 and 130")
        if self.weight_kg is not None and not (
            math.isfinite(self.weight_kg) and 0 < self.weight_kg <= 500
        ):
            raise ValueError("weight_kg must be a positive weight in kilograms")

    @property
    def at_risk_of_pregnancy(self) -> bool:
        """Whether pregnancy rules apply: able to become pregnant, or recorded as pregnant."""
        return self.can_become_pregnant or self.pregnant is True


@dataclass(frozen=True)
class DoseAmount:
    """How much the patient takes or applies per day or per week, e.g. 100 mg per day."""

    value: float
    unit: str  # e.g. "mg", "g", "mL", "sachet", "mg/kg"
    per: Period

    def __post_init__(self) -> None:
        if not (math.isfinite(self.value) and self.value > 0):
            raise ValueError("a dose must be a positive amount")
        if not self.unit.strip():
            raise ValueError("a dose needs a unit")
        if self.per not in PERIODS:
            raise ValueError(f"a dose is per {' or per '.join(sorted(PERIODS))}")


@dataclass(frozen=True)
class ProposedPrescription:
    """The prescription as drafted, before signing."""

    medicine_id: str
    form: str
    route: str
    strength: str
    dose: DoseAmount | None  # None: not quantified ("apply thinly")
    supply_days: int
    repeats: int  # dispenses allowed after the first
    validity_days: int  # days from issue within which it may first be dispensed

    def __post_init__(self) -> None:
        if self.supply_days < 1:
            raise ValueError("supply_days must be at least 1")
        if self.repeats < 0:
            raise ValueError("repeats cannot be negative")
        if self.validity_days < 1:
            raise ValueError("validity_days must be at least 1")


@dataclass(frozen=True)
class Finding:
    """One result of the checks: a block stops signing, a warning needs a recorded reason."""

    code: str
    severity: Severity
    message: str
    medicine_ids: tuple[str, ...]
    # The patient's own free-text entries the finding is about, for the prescriber's screen.
    patient_entries: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """A stable name for the finding (unique among warnings), to attach an override to."""
        return f"{self.code}:{'+'.join(self.medicine_ids)}"


@dataclass(frozen=True)
class PregnancyPreventionProgramme:
    """The testing and supply rules of one pregnancy prevention programme."""

    name: str
    recent_test_within_days: int
    min_days_between_tests: int
    max_supply_days: int
    max_repeats: int
    max_validity_days: int


ORAL_RETINOID_PROGRAMME = PregnancyPreventionProgramme(
    name="oral retinoid pregnancy prevention programme (EU PPP, iPLEDGE test spacing)",
    recent_test_within_days=3,
    min_days_between_tests=19,
    max_supply_days=30,
    max_repeats=0,
    max_validity_days=7,
)
MYCOPHENOLATE_PROGRAMME = PregnancyPreventionProgramme(
    name="mycophenolate pregnancy prevention (MHRA 2015)",
    recent_test_within_days=3,
    min_days_between_tests=8,
    max_supply_days=30,
    max_repeats=0,
    max_validity_days=7,
)
PROGRAMMES: dict[str, PregnancyPreventionProgramme] = {
    "isotretinoin-oral": ORAL_RETINOID_PROGRAMME,
    "acitretin": ORAL_RETINOID_PROGRAMME,
    "alitretinoin": ORAL_RETINOID_PROGRAMME,
    "mycophenolate-mofetil": MYCOPHENOLATE_PROGRAMME,
}


def check_prescription(
    formulary: Formulary,
    patient: PatientSafetyContext,
    proposed: ProposedPrescription,
    *,
    today: date,
) -> list[Finding]:
    """Every safety finding for this prescription and patient, blocks first."""
    medicine = formulary.get(proposed.medicine_id)
    if medicine is None:
        return [
            Finding(
                "not_in_formulary",
                "block",
                f"'{proposed.medicine_id}' is not a medicine in the formulary.",
                (proposed.medicine_id,),
            )
        ]
    index = _index(formulary)
    current = _match_medications(index, formulary, patient.current_medications)
    findings = [
        *_formulary_membership(medicine, proposed),
        *_controlled_substance(medicine),
        *_allergies(index, formulary, medicine, patient.allergies),
        *_interactions(formulary, medicine, proposed, patient, current),
        *_duplicates(formulary, medicine, patient, current),
        *_dose(medicine, proposed, patient),
        *_paediatric(medicine, proposed, patient),
        *_pregnancy(medicine, patient),
        *_pregnancy_prevention(medicine, proposed, patient, today),
        *_breastfeeding(medicine, patient),
    ]
    return sorted(findings, key=lambda finding: finding.severity != "block")


# --- formulary membership and controlled substances -------------------------------------


def _formulary_membership(medicine: Medicine, proposed: ProposedPrescription) -> list[Finding]:
    forms = [
        form
        for form in medicine.forms
        if form.form.casefold() == proposed.form.strip().casefold()
        and form.route == proposed.route.strip().casefold()
    ]
    if not forms:
        offered = "; ".join(f"{form.form} ({form.route})" for form in medicine.forms)
        message = (
            f"{medicine.name} is not in the formulary as {proposed.form} ({proposed.route}); "
            f"it is listed as: {offered}."
        )
        return [Finding("not_in_formulary", "block", message, (medicine.id,))]
    wanted = _compact(proposed.strength)
    if not any(_compact(strength) == wanted for form in forms for strength in form.strengths):
        offered = ", ".join(forms[0].strengths)
        message = (
            f"{medicine.name} {proposed.form} is not in the formulary at {proposed.strength}; "
            f"listed strengths: {offered}."
        )
        return [Finding("not_in_formulary", "block", message, (medicine.id,))]
    return []


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


def _controlled_substance(medicine: Medicine) -> list[Finding]:
    if not medicine.controlled_substance:
        return []
    message = (
        f"{medicine.name} is a controlled substance; casebox does not issue prescriptions "
        "for controlled substances."
    )
    return [Finding("controlled_substance", "block", message, (medicine.id,))]


# --- matching free text to the formulary -----------------------------------------------

# Allergy classes by the words patients and clinicians use for them (normalized, singular;
# plurals are matched too).
_CLASS_SYNONYMS: dict[str, tuple[str, ...]] = {
    "penicillins": ("penicillin", "pcn"),
    "beta-lactams": ("beta lactam", "betalactam", "beta lactam antibiotic"),
    "cephalosporins": ("cephalosporin", "cefalosporin"),
    "sulfonamides": (
        "sulfa",
        "sulpha",
        "sulfa drug",
        "sulpha drug",
        "sulfonamide",
        "sulphonamide",
        "sulfamethoxazole",
        "sulphamethoxazole",
        "sulfadiazine",
        "sulphadiazine",
    ),
    "macrolides": ("macrolide",),
    "tetracyclines": ("tetracyclines", "cycline"),
    "lincosamides": ("lincosamide", "lincomycin"),
    "fusidanes": ("fusidic", "fusidate", "fucidin"),
    "nitroimidazoles": ("nitroimidazole",),
    "imidazoles": ("imidazole", "azole antifungal"),
    "triazoles": ("triazole", "azole antifungal"),
    "allylamines": ("allylamine",),
    "polyenes": ("polyene",),
    "retinoids": ("retinoid",),
    "vitamin-d-analogues": ("vitamin d analogue", "vitamin d analog"),
    "corticosteroids": ("corticosteroid", "steroid", "cortisone", "topical steroid"),
    "sulfones": ("sulfone", "sulphone"),
    # Aspirin and NSAID hypersensitivity is a class reaction (COX-1 inhibition).
    "nsaids": (
        "nsaid",
        "non steroidal anti inflammatory",
        "anti inflammatory",
        "ibuprofen",
        "naproxen",
        "aspirin",
        "acetylsalicylic acid",
    ),
    "macrolide-immunosuppressants": ("calcineurin inhibitor",),
}

# Other names for formulary medicines: international spellings and common brands.
_MEDICINE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "amoxicillin": ("amoxycillin", "amoxil", "co amoxiclav", "augmentin"),
    "phenoxymethylpenicillin": ("penicillin v", "pen v"),
    "flucloxacillin": ("floxacillin",),
    "cefalexin": ("cephalexin", "keflex"),
    "co-trimoxazole": ("cotrimoxazole", "bactrim", "septra", "septrin"),
    "silver-sulfadiazine": ("flamazine", "silvadene"),
    "fusidic-acid-topical": ("fucidin", "sodium fusidate"),
    "aciclovir": ("acyclovir", "zovirax"),
    "valaciclovir": ("valacyclovir", "valtrex"),
    "ciclosporin": ("cyclosporine", "cyclosporin", "neoral"),
    "chlorphenamine": ("chlorpheniramine", "piriton"),
    "fluorouracil-topical": ("5 fu", "5 fluorouracil", "efudix"),
    "isotretinoin-oral": ("roaccutane", "accutane"),
    "methotrexate": ("mtx",),
    "mycophenolate-mofetil": ("mmf", "cellcept", "mycophenolic acid"),
    "calcipotriol": ("calcipotriene",),
    "dithranol": ("anthralin",),
    "benzoyl-peroxide": ("benzoyl",),
    "azelaic-acid": ("azelaic",),
    "selenium-sulfide": ("selenium sulphide",),
    "minocycline": ("minocin",),
    "doxycycline": ("vibramycin",),
    "metronidazole-topical": ("rozex",),
    "terbinafine": ("lamisil",),
}

# Names before their first word would name the substance ("silver", "fusidic").
_NOT_SUBSTANCE_WORDS = frozenset({"silver", "fusidic", "selenium", "benzoyl", "azelaic"})

# Entries that mean "no allergies" rather than an allergy we failed to read.
_NO_ALLERGY = frozenset(
    {
        "none",
        "no",
        "nil",
        "nkda",
        "nka",
        "no known allergies",
        "no known allergy",
        "no known drug allergies",
        "no known drug allergy",
        "no allergies",
        "no allergy",
        "no drug allergies",
        "n a",
        "na",
    }
)

# Words in a medication entry that tell the route.
_ROUTE_WORDS: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        (
            "cream",
            "ointment",
            "gel",
            "lotion",
            "shampoo",
            "foam",
            "lacquer",
            "paste",
            "topical",
            "emollient",
            "wash",
            "scalp",
            "nail",
        ),
        frozenset({"topical"}),
    ),
    **dict.fromkeys(
        (
            "tablet",
            "tablets",
            "tab",
            "tabs",
            "capsule",
            "capsules",
            "caps",
            "oral",
            "orally",
            "mouth",
            "syrup",
            "suspension",
        ),
        frozenset({"oral"}),
    ),
    **dict.fromkeys(
        ("injection", "injections", "inj", "pen", "subcutaneous", "sc", "jab"),
        frozenset({"subcutaneous"}),
    ),
    **dict.fromkeys(("nasal", "nose", "nostril"), frozenset({"nasal"})),
    # A dose in mg is not a skin product.
    "mg": frozenset({"oral", "subcutaneous"}),
}


@dataclass(frozen=True)
class _Term:
    """One phrase that names a medicine or an allergy class."""

    phrase: str
    medicine_id: str | None
    allergy_class: str | None
    full_name: bool  # the medicine's whole name, not merely its first word


@dataclass(frozen=True)
class _Index:
    terms: tuple[_Term, ...]
    class_members: dict[str, frozenset[str]] = field(default_factory=dict)


_INDEXES: weakref.WeakKeyDictionary[Formulary, _Index] = weakref.WeakKeyDictionary()


def _index(formulary: Formulary) -> _Index:
    """The phrase index of a formulary, built once per formulary object."""
    cached = _INDEXES.get(formulary)
    if cached is None:
        cached = _INDEXES[formulary] = _build_index(formulary)
    return cached


def _build_index(formulary: Formulary) -> _Index:
    bases = {medicine.id: _base_name(medicine.name) for medicine in formulary.medicines}
    full_names = set(bases.values())
    terms: list[_Term] = []
    for medicine in formulary.medicines:
        base = bases[medicine.id]
        terms.append(_Term(base, medicine.id, None, True))
        first = base.split()[0]
        # "hydrocortisone" is hydrocortisone cream's whole name, so it is not also taken
        # as a short name for hydrocortisone butyrate (allergies still reach it by class).
        if first != base and len(first) >= 4 and first not in _NOT_SUBSTANCE_WORDS:
            terms.append(_Term(first, medicine.id, None, first not in full_names))
        for synonym in _MEDICINE_SYNONYMS.get(medicine.id, ()):
            terms.append(_Term(_normalize(synonym), medicine.id, None, True))
    members: dict[str, set[str]] = {}
    for medicine in formulary.medicines:
        for allergy_class in medicine.allergy_classes:
            members.setdefault(allergy_class, set()).add(medicine.id)
    for allergy_class in members:
        words = (allergy_class.replace("-", " "), *_CLASS_SYNONYMS.get(allergy_class, ()))
        for word in words:
            phrase = _normalize(word)
            terms.append(_Term(phrase, None, allergy_class, True))
            if not phrase.endswith("s"):
                terms.append(_Term(phrase + "s", None, allergy_class, True))
    return _Index(tuple(terms), {name: frozenset(ids) for name, ids in members.items()})


def _base_name(name: str) -> str:
    """ "Co-trimoxazole (sulfamethoxazole + trimethoprim)" -> "co trimoxazole"."""
    return _normalize(re.split(r"[(/]", name, maxsplit=1)[0])


def _normalize(text: str) -> str:
    """Lower-case words and numbers separated by single spaces, accents removed."""
    text = text.replace("β", "beta ").replace("µ", "u").replace("μ", "u")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char)).casefold()
    text = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", text)
    return " ".join(re.findall(r"[a-z0-9]+", text))


def _contains(text: str, phrase: str) -> bool:
    return f" {phrase} " in f" {text} "


def _split_entries(entries: Iterable[str]) -> Iterator[str]:
    """Each entry's parts, split at list separators outside parentheses."""
    for entry in entries:
        depth = 0
        part: list[str] = []
        pieces = re.split(r"(\(|\)|[,;/&+\n]|\band\b)", entry, flags=re.IGNORECASE)
        for piece in pieces:
            if piece == "(":
                depth += 1
            elif piece == ")":
                depth = max(0, depth - 1)
            elif depth == 0 and (
                piece in {",", ";", "/", "&", "+", "\n"} or piece.casefold() == "and"
            ):
                if "".join(part).strip():
                    yield "".join(part).strip()
                part = []
                continue
            part.append(piece)
        if "".join(part).strip():
            yield "".join(part).strip()


def _found_terms(index: _Index, text: str) -> list[_Term]:
    """The terms named in a normalized text, dropping those inside a longer match."""
    found = [term for term in index.terms if _contains(text, term.phrase)]
    return [
        term
        for term in found
        if not any(
            other.phrase != term.phrase and _contains(other.phrase, term.phrase) for other in found
        )
    ]


@dataclass(frozen=True)
class _MedicationMatch:
    entry: str
    medicine_ids: tuple[str, ...]


@dataclass(frozen=True)
class _Medications:
    matched: tuple[_MedicationMatch, ...]
    unmatched: tuple[str, ...]


def _match_medications(index: _Index, formulary: Formulary, entries: Sequence[str]) -> _Medications:
    """Current-medication entries matched to formulary medicines, narrowed by route words."""
    matched: list[_MedicationMatch] = []
    unmatched: list[str] = []
    for entry in _split_entries(entries):
        text = _normalize(entry)
        if not text:
            continue
        terms = [term for term in _found_terms(index, text) if term.medicine_id is not None]
        if any(term.full_name for term in terms):
            terms = [term for term in terms if term.full_name]
        ids = list(dict.fromkeys(term.medicine_id for term in terms if term.medicine_id))
        routes = frozenset().union(*(_ROUTE_WORDS.get(word, frozenset()) for word in text.split()))
        if routes:
            ids = [
                medicine_id
                for medicine_id in ids
                if any(form.route in routes for form in formulary[medicine_id].forms)
            ]
        if ids:
            matched.append(_MedicationMatch(entry, tuple(ids)))
        else:
            unmatched.append(entry)
    return _Medications(tuple(matched), tuple(unmatched))


# Routes whose exposure the ANSM thesaurus does not concern.
_LOCAL_ROUTES = frozenset({"topical", "nasal"})


# --- allergies --------------------------------------------------------------------------

# Umbrella classes whose members cross-react only in part: reached through another
# medicine or class they warn; named outright they block.
_PARTIAL_CROSS_REACTIVITY: dict[str, str] = {
    "beta-lactams": (
        "cross-sensitivity between penicillins and cephalosporins is uncommon; do not "
        "prescribe it if the reaction was immediate (anaphylaxis, angioedema, urticaria)"
    ),
    "corticosteroids": (
        "cross-sensitivity between corticosteroids depends on their structural group; "
        "check which corticosteroid caused the reaction"
    ),
}


def _class_label(allergy_class: str) -> str:
    return {
        "beta-lactams": "beta-lactam antibiotics",
        "nsaids": "NSAIDs",
        "vitamin-d-analogues": "vitamin D analogues",
        "macrolide-immunosuppressants": "macrolide immunosuppressants",
    }.get(allergy_class, allergy_class.replace("-", " "))


def _allergies(
    index: _Index, formulary: Formulary, medicine: Medicine, entries: Sequence[str]
) -> list[Finding]:
    named_medicines: dict[str, None] = {}
    named_classes: dict[str, None] = {}
    unmatched: list[str] = []
    for entry in _split_entries(entries):
        text = _normalize(entry)
        if not text or text in _NO_ALLERGY:
            continue
        # No longest-match pruning here: "hydrocortisone butyrate" is also hydrocortisone.
        terms = [term for term in index.terms if _contains(text, term.phrase)]
        if not terms:
            unmatched.append(entry)
        for term in terms:
            if term.medicine_id:
                named_medicines[term.medicine_id] = None
            if term.allergy_class:
                named_classes[term.allergy_class] = None

    findings: list[Finding] = []
    reason = _allergy_block(formulary, medicine, named_medicines, named_classes)
    if reason:
        findings.append(Finding("allergy", "block", reason, (medicine.id,)))
    else:
        caution = _allergy_caution(formulary, index, medicine, named_medicines, named_classes)
        if caution:
            findings.append(Finding("allergy", "warning", caution, (medicine.id,)))
    if unmatched:
        count = len(unmatched)
        message = (
            f"{count} allergy {'entry' if count == 1 else 'entries'} could not be matched to "
            f"the formulary; check {'it' if count == 1 else 'them'} against "
            f"{medicine.name} by hand before signing."
        )
        findings.append(
            Finding("allergy_unchecked", "warning", message, (medicine.id,), tuple(unmatched))
        )
    return findings


def _allergy_block(
    formulary: Formulary,
    medicine: Medicine,
    named_medicines: dict[str, None],
    named_classes: dict[str, None],
) -> str | None:
    if medicine.id in named_medicines:
        return f"Allergy: the patient reports an allergy to {medicine.name}."
    for allergy_class in named_classes:
        if allergy_class in medicine.allergy_classes:
            label = _class_label(allergy_class)
            return (
                f"Allergy: {medicine.name} is one of the {label}, and the patient reports "
                f"an allergy to {label}."
            )
    for other_id in named_medicines:
        other = formulary[other_id]
        shared = sorted(
            (medicine.allergy_classes & other.allergy_classes) - set(_PARTIAL_CROSS_REACTIVITY)
        )
        if shared:
            label = _class_label(shared[0])
            return (
                f"Allergy: the patient reports an allergy to {other.name}; {medicine.name} "
                f"is also one of the {label} and may cross-react."
            )
    return None


def _allergy_caution(
    formulary: Formulary,
    index: _Index,
    medicine: Medicine,
    named_medicines: dict[str, None],
    named_classes: dict[str, None],
) -> str | None:
    reached: list[tuple[str, str]] = []  # (what the patient named, umbrella class)
    for other_id in named_medicines:
        for umbrella in sorted(formulary[other_id].allergy_classes & medicine.allergy_classes):
            if umbrella in _PARTIAL_CROSS_REACTIVITY:
                reached.append((formulary[other_id].name, umbrella))
    for allergy_class in named_classes:
        for member in sorted(index.class_members.get(allergy_class, ())):
            shared = formulary[member].allergy_classes & medicine.allergy_classes
            for umbrella in sorted(shared & set(_PARTIAL_CROSS_REACTIVITY)):
                reached.append((_class_label(allergy_class), umbrella))
    if not reached:
        return None
    named, umbrella = reached[0]
    return (
        f"Allergy: the patient reports an allergy to {named}; {medicine.name} is also one "
        f"of the {_class_label(umbrella)}: {_PARTIAL_CROSS_REACTIVITY[umbrella]}."
    )


# --- interactions and duplicate therapy --------------------------------------------------


def _others(
    formulary: Formulary, patient: PatientSafetyContext, current: _Medications
) -> dict[str, list[str]]:
    """The patient's known formulary medicines, each with where it was recorded."""
    where: dict[str, list[str]] = {}
    for match in current.matched:
        for medicine_id in match.medicine_ids:
            places = where.setdefault(medicine_id, [])
            if "current medication" not in places:
                places.append("current medication")
    for medicine_id in patient.active_prescriptions:
        if formulary.get(medicine_id) is not None:
            places = where.setdefault(medicine_id, [])
            if "active prescription" not in places:
                places.append("active prescription")
    return where


def _only_local(medicine: Medicine) -> bool:
    return all(form.route in _LOCAL_ROUTES for form in medicine.forms)


def _interactions(
    formulary: Formulary,
    medicine: Medicine,
    proposed: ProposedPrescription,
    patient: PatientSafetyContext,
    current: _Medications,
) -> list[Finding]:
    others = _others(formulary, patient, current)
    others.pop(medicine.id, None)  # the same medicine again is duplicate therapy
    proposed_topical = proposed.route.strip().casefold() in _LOCAL_ROUTES
    by_other: dict[str, list[Interaction]] = {}
    for interaction in formulary.interactions_between([medicine.id, *others]):
        if medicine.id not in (interaction.first, interaction.second):
            continue
        other = interaction.second if interaction.first == medicine.id else interaction.first
        # The thesaurus concerns systemic exposure (FORMULARY.md); it matches by RxCUI,
        # which a shampoo shares with the tablet. Curated rules always apply.
        local = proposed_topical or _only_local(formulary[other])
        if interaction.level == "curated" or not local:
            by_other.setdefault(other, []).append(interaction)
    findings = []
    for other_id in others:
        if other_id in by_other:
            findings.append(
                _interaction_finding(
                    medicine,
                    formulary[other_id].name,
                    " and ".join(others[other_id]),
                    by_other[other_id],
                    (medicine.id, other_id),
                )
            )
    checked_elsewhere: set[str] = set()
    for rule in formulary.curated_with_other(medicine.id):
        terms = _substance_terms(rule.second)
        entries = tuple(
            part
            for part in _split_entries(patient.current_medications)
            if any(_contains(_normalize(part), term) for term in terms)
        )
        checked_elsewhere.update(entries)
        if entries:
            finding = _interaction_finding(
                medicine, rule.second, "current medication", [rule], (medicine.id,)
            )
            findings.append(
                Finding(
                    finding.code, finding.severity, finding.message, finding.medicine_ids, entries
                )
            )
    unmatched = tuple(entry for entry in current.unmatched if entry not in checked_elsewhere)
    if unmatched:
        count = len(unmatched)
        message = (
            f"{count} current medication {'entry' if count == 1 else 'entries'} could not be "
            f"matched to the formulary, so interactions with {medicine.name} were not checked "
            f"for {'it' if count == 1 else 'them'}; check by hand before signing."
        )
        findings.append(
            Finding("medication_unchecked", "warning", message, (medicine.id,), unmatched)
        )
    unknown = [mid for mid in patient.active_prescriptions if formulary.get(mid) is None]
    if unknown:
        message = (
            f"{len(unknown)} active prescription(s) name a medicine no longer in the "
            f"formulary; check interactions with {medicine.name} by hand before signing."
        )
        findings.append(
            Finding(
                "active_prescription_unchecked",
                "warning",
                message,
                (medicine.id, *dict.fromkeys(unknown)),
            )
        )
    return findings


def _substance_terms(name: str) -> list[str]:
    """ "vitamin A (retinol) supplements" -> ["vitamin a", "retinol"]."""
    inside = re.findall(r"\(([^)]*)\)", name)
    outside = re.sub(r"\([^)]*\)", " ", name)
    generic = {"supplement", "supplements", "products", "preparations"}
    terms = []
    for phrase in (outside, *inside):
        words = [word for word in _normalize(phrase).split() if word not in generic]
        if words:
            terms.append(" ".join(words))
    return terms


def _interaction_finding(
    medicine: Medicine,
    other_name: str,
    where: str,
    interactions: list[Interaction],
    medicine_ids: tuple[str, ...],
) -> Finding:
    severity: Severity = "block" if any(i.severity == "block" for i in interactions) else "warning"
    statements = [_interaction_statement(interaction) for interaction in interactions]
    message = f"Interaction: {medicine.name} with {other_name} ({where}). " + " ".join(statements)
    return Finding("interaction", severity, message, medicine_ids)


def _interaction_statement(interaction: Interaction) -> str:
    if interaction.level == "curated":
        return f"casebox rule: {interaction.summary}"
    text = " ".join(interaction.recommendation.split())
    if text.casefold().startswith(interaction.level.casefold()):
        text = text[len(interaction.level) :].strip()
    source = interaction.source.split(",")[0]
    statement = f"{source} {interaction.level} ({interaction.summary})"
    return f"{statement}: {text}" if text else f"{statement}."


def _duplicates(
    formulary: Formulary,
    medicine: Medicine,
    patient: PatientSafetyContext,
    current: _Medications,
) -> list[Finding]:
    findings = []
    for other_id, places in _others(formulary, patient, current).items():
        where = " and ".join(places)
        if other_id == medicine.id:
            message = f"Duplicate therapy: the patient already has {medicine.name} ({where})."
        elif formulary.same_class(medicine.id, other_id):
            label = medicine.therapeutic_class.replace("-", " ")
            message = (
                f"Duplicate therapy: {medicine.name} and {formulary[other_id].name} ({where}) "
                f"are both in the class {label}."
            )
        else:
            continue
        findings.append(Finding("duplicate_therapy", "warning", message, (medicine.id, other_id)))
    return findings


# --- dose --------------------------------------------------------------------------------

# unit -> (dimension, factor to the dimension's base unit)
_UNITS: dict[str, tuple[str, float]] = {
    "mg": ("mass", 1.0),
    "milligram": ("mass", 1.0),
    "milligrams": ("mass", 1.0),
    "g": ("mass", 1000.0),
    "gram": ("mass", 1000.0),
    "grams": ("mass", 1000.0),
    "microgram": ("mass", 0.001),
    "micrograms": ("mass", 0.001),
    "mcg": ("mass", 0.001),
    "ug": ("mass", 0.001),
    "ml": ("volume", 1.0),
    "l": ("volume", 1000.0),
    "sachet": ("sachet", 1.0),
    "sachets": ("sachet", 1.0),
}


@dataclass(frozen=True)
class _Quantity:
    dimension: str
    value: float  # in the dimension's base unit (mg, mL, sachet)
    per_kg: bool


def _quantity(value: float, unit: str) -> _Quantity | None:
    text = unit.strip().casefold().replace("µ", "u").replace("μ", "u").replace(" ", "")
    per_kg = text.endswith("/kg")
    if per_kg:
        text = text[: -len("/kg")]
    known = _UNITS.get(text)
    if known is None:
        return None
    return _Quantity(known[0], value * known[1], per_kg)


def _fmt(value: float) -> str:
    return f"{round(value, 2):g}"


def _limit_text(limit: DoseLimit) -> str:
    return f"{_fmt(limit.value)} {limit.unit} per {limit.per}"


def _dose(
    medicine: Medicine, proposed: ProposedPrescription, patient: PatientSafetyContext
) -> list[Finding]:
    dose = next((d for d in medicine.doses if d.route == proposed.route.strip().casefold()), None)
    if dose is None or (dose.max_limit is None and dose.usual_limit is None):
        return []
    ids = (medicine.id,)
    if proposed.dose is None:
        limit = dose.max_limit or dose.usual_limit
        assert limit is not None  # one of them is set, checked above
        message = (
            f"No quantified dose was given for {medicine.name}, so it could not be checked "
            f"against the formulary's limit of {_limit_text(limit)}."
        )
        return [Finding("dose_unchecked", "warning", message, ids)]
    findings = []
    if dose.max_limit is not None:
        findings += _check_maximum(medicine, dose, dose.max_limit, proposed.dose, patient)
    if dose.usual_limit is not None and not any(
        finding.severity == "block" or finding.code == "dose_unchecked" for finding in findings
    ):
        findings += _check_usual(medicine, dose, dose.usual_limit, proposed.dose, patient)
    return findings


def _in_limit_units(
    amount: DoseAmount, limit: DoseLimit, patient: PatientSafetyContext
) -> float | str:
    """The amount in the limit's unit (per the amount's own period), or why it can't be."""
    given = _quantity(amount.value, amount.unit)
    wanted = _quantity(1.0, limit.unit)
    if given is None or wanted is None or given.dimension != wanted.dimension:
        return (
            f"the dose is given in {amount.unit} but the formulary limits it in {limit.unit}, "
            "which casebox cannot convert"
        )
    value = given.value
    if given.per_kg != wanted.per_kg:
        if patient.weight_kg is None:
            return (
                f"the formulary limits it in {limit.unit} and converting needs the "
                "patient's weight, which is not recorded"
            )
        value = value / patient.weight_kg if wanted.per_kg else value * patient.weight_kg
    return value / wanted.value


def _check_maximum(
    medicine: Medicine,
    dose: Dose,
    limit: DoseLimit,
    amount: DoseAmount,
    patient: PatientSafetyContext,
) -> list[Finding]:
    ids = (medicine.id,)
    value = _in_limit_units(amount, limit, patient)
    if isinstance(value, str):
        message = f"The dose of {medicine.name} was not checked: {value}."
        return [Finding("dose_unchecked", "warning", message, ids)]
    given = f"{_fmt(amount.value)} {amount.unit} per {amount.per}"
    note = f" Formulary note: {dose.note}." if dose.note else ""
    if amount.per == limit.per:
        compared, shown = value, given
    elif amount.per == "day":  # a daily dose against a weekly limit: exactly 7 days' worth
        compared = value * 7
        shown = f"{given} ({_fmt(compared)} {limit.unit} per week)"
    else:  # a weekly amount against a daily limit: its daily average
        compared = value / 7
        shown = f"{given} (on average {_fmt(compared)} {limit.unit} per day)"
    if compared > limit.value * (1 + 1e-9):
        message = (
            f"{medicine.name}: {shown} is above the formulary maximum of "
            f"{_limit_text(limit)}.{note}"
        )
        return [Finding("dose_above_maximum", "block", message, ids)]
    if amount.per == "week" and limit.per == "day" and value > limit.value * (1 + 1e-9):
        message = (
            f"{medicine.name}: {given} exceeds the daily maximum of {_limit_text(limit)} "
            "if taken on fewer days; make sure the instructions spread it so that no day "
            "exceeds the maximum."
        )
        return [Finding("dose_unchecked", "warning", message, ids)]
    return []


def _check_usual(
    medicine: Medicine,
    dose: Dose,
    limit: DoseLimit,
    amount: DoseAmount,
    patient: PatientSafetyContext,
) -> list[Finding]:
    if amount.per == "week" and limit.per == "day":
        return []  # intermittent regimens (fluconazole once a week) are not under-dosing
    value = _in_limit_units(amount, limit, patient)
    if isinstance(value, str):
        message = f"The dose of {medicine.name} was not checked: {value}."
        return [Finding("dose_unchecked", "warning", message, (medicine.id,))]
    compared = value * 7 if amount.per == "day" and limit.per == "week" else value
    if compared < limit.value * (1 - 1e-9):
        given = f"{_fmt(amount.value)} {amount.unit} per {amount.per}"
        message = (
            f"{medicine.name}: {given} is below the usual dose of {_limit_text(limit)} "
            f"(usual: {dose.usual}); check that a lower dose is intended."
        )
        return [Finding("dose_below_usual", "warning", message, (medicine.id,))]
    return []


def _paediatric(
    medicine: Medicine, proposed: ProposedPrescription, patient: PatientSafetyContext
) -> list[Finding]:
    if patient.age_years >= 12:
        return []
    dose = next((d for d in medicine.doses if d.route == proposed.route.strip().casefold()), None)
    limits = [limit for limit in (dose.usual_limit, dose.max_limit) if limit] if dose else []
    if not limits or all(limit.unit.casefold().endswith("/kg") for limit in limits):
        return []
    message = (
        f"The formulary's dose limits for {medicine.name} are adult doses; for a child under "
        "12, check the dose and the medicine's suitability in a paediatric reference "
        "(BNF for Children)."
    )
    return [Finding("paediatric_dose", "warning", message, (medicine.id,))]


# --- pregnancy, breastfeeding and pregnancy prevention -----------------------------------


def _use_flag_finding(
    code: str, condition: str, medicine: Medicine, flag: UseFlag, known: bool | None
) -> list[Finding]:
    ids = (medicine.id,)
    if known is True:
        if flag.category == "contraindicated":
            message = f"{medicine.name} is contraindicated in {condition}: {flag.reason}."
            return [Finding(code, "block", message, ids)]
        if flag.category in ("avoid", "caution"):
            advice = "should be avoided" if flag.category == "avoid" else "needs caution"
            message = f"{medicine.name} {advice} in {condition}: {flag.reason}."
            return [Finding(code, "warning", message, ids)]
    if known is None and flag.category == "contraindicated":
        message = (
            f"{medicine.name} is contraindicated in {condition} ({flag.reason}) and the "
            f"patient's {condition} status is not recorded; confirm it before signing."
        )
        return [Finding(code, "warning", message, ids)]
    return []


def _pregnancy(medicine: Medicine, patient: PatientSafetyContext) -> list[Finding]:
    if not patient.at_risk_of_pregnancy:
        return []
    return _use_flag_finding(
        "pregnancy", "pregnancy", medicine, medicine.pregnancy, patient.pregnant
    )


def _breastfeeding(medicine: Medicine, patient: PatientSafetyContext) -> list[Finding]:
    if patient.breastfeeding is None and not patient.at_risk_of_pregnancy:
        return []
    return _use_flag_finding(
        "breastfeeding", "breastfeeding", medicine, medicine.breastfeeding, patient.breastfeeding
    )


def _pregnancy_prevention(
    medicine: Medicine,
    proposed: ProposedPrescription,
    patient: PatientSafetyContext,
    today: date,
) -> list[Finding]:
    if not (medicine.pregnancy_prevention_programme and patient.at_risk_of_pregnancy):
        return []
    programme = PROGRAMMES.get(medicine.id, ORAL_RETINOID_PROGRAMME)
    findings = _pregnancy_tests(medicine, programme, patient.pregnancy_tests, today)
    ids = (medicine.id,)
    rule = f"for a patient who can become pregnant ({programme.name})"
    if proposed.supply_days > programme.max_supply_days:
        message = (
            f"{medicine.name} may be prescribed for at most {programme.max_supply_days} days "
            f"{rule}; this prescription is for {proposed.supply_days} days."
        )
        findings.append(Finding("pregnancy_prevention", "block", message, ids))
    if proposed.repeats > programme.max_repeats:
        message = (
            f"{medicine.name} may not be prescribed with repeats {rule}; each month needs a "
            f"new prescription after a new pregnancy test. This one has {proposed.repeats}."
        )
        findings.append(Finding("pregnancy_prevention", "block", message, ids))
    if proposed.validity_days > programme.max_validity_days:
        message = (
            f"A prescription of {medicine.name} may be valid for at most "
            f"{programme.max_validity_days} days {rule}; this one is valid for "
            f"{proposed.validity_days} days."
        )
        findings.append(Finding("pregnancy_prevention", "block", message, ids))
    return findings


def _pregnancy_tests(
    medicine: Medicine,
    programme: PregnancyPreventionProgramme,
    tests: Sequence[PregnancyTest],
    today: date,
) -> list[Finding]:
    ids = (medicine.id,)
    dated = [test for test in tests if test.taken_on <= today]
    supervised = [test for test in dated if test.negative and test.source != "self_reported"]
    recent_from = today - timedelta(days=programme.recent_test_within_days)
    recent = [test.taken_on for test in supervised if test.taken_on >= recent_from]
    anchor = max(recent, default=today)
    earlier_by = anchor - timedelta(days=programme.min_days_between_tests)
    earlier = [test.taken_on for test in supervised if test.taken_on <= earlier_by]
    self_reported = any(test.source == "self_reported" for test in dated)
    aside = " Self-reported tests do not count." if self_reported else ""
    findings = []
    if not recent:
        message = (
            f"{medicine.name} needs a medically supervised negative pregnancy test taken "
            f"today or in the {programme.recent_test_within_days} days before "
            f"({programme.name}); none is documented.{aside}"
        )
        findings.append(Finding("pregnancy_prevention", "block", message, ids))
    if not earlier:
        message = (
            f"{medicine.name} needs a second medically supervised negative pregnancy test "
            f"taken at least {programme.min_days_between_tests} days before the recent one "
            f"({programme.name}); none is documented.{aside}"
        )
        findings.append(Finding("pregnancy_prevention", "block", message, ids))
    window_start = max(earlier, default=earlier_by)
    if any(not test.negative and test.taken_on >= window_start for test in dated):
        message = (
            f"A positive pregnancy test is documented within the testing window of "
            f"{medicine.name} ({programme.name}); pregnancy must be excluded before "
            "prescribing."
        )
        findings.append(Finding("pregnancy_prevention", "block", message, ids))
    return findings
