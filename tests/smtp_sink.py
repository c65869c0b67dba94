"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, on a free port, keeping every message it
accepts. Started and stopped by the test (`start()`, `stop()`; `start()` again reuses the port, as
a mail server coming back would).

`shut_down_after(n)`: after accepting n messages the server answers the next DATA with
"421 shutting down" and stops — a deterministic "server goes away mid-send" (stopping it from the
test thread at an arbitrary moment could drop a message the server had stored but not yet
acknowledged, which a real sender would rightly send again).
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        sink = self.sink
        with sink.lock:
            if sink.refusing or (sink.stop_after is not None and len(sink.messages) >= sink.stop_after):
                # Refuse before storing: the sender sees the failure, so nothing stored is unacknowledged.
                if not sink.refusing:
                    sink.refusing, sink.stop_after = True, None
                    threading.Thread(target=sink.stop, daemon=True).start()
                return "421 4.3.2 Service shutting down"
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            sink.messages.append(message)
            sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 Message accepted for delivery"


class SmtpSink:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list = []
        self.envelopes: list = []
        self.lock = threading.Lock()
        self.stop_after: int | None = None
        self.refusing = False
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.controller is not None

    def start(self) -> SmtpSink:
        deadline = time.monotonic() + 10
        while True:
            try:
                controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, ready_timeout=5)
                controller.start()
                break
            except (OSError, RuntimeError):
                if time.monotonic() > deadline:  # the port lingers a moment after a stop
                    raise
                time.sleep(0.1)
        self.controller = controller
        self.refusing = False
        return self

    def stop(self) -> None:
        controller = self.controller
        if controller is not None:
            controller.stop()  # returns once the server has stopped listening
            self.controller = None

    def shut_down_after(self, count: int) -> None:
        self.stop_after = count

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m["Message-ID"] for m in self.messages]

    def wait_for(self, count: int, timeout: float = 60, poll=None) -> list:
        """Wait until `count` messages arrived (calling `poll()` between looks), then return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            if poll is not None:
                poll()
            time.sleep(0.2)
        pytest.fail(f"expected {count} e-mails in the SMTP sink, got {len(self.messages)}")

    def to(self, address: str) -> list:
        with self.lock:
            return [m for m in self.messages if address in m["To"]]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


@pytest.fixture
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()
