"""The Daily Papers web app and JSON API (FastAPI + Jinja2).  See :mod:`paperscope.web.app`."""
