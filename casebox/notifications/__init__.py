"""Notifications: in-app notices for every user, e-mail and text messages for patients.

A notice names what happened (its kind) and where to look (a link path); it never
holds clinical text. E-mails and texts say only that there is a new message, and are
sent by a job after the commit that created the notice, each channel at most once.
"""
