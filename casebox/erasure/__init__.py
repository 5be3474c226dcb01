"""Patient erasure: a request stops all processing at once; a scheduled purge deletes the
records once the clinic's retention period has passed."""
