"""Transactional outbox: jobs are handed to RQ only after their input is committed."""
