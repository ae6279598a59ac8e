"""Email digests: subscriptions with double opt-in, digest selection and rendering, SMTP sending.

Modules, one noun each: ``settings`` (SMTP, base URL and secret), ``tokens`` (signed links),
``periods`` (which digest is due when), ``selection`` (which papers), ``render`` (the
messages), ``smtp`` (one SMTP transaction with a commit hook), ``sending`` (the exactly-once
run that cron calls).
"""
