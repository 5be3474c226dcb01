"""Resumable photo uploads over tus 1.0.0 (core, creation, expiration and termination).

A phone on a weak signal sends a photo in chunks (PATCH requests); after a dropped
connection it asks for the offset the server holds (HEAD) and continues from there,
so at most the chunk in flight is sent again. When the last byte arrives the upload
is finished by :func:`casebox.cases.operations.add_photo`, the same verb the
multipart route calls, so both paths check, sanitize and store a photo identically.

Where the received bytes live: each PATCH stores what it received (even a request
cut short) as one encrypted object in the object store, ``uploads/<id>/<offset>-<n>``,
and one ``upload_chunks`` row records its offset, size and SHA-256. So partial photos
are encrypted at rest like every original, and any web host can take the next chunk
of an upload that another host began (the database and the object store are shared;
nothing sits on a host's disk). The limits of that choice:

- one object per PATCH: fine for phone-sized chunks (256 KB to a few MB) and photos of
  at most ``CASEBOX_MAX_UPLOAD_BYTES``; the finished photo is assembled in memory, as
  the multipart route also holds it;
- on S3 every chunk is a PUT and finishing reads them all back. For much larger files
  the scale-out path is S3 multipart upload (one part per chunk, completed without
  copying); it needs parts of at least 5 MB, more than a phone on a poor connection
  should risk per request, which is why it is not used here;
- a process killed between writing a chunk object and committing its row leaves that
  object behind (no row names it), as any object write does.

The database transaction is closed while a chunk's body is read from the network, so
a slow phone never holds SQLite's write lock or an idle PostgreSQL transaction.
"""
