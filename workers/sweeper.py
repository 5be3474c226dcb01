"""The sweeper: re-enqueues work the database says is pending but Redis has lost.

The database is the source of truth. If Redis was flushed or restarted, or a
job vanished, photos stay ``processing`` and cases ``submitted``/``processing``
with no live job; the sweeper hands them to RQ again under the same job ids.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from rq import Queue
from sqlalchemy import select

from casebox import services
from casebox.cases.models import Case, CaseStatus, Photo, PhotoStatus
from casebox.database import db, utcnow
from casebox.followups.operations import reminders_to_schedule
from casebox.notifications.delivery import stuck_notifications
from casebox.outbox.events import (
    CASE_SUBMITTED,
    FOLLOW_UP_SET,
    NOTIFICATION_CREATED,
    PHOTO_UPLOADED,
    PRESCRIPTION_ISSUED,
)
from casebox.uploads.operations import purge_expired_uploads
from prescriptions.models import Prescription
from workers.purge import schedule_daily_purge
from workers.queues import TOPIC_JOBS, enqueue_job, job_is_live, waits_past_its_time

log = logging.getLogger(__name__)


def sweep_stuck_work(queue: Queue) -> int:
    """Re-enqueue stuck photos, cases, prescription PDFs, notices and follow-up reminders.

    Returns how many jobs it handed to RQ. Resumable uploads left unfinished past their
    expiry are removed on the way, and the next daily purge of erased patients is put in
    RQ's scheduler if it is not there (workers.purge; not counted).
    """
    if purge_expired_uploads():
        db.session.commit()
    cutoff = utcnow() - timedelta(seconds=services.settings().stuck_after_seconds)
    photos = db.session.scalars(
        select(Photo.public_id)
        .join(Case, Photo.case_id == Case.id)
        .where(
            Photo.status == PhotoStatus.PROCESSING,
            Photo.created_at < cutoff,
            Case.status != CaseStatus.WITHDRAWN,  # erasure: its jobs stop, nothing to redo
        )
    ).all()
    cases = db.session.scalars(
        select(Case.public_id).where(
            Case.status.in_([CaseStatus.SUBMITTED, CaseStatus.PROCESSING]),
            Case.submitted_at < cutoff,
        )
    ).all()
    unrendered = db.session.scalars(
        select(Prescription.public_id).where(
            Prescription.document.is_not(None),
            Prescription.pdf_key.is_(None),
            Prescription.issued_at < cutoff,
        )
    ).all()
    unsent = stuck_notifications(cutoff)
    reminders = reminders_to_schedule()
    db.session.rollback()  # read-only: release the snapshot before talking to Redis
    work = [(PHOTO_UPLOADED, {"photo_id": p}) for p in photos]
    work += [(CASE_SUBMITTED, {"case_id": c}) for c in cases]
    work += [(PRESCRIPTION_ISSUED, {"prescription_id": p}) for p in unrendered]
    work += [(NOTIFICATION_CREATED, {"notification_id": n}) for n in unsent]
    # Follow-ups waiting for their reminder: scheduled again if RQ lost it, run if due.
    work += [(FOLLOW_UP_SET, {"follow_up_id": f, "due_at": d.isoformat()}) for f, d in reminders]
    enqueued = 0
    for topic, payload in work:
        spec = TOPIC_JOBS[topic]
        job_id = spec.job_id(payload)
        if not job_is_live(queue, job_id) or waits_past_its_time(queue, spec, payload):
            enqueue_job(queue, spec, payload)
            enqueued += 1
    if enqueued:
        log.warning("sweeper re-enqueued %d stuck jobs", enqueued)
    schedule_daily_purge(queue)  # the next purge of erased patients, if Redis lost it
    return enqueued
