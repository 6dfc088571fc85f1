"""The one poll loop: its answer, its two ways of giving up, and the errors the caller chose."""

from __future__ import annotations

import itertools
from http.server import BaseHTTPRequestHandler, HTTPServer
from threading import Thread

import pytest

from streaming.errors import BrokerError, ServiceError
from streaming.infra.wait import http_ok, wait_until


def test_returns_the_first_true_answer_after_polling():
    answers = iter([None, 0, [], ["p0", "p1"], ["later"]])
    calls = itertools.count()

    def ready():
        next(calls)
        return next(answers)

    assert wait_until(ready, timeout_s=5, interval_s=0.001, timed_out=None) == ["p0", "p1"]
    assert next(calls) == 4  # stopped polling at the first true answer


def test_times_out_with_the_callers_error_or_returns_the_false_answer():
    with pytest.raises(BrokerError, match="did not answer"):
        wait_until(
            lambda: False, timeout_s=0.05, interval_s=0.01, timed_out=lambda: BrokerError("did not answer")
        )
    assert wait_until(lambda: 0, timeout_s=0.05, interval_s=0.01, timed_out=None) == 0


def test_a_process_that_stops_ends_the_wait_before_any_timeout():
    alive = iter([True, True, False])
    polled = []

    def ready():
        polled.append(1)
        return False

    with pytest.raises(ServiceError, match="stopped"):
        wait_until(
            ready,
            timeout_s=60,
            interval_s=0.001,
            alive=lambda: next(alive),
            stopped=lambda: ServiceError("stopped while starting"),
            timed_out=lambda: ServiceError("timed out"),
        )
    assert len(polled) == 2


def test_alive_and_stopped_come_together():
    with pytest.raises(AssertionError):
        wait_until(lambda: True, timeout_s=1, alive=lambda: True, timed_out=None)


class _Status(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the standard library's name)
        self.send_response(200 if self.path == "/ok" else 503)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_http_ok_is_true_only_for_200_and_false_when_nothing_listens():
    server = HTTPServer(("127.0.0.1", 0), _Status)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert http_ok(f"{base}/ok") and not http_ok(f"{base}/busy")
    finally:
        server.shutdown()
        server.server_close()
    assert not http_ok(base + "/ok", timeout_s=0.5)
