"""Errors a user is expected to meet.  The CLI prints their message, never a traceback."""

from __future__ import annotations


class PaperscopeError(Exception):
    """Base class: the message says what went wrong, where, and what to do."""


class SourceError(PaperscopeError):
    """A file that cannot be read or whose format is not recognised."""


class NetworkError(PaperscopeError):
    """A source that could not be reached or answered with an error after retries."""


class QueryError(PaperscopeError):
    """A request that cannot be answered as asked (unknown paper id, bad parameter)."""
