"""RQ job entry points. Each runs inside the worker's app context and commits.

Failures raise, so RQ retries them with backoff; only when no retry is left does
:func:`on_final_failure` record the failure on the case. Nothing here reports
success for work it did not do.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from rq.job import Job

from casebox import services
from casebox.analysis import operations as analysis
from casebox.cases import pipeline
from casebox.database import db, read_only_transaction
from casebox.followups import operations as followups
from casebox.notifications.delivery import deliver_notification
from prescriptions import issuing

log = logging.getLogger(__name__)


def normalize_photo(photo_id: str) -> str | None:
    """Job: derivatives and status for one uploaded photo.

    The first read takes no lock (a read-only transaction); the image work runs outside
    any transaction; the store re-reads the row in a write transaction and checks it.
    """
    with read_only_transaction():
        pending = pipeline.pending_photo(photo_id)
    if pending is None:
        return None
    status = pipeline.store_normalized(pending, pipeline.develop(pending))
    db.session.commit()
    return str(status) if status else None


def process_case(case_id: str) -> str | None:
    """Job: take a submitted case through processing to its review queue.

    Two short write transactions, "processing" first and then the analyses with the
    routing; what the model has to see is read between them without a lock (a
    read-only transaction, which may load the model), and the model runs outside any
    transaction.
    """
    pipeline.start_processing(case_id)
    db.session.commit()  # staff and patient see "processing" while the work runs
    with read_only_transaction():
        waiting = pipeline.photos_to_normalize(case_id)  # normally none
        plan = None if waiting else pipeline.case_analysis_plan(case_id)
    if waiting:
        for photo_id in waiting:
            normalize_photo(photo_id)
        with read_only_transaction():
            plan = pipeline.case_analysis_plan(case_id)
    predictions = analysis.predict(plan) if plan else {}
    status = pipeline.finish_processing(case_id, predictions)
    db.session.commit()
    return str(status) if status else None


def render_prescription_pdf(prescription_id: str) -> str | None:
    """Job: render and sign a newly issued prescription's PDF, once.

    Read without a lock, render and sign outside any transaction, then store it in a
    short write transaction that keeps whichever run finished first.
    """
    with read_only_transaction():
        document = issuing.pdf_to_render(prescription_id)
    if document is None:
        return None
    key = issuing.store_pdf(prescription_id, issuing.make_pdf(document, services.settings()))
    db.session.commit()
    return key


def send_notification(notification_id: str) -> int:
    """Job: send a notice's e-mail and text, each channel at most once (see delivery.py).

    Claims and marks are short writes of their own; sending runs outside any transaction.
    """
    return deliver_notification(notification_id, services.settings())


def follow_up_due(follow_up_id: str, due_at: str | None = None) -> str | None:
    """Job: on a follow-up's due date, pre-create its case and remind the patient, once.

    ``due_at`` is the time it was scheduled for; the database's due time decides.
    """
    case_id = followups.remind(follow_up_id)
    db.session.commit()
    return case_id


def on_final_failure(
    job: Job,
    connection: Any,
    exc_type: type[BaseException],
    exc: BaseException,
    traceback: TracebackType | None,
) -> None:
    """RQ failure callback: once retries are exhausted, mark the case as failed."""
    if job.retries_left:
        return  # RQ will run it again
    db.session.rollback()
    reason = f"{exc_type.__name__} in {(job.func_name or 'job').rsplit('.', 1)[-1]}"
    log.error("job %s failed for good: %s", job.id, reason)
    if case_id := job.kwargs.get("case_id"):
        pipeline.mark_processing_failed(case_id, reason)
    elif photo_id := job.kwargs.get("photo_id"):
        pipeline.mark_photo_unprocessable(photo_id, reason)
    db.session.commit()
