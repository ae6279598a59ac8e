"""schemathesis against ``/openapi.json``: every ``/api`` operation, a fixed number of
derandomized examples each, sent to the app over the populated test home.

Fails on any server error (5xx) and on any answer that breaks the schema the app publishes
(undocumented status code, wrong content type, a body that does not match its model).  The
figures (cases sent, failures by check) are printed so that a run can be quoted.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from paperscope.store import Store
from paperscope.web.app import create_app
from web_support import SECRET

# Per operation.  Bounded and derandomized: the same cases on every run, a few seconds each.
MAX_EXAMPLES = 60
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _exercise(operation: Any, sent: Counter[str], failures: dict[str, list[str]]) -> None:
    """Send ``operation``'s generated cases; count them and keep what each failure said."""
    label = operation.label

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Case) -> None:
        sent[label] += 1
        response = case.call()
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, FailureGroup) as error:
            failures.setdefault(label, []).append(f"{case.path} {case.query}: {error}"[:600])

    run()


@pytest.mark.slow
def test_api_routes_keep_to_their_schema(web_store: Store) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(web_store, secret_key=SECRET))
    operations = [result.ok() for result in schema.include(path_regex="^/api/").get_all_operations()]
    assert len(operations) >= 6, [op.label for op in operations]
    sent: Counter[str] = Counter()
    failures: dict[str, list[str]] = {}

    for operation in operations:
        _exercise(operation, sent, failures)

    print(f"\nschemathesis: {sum(sent.values())} cases over {len(operations)} operations")
    for label, count in sorted(sent.items()):
        print(f"  {label}: {count} cases, {len(failures.get(label, []))} failures")
    assert not failures, "\n".join(f"{label}: {msgs[0]}" for label, msgs in failures.items())
