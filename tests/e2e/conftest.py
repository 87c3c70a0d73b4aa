"""Browser tests (files named ``*browser*``) must run under ``CI=true``: there, a skip
(no Playwright, no Chromium) is turned into a failure, so CI cannot pass without them.
Locally they skip with the reason."""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def _is_browser_test(path: Any) -> bool:
    return "browser" in os.path.basename(str(path))


def _fail_instead_of_skip(report: Any, what: str) -> None:
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"CI must run the browser test {what}, which skipped: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, None]:
    """A skipped browser test fails under CI."""
    outcome = yield
    if _is_browser_test(item.path):
        _fail_instead_of_skip(outcome.get_result(), item.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    """A browser test module skipped at import (``importorskip``) fails under CI."""
    outcome = yield
    if isinstance(collector, pytest.Module) and _is_browser_test(collector.path):
        _fail_instead_of_skip(outcome.get_result(), collector.nodeid)
