"""Webhook forwarding for the fake Stripe outside pytest (``saaskit fake-stripe``).

Like ``stripe listen --forward-to``: every event the fake emits is POSTed, signed, to
the app's webhook endpoint, in order, from a background thread. An event the app does
not take (it is down, or answers an error) is kept and sent again on the next round.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from saaskit.testing.fake_stripe import FakeStripe

RETRY_SECONDS = 2.0


class WebhookForwarder:
    """POSTs the fake's events to ``url``; :meth:`flush` delivers what is pending now."""

    def __init__(self, fake: FakeStripe, url: str, *, log: bool = True) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.fake = fake
        self.url = url
        self.log = log
        self.delivered: list[str] = []  # event ids the app accepted, in order
        self._deliver_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=10.0)
        self._thread = threading.Thread(target=self._run, name="fake-stripe-webhooks", daemon=True)

    def start(self) -> None:
        """Deliver in the background until :meth:`stop`."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread (pending events stay pending)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        self._client.close()

    def wake(self) -> None:
        """Something changed: deliver soon."""
        self._wake.set()

    def flush(self) -> bool:
        """Deliver every pending event now, in order; ``False`` if one was not accepted."""
        with self._deliver_lock:
            while True:
                events = self.fake.take_events()
                if not events:
                    return True
                for index, event in enumerate(events):
                    if not self._post(event):
                        self._put_back(events[index:])
                        return False

    def _put_back(self, events: list[dict[str, Any]]) -> None:
        with self.fake.state.lock:
            self.fake.state.pending[:0] = events

    def _post(self, event: dict[str, Any]) -> bool:
        body = json.dumps(event).encode()
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": self.fake.sign(body),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks) saaskit-fake",
        }
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            self._say(f"webhook {event['type']} ({event['id']}) not delivered: {error!r}")
            return False
        if response.status_code >= 300:
            self._say(
                f"webhook {event['type']} ({event['id']}) answered {response.status_code}; "
                "sent again later"
            )
            return False
        self.delivered.append(str(event["id"]))
        self._say(f"webhook {event['type']} ({event['id']}) -> {response.status_code}")
        return True

    def _say(self, line: str) -> None:
        if self.log:
            print(line, file=sys.stderr, flush=True)

    def _run(self) -> None:
        wait = None  # until woken; after a failed delivery, RETRY_SECONDS
        while not self._stop.is_set():
            self._wake.wait(wait)
            self._wake.clear()
            if self._stop.is_set():
                return
            wait = None if self.flush() else RETRY_SECONDS
