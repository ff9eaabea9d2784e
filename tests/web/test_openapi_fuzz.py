"""schemathesis against the published OpenAPI document: no request it makes gets a 5xx.

Every operation is called with generated parameters and bodies as the office (the user who
may do the most), on SQLite and PostGIS; an error answer is always a problem document.
Logging out is left out: it would end the session the other calls use (tests/web/test_auth.py
covers it).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.web.conftest import login

MAX_EXAMPLES = 15


def _content_type(response: Any) -> str:
    value = response.headers.get("content-type", "")
    return str(value[0] if isinstance(value, list) else value)


def test_no_request_gets_a_server_error(app: Any) -> None:
    office = login(app, "office1")
    headers = {"X-CSRF-Token": office.csrf}
    cookies = {"gv_session": office.http.cookies.get("gv_session")}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 20
    failures: list[str] = []
    tried = 0
    for op in operations:
        if op.method.upper() == "DELETE" and op.path == "/api/v1/session":
            continue

        @given(case=op.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def call(case: Any) -> None:
            nonlocal tried
            tried += 1
            # A generous timeout: some answers build documents, and the suite runs two
            # workers on two cores (the default 10 s is about speed, not server errors).
            response = case.call(headers=headers, cookies=cookies, timeout=120)
            status = response.status_code
            if status >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path}: {status} {response.text[:300]}"
                )
            elif status >= 400 and not _content_type(response).startswith(
                "application/problem+json"
            ):
                failures.append(f"{case.method} {case.formatted_path}: {status} not a problem")

        call()
    assert tried >= len(operations) * 3
    assert failures == []
