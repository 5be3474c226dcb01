"""The verbs of erasure: a patient asks, processing stops at once; staff list the requests.

:func:`request_erasure` does everything in the caller's one transaction (it flushes and
audits; the request commits), so either all of it happens or none of it:

- every case not yet completed is withdrawn (a specialist's claim on it ends, so it leaves
  every queue) and the pipeline's jobs, which re-check the status, do nothing for it;
- the patient's scheduled follow-ups are cancelled, so no reminder comes;
- e-mails and texts still waiting are cancelled, and no new ones are sent
  (casebox.notifications stops for a deactivated patient);
- resumable uploads in progress are discarded with their stored chunks;
- consent is withdrawn, every API token revoked, and the account deactivated, which ends
  any browser session (Flask-Login loads active users only) and every login;
- unsigned (draft) prescriptions are cancelled. Signed ones are legal records: they stay,
  verifiable and dispensable by the pharmacy as before, until they expire or the purge.

The clinical records themselves stay for the retention period (``retention_days``) and
are then deleted by the scheduled purge (casebox.erasure.purge).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Final

from sqlalchemy import select, update

from casebox import clock, services
from casebox.accounts.models import ApiToken, Role, User
from casebox.accounts.operations import withdraw_consent
from casebox.audit import trail
from casebox.cases.models import Case, CaseStatus
from casebox.database import db, utcnow
from casebox.erasure.models import ErasureRequest
from casebox.errors import Forbidden, ReauthenticationFailed
from casebox.followups.models import FollowUp, FollowUpStatus
from casebox.notifications.operations import cancel_pending_deliveries
from casebox.uploads.operations import discard_patients_uploads
from prescriptions.models import Prescription, PrescriptionStatus

# A case in these states is finished: erasure leaves it as it is until the purge.
FINISHED: Final = (CaseStatus.COMPLETED, CaseStatus.WITHDRAWN)
FOLLOW_UPS_OPEN: Final = (FollowUpStatus.SCHEDULED, FollowUpStatus.DUE)
SOURCES: Final = ("api", "web")


def request_erasure(
    user: User, password: str, *, source: str = "api", address: str | None = None
) -> ErasureRequest:
    """Erase ``user`` (a patient) once they confirm with their password; idempotent.

    Raises Forbidden for staff, RateLimited after too many wrong passwords (the login's
    limit) and ReauthenticationFailed for a wrong one. Before refusing a wrong password it
    audits the refusal; the caller should commit that (nothing else was written) before
    answering. Asking again returns the first request unchanged.
    """
    if user.role != Role.PATIENT:
        raise Forbidden("Only patients can ask for the erasure of their records.")
    if source not in SOURCES:
        raise ValueError(f"unknown erasure source {source!r}")
    _check_password(user, password, address)
    # Lock the account: two requests racing create one erasure between them.
    db.session.scalar(select(User.id).where(User.id == user.id).with_for_update())
    existing = request_of(user)
    if existing is not None:
        return existing
    now = clock.now()
    retention_days = services.settings().retention_days
    erasure = ErasureRequest(
        user_id=user.id,
        requested_by_id=user.id,
        source=source,
        requested_at=now,
        retention_days=retention_days,
        purge_due_at=now + timedelta(days=retention_days),
    )
    erasure.counts = _stop_processing(user)
    db.session.add(erasure)
    db.session.flush()
    trail.record(
        "patient.erasure_requested",
        object_type="user",
        object_id=user.public_id,
        details={
            "erasure_id": erasure.public_id,
            "source": source,
            "retention_days": retention_days,
            "purge_due_at": erasure.purge_due_at.isoformat(),
            **erasure.counts,
        },
    )
    return erasure


def _check_password(user: User, password: str, address: str | None) -> None:
    throttle = services.login_throttle()
    throttle.check(user.email, address)
    if services.passwords().verify(user.password_hash, password):
        return
    throttle.record_failure(user.email, address)
    trail.record(
        "patient.erasure_requested",
        object_type="user",
        object_id=user.public_id,
        outcome="failure",
        details={"reason": "wrong password"},
    )
    raise ReauthenticationFailed(
        "The password is wrong; nothing was changed.",
        errors={"password": ["The password is wrong."]},
    )


def request_of(user: User) -> ErasureRequest | None:
    """The user's erasure request, if they made one."""
    return db.session.scalar(select(ErasureRequest).where(ErasureRequest.user_id == user.id))


def _stop_processing(user: User) -> dict[str, int]:
    """Everything that stops at once; returns how many of each thing it stopped."""
    counts = {
        "cases_withdrawn": _withdraw_cases(user),
        "follow_ups_cancelled": _cancel_follow_ups(user),
        "deliveries_cancelled": cancel_pending_deliveries(user),
        "uploads_discarded": discard_patients_uploads(user, reason="erasure"),
        "tokens_revoked": _revoke_tokens(user),
        "draft_prescriptions_cancelled": _cancel_draft_prescriptions(user),
    }
    withdraw_consent(user)
    user.active = False
    return counts


def _withdraw_cases(user: User) -> int:
    cases = db.session.scalars(
        select(Case)
        .where(Case.patient_id == user.id, Case.status.not_in(FINISHED))
        .order_by(Case.id)
        .with_for_update()
    ).all()
    for case in cases:
        previous = case.status
        case.status = CaseStatus.WITHDRAWN
        # A specialist's claim ends with it: the case leaves every queue and workspace.
        case.claimed_by_id = None
        case.claimed_at = None
        case.claim_expires_at = None
        trail.record(
            "case.withdraw",
            object_type="case",
            object_id=case.public_id,
            details={"from": str(previous), "reason": "erasure"},
        )
    db.session.flush()
    return len(cases)


def _cancel_follow_ups(user: User) -> int:
    follow_ups = db.session.scalars(
        select(FollowUp)
        .where(FollowUp.patient_id == user.id, FollowUp.status.in_(FOLLOW_UPS_OPEN))
        .with_for_update()
    ).all()
    for follow_up in follow_ups:
        follow_up.status = FollowUpStatus.CANCELLED
        follow_up.cancelled_at = utcnow()
        trail.record(
            "follow_up.cancel",
            object_type="follow_up",
            object_id=follow_up.public_id,
            details={"reason": "erasure"},
        )
    return len(follow_ups)


def _revoke_tokens(user: User) -> int:
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult for UPDATE


def _cancel_draft_prescriptions(user: User) -> int:
    drafts = db.session.scalars(
        select(Prescription)
        .where(Prescription.patient_id == user.id, Prescription.status == PrescriptionStatus.DRAFT)
        .with_for_update()
    ).all()
    for draft in drafts:
        draft.status = PrescriptionStatus.CANCELLED
        trail.record(
            "prescription.cancel",
            object_type="prescription",
            object_id=draft.public_id,
            details={"reason": "erasure"},
        )
    return len(drafts)


# --------------------------------------------------------------------------- staff


def list_requests(status: str | None, *, limit: int) -> Sequence[ErasureRequest]:
    """Erasure requests, the next purge first (``pending``, ``purged`` or all); audited."""
    query = select(ErasureRequest)
    if status == "pending":
        query = query.where(ErasureRequest.purged_at.is_(None))
    elif status == "purged":
        query = query.where(ErasureRequest.purged_at.is_not(None))
    requests = db.session.scalars(
        query.order_by(ErasureRequest.purge_due_at, ErasureRequest.id).limit(limit)
    ).all()
    trail.record(
        "erasure.list",
        object_type="erasure_request",
        details={"status": status or "all", "count": len(requests)},
    )
    return requests
