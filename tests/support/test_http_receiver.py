"""The HTTP receiver test peer: what it records, what it answers, and waiting for a request across threads."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from tests.support.http_receiver import Answer, HttpReceiver
from tests.support.ports import closed_url, free_port


def send(url: str, method: str = "POST", body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers)


def test_records_method_path_headers_and_body_and_answers_json() -> None:
    with HttpReceiver() as rx:
        status, body, _ = send(rx.url("/hook?x=1"), body=b'{"a": 1}', headers={"Content-Type": "application/json",
                                                                                 "X-Token": "t"})
        assert (status, json.loads(body)) == (200, {"ok": True})
        send(rx.url("/item/7"), method="DELETE")
        first, second = rx.requests
        assert (first.method, first.path, first.route, first.json()) == ("POST", "/hook?x=1", "/hook", {"a": 1})
        assert first.headers["X-Token"] == "t" and first.status == 200
        assert (second.method, second.path, second.body) == ("DELETE", "/item/7", b"")
        assert rx.bodies() == [{"a": 1}]


def test_routes_defaults_and_failures() -> None:
    with HttpReceiver() as rx:
        rx.answer(202, "accepted", {"X-Seen": "yes"})
        rx.route("POST", "/token", lambda r: Answer(400 if r.form().get("code") != ["ok"] else 200,
                                                    {"code": r.form().get("code")}))
        rx.fail_next(2, 503)
        assert [send(rx.url("/token"), body=b"code=ok")[0] for _ in range(3)] == [503, 503, 200]
        assert send(rx.url("/token"), body=b"code=bad")[0] == 400
        status, body, headers = send(rx.url("/other"), method="PUT", body=b"x")
        assert (status, body, headers["X-Seen"], headers["Content-Type"]) == (202, b"accepted", "yes",
                                                                              "text/plain; charset=utf-8")
        assert rx.answered == [503, 503, 200, 400, 202]
        assert [r.route for r in rx.received] == ["/token", "/other"]  # the 2xx ones


def test_wait_for_request_across_threads_and_its_timeout() -> None:
    with HttpReceiver() as rx:
        senders = [threading.Thread(target=send, args=(rx.url(f"/n/{i}"),), kwargs={"body": b"{}"})
                   for i in range(8)]
        for t in senders:
            t.start()
        got = rx.wait_for_request(lambda r: r.route == "/n/5", timeout_s=10)
        assert got.method == "POST"
        assert len(rx.wait_for(8, 10)) == 8
        for t in senders:
            t.join(10)
        with pytest.raises(TimeoutError, match="no matching request"):
            rx.wait_for_request(lambda r: r.route == "/never", timeout_s=0.2)


def test_ports() -> None:
    port = free_port()
    assert 0 < port < 65536
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(closed_url(), timeout=5)
