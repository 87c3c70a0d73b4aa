"""Scale-out: two uvicorn processes behind nginx, one PostgreSQL database, one Redis
(a key prefix and Celery queue of this test's own), one Celery worker, the fake Stripe.

Through nginx, 200 users register, log in, refresh, read ``/me``, check out, pay in the
fake Stripe (webhooks delivered through nginx, processed by the worker) and log out.
Afterwards every user and Stripe customer exists exactly once, every subscription is
active, every session is revoked, a rate limit is counted across both processes, and
nginx logged no 5xx.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.migrations import packaged_config, upgrade
from saaskit.models import Subscription, User, WebhookEvent
from saaskit.testing.fake_stripe import FakeStripe
from tests.databases import TEST_DATABASE_URL, scratch_database
from tests.e2e.processes import App, start_app, stop, wait_until
from tests.helpers import PASSWORD, TEST_REDIS_URL, bearer
from tests.ports import free_port
from tests.tasks.celery_support import HostApp, running_worker, smtp_server

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not NGINX, reason="nginx is not installed (Debian package `nginx`)"),
    pytest.mark.skipif(not TEST_REDIS_URL, reason="sharing state needs SAASKIT_TEST_REDIS_URL"),
    pytest.mark.skipif(
        not TEST_DATABASE_URL, reason="two processes on one database need PostgreSQL"
    ),
]

USERS = 200
CONCURRENCY = 20
LOGIN_LIMIT = 5
MODULE = "e2e_app"  # the module start_app serves, and the worker loads
APP_SOURCE = """
import json

from fastapi import FastAPI

from saaskit import SaaSKit, SaaSKitSettings

kit = SaaSKit(SaaSKitSettings(**json.loads({settings!r})))
app = FastAPI(lifespan=kit.lifespan)
kit.install(app)
"""
NGINX_CONF = """
{user}
worker_processes 2;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format upstream '$status $upstream_addr $upstream_status "$request"';
    access_log {folder}/nginx-access.log upstream;
    client_body_temp_path {folder}/nginx-body;
    proxy_temp_path {folder}/nginx-proxy;
    fastcgi_temp_path {folder}/nginx-fastcgi;
    uwsgi_temp_path {folder}/nginx-uwsgi;
    scgi_temp_path {folder}/nginx-scgi;
    upstream saaskit {{
{servers}
        keepalive 32;
        # Below uvicorn's 5 s keep-alive: nginx never reuses a connection uvicorn is closing
        # (a POST on such a connection is a 502 that nginx may not retry).
        keepalive_timeout 4s;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://saaskit;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


def start_nginx(folder: Path, apps: list[App], stack: ExitStack) -> str:
    """nginx in the foreground, as the current user, on a free loopback port."""
    assert NGINX
    port = free_port()
    servers = "\n".join(f"        server {a.url.removeprefix('http://')};" for a in apps)
    # Run as root, nginx would drop its workers to `nobody`, who cannot write here.
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, folder=folder, servers=servers, port=port))
    log = folder / "nginx.out"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [NGINX, "-p", str(folder), "-e", str(folder / "nginx-error.log"), "-c", str(conf)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    stack.callback(stop, process)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, log.read_text() + (folder / "nginx-error.log").read_text()
        try:
            return httpx.get(url + "/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(up, 15, "nginx")
    return url


@pytest.fixture
def shared_database(tmp_path: Path) -> Iterator[str]:
    with scratch_database(tmp_path, "scale") as url:
        upgrade(packaged_config(url))
        yield url


def forget_redis(prefix: str, queue: str) -> None:
    import redis

    if not TEST_REDIS_URL:
        return  # nothing of this test's went to the shared test Redis
    with redis.Redis.from_url(TEST_REDIS_URL) as client:
        keys = [queue, *client.scan_iter(match=f"{prefix}*", count=1000)]
        client.delete(*keys)


async def test_two_processes_behind_nginx_serve_200_users_consistently(
    tmp_path: Path, shared_database: str, fake_stripe: FakeStripe
) -> None:
    await scale_out(tmp_path, fake_stripe, shared_database)


async def scale_out(
    tmp_path: Path, fake_stripe: FakeStripe, database_url: str, **overrides: Any
) -> None:
    """The 200-user scenario through nginx and two app processes with a Celery worker.

    ``overrides`` are more settings (a dict merges into the section it names): the
    full-topology variant (tests/topology) adds read replicas, a Redis Cluster store and
    a broker Redis of its own; without them, store and queue live on the test Redis.
    """
    fake_stripe.add_price("pro_monthly", unit_amount=2000)
    unique = uuid.uuid4().hex[:12]
    prefix, queue = f"test-scale:{unique}:", f"test-scale-{unique}"
    smtp_port = free_port()
    settings: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": TEST_REDIS_URL,
        "secret_key": "scale-out-secret-key-that-is-long-enough-0123456",
        "auth": {"bcrypt_rounds": 4},
        "store": {"prefix": prefix},
        "http": {"trusted_proxies": ["127.0.0.1"]},
        "rate_limit": {
            "register_ip": {"limit": 10_000, "window_seconds": 3600},
            "login_account": {"limit": LOGIN_LIMIT, "window_seconds": 600},
        },
        "tasks": {"backend": "celery", "queue": queue, "retry_backoff": 0.5},
        "email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_security": "none"},
        "billing": fake_stripe.billing_settings(
            plans={"pro": {"price": "pro_monthly"}},
            allowed_redirect_origins=["https://app.example.com"],
            webhook_processing="background",
        ),
    }
    for name, value in overrides.items():
        merge = isinstance(value, dict) and isinstance(settings.get(name), dict)
        settings[name] = {**settings[name], **value} if merge else value
    (tmp_path / f"{MODULE}.py").write_text(APP_SOURCE.format(settings=json.dumps(settings)))
    started = time.monotonic()
    try:
        with ExitStack() as stack:
            mail = stack.enter_context(smtp_server(smtp_port))
            stack.enter_context(running_worker(tmp_path, HostApp(MODULE, queue, prefix)))
            env = {k: v for k, v in os.environ.items() if not k.startswith("SAASKIT_")}
            apps = [start_app(tmp_path, env, f"app-{n}", stack) for n in (1, 2)]
            url = start_nginx(tmp_path, apps, stack)
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                emails = [f"user{i}-{unique}@example.com" for i in range(USERS)]
                journeys = await _journeys(client, fake_stripe, emails)
                limited = await _rate_limit(client, f"limited-{unique}@example.com")
            kit = SaaSKit(SaaSKitSettings(**settings))
            try:
                await _wait_processed(kit, USERS)
                await _check(kit, fake_stripe, emails, journeys)
            finally:
                await kit.aclose()
            # Verification emails go through the Celery worker (one more: the limited user).
            wait_until(lambda: len(mail.delivered) >= USERS + 1, 60, "verification emails")
    finally:
        forget_redis(prefix, queue)

    lines = (tmp_path / "nginx-access.log").read_text().splitlines()
    statuses = Counter(line.split()[0] for line in lines)
    upstreams = Counter(line.split()[1] for line in lines)
    print(
        f"scale-out: {len(lines)} requests through nginx in {time.monotonic() - started:.1f}s;"
        f" statuses {dict(statuses)}; per upstream {dict(upstreams)}"
    )
    assert not [line for line in lines if line.startswith("5")]
    assert all(count > len(lines) / 4 for count in upstreams.values()), upstreams
    assert len(upstreams) == 2
    # The limit is counted in Redis: wrong passwords alternating between the processes
    # hit it after LOGIN_LIMIT attempts in total, not per process.
    assert limited == [401] * LOGIN_LIMIT + [429], limited
    assert len({m.rcpt_tos[0] for m in mail.delivered}) == USERS + 1


async def _journeys(
    client: httpx.AsyncClient, fake: FakeStripe, emails: list[str]
) -> dict[str, dict[str, str]]:
    slots = asyncio.Semaphore(CONCURRENCY)
    tokens: dict[str, dict[str, str]] = {}

    async def journey(email: str) -> None:
        async with slots:
            body = {"email": email, "password": PASSWORD}
            response = await client.post("/api/v1/auth/register", json=body)
            assert response.status_code == 201, response.text
            response = await client.post("/api/v1/auth/login", json=body)
            assert response.status_code == 200, response.text
            old = response.json()
            response = await client.post(
                "/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]}
            )
            assert response.status_code == 200, response.text
            pair = response.json()
            me = await client.get("/api/v1/users/me", headers=bearer(pair["access_token"]))
            assert me.status_code == 200, me.text
            assert me.json()["email"] == email
            checkout = await client.post(
                "/api/v1/billing/create-checkout-session",
                json={"plan": "pro"},
                headers=bearer(pair["access_token"]),
            )
            assert checkout.status_code == 200, checkout.text
            await asyncio.to_thread(fake.complete_checkout, checkout.json()["id"])
            tokens[email] = pair

    await asyncio.wait_for(asyncio.gather(*(journey(e) for e in emails)), 180)
    deliveries = await fake.deliver(client, shuffle=True, seed=200)
    assert {r.status_code for r in deliveries} == {200}

    async def logout(pair: dict[str, str]) -> None:
        async with slots:
            headers = bearer(pair["access_token"])
            response = await client.post("/api/v1/auth/logout", headers=headers)
            assert response.status_code == 204, response.text
            assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 401
            body = {"refresh_token": pair["refresh_token"]}
            assert (await client.post("/api/v1/auth/refresh", json=body)).status_code == 401

    await asyncio.wait_for(asyncio.gather(*(logout(p) for p in tokens.values())), 120)
    return tokens


async def _rate_limit(client: httpx.AsyncClient, email: str) -> list[int]:
    body = {"email": email, "password": PASSWORD}
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
    wrong = {"email": email, "password": "not the password at all"}
    return [
        (await client.post("/api/v1/auth/login", json=wrong)).status_code
        for _ in range(LOGIN_LIMIT + 1)
    ]


async def _wait_processed(kit: SaaSKit[User], users: int) -> None:
    """The worker processes the queued webhook events (at most 90 s)."""
    deadline = time.monotonic() + 90
    while True:
        async with kit.session_factory() as db:
            states = Counter(await db.scalars(select(WebhookEvent.status)))
            active = len(
                list(
                    await db.scalars(select(Subscription.id).where(Subscription.status == "active"))
                )
            )
        if active == users and set(states) == {"processed"}:
            return
        assert time.monotonic() < deadline, (states, active)
        await asyncio.sleep(0.25)


async def _check(
    kit: SaaSKit[User], fake: FakeStripe, emails: list[str], tokens: dict[str, Any]
) -> None:
    async with kit.session_factory() as db:
        users = list(await db.scalars(select(User).where(User.email.in_(emails))))
        subscriptions = list(await db.scalars(select(Subscription)))
    assert sorted(u.email for u in users) == sorted(emails)
    assert len(tokens) == len(emails)
    customers = [c for c in fake.customers() if re.match(r"user\d+-", c["email"])]
    assert sorted(c["id"] for c in customers) == sorted(u.stripe_customer_id or "" for u in users)
    assert len({c["metadata"]["user_id"] for c in customers}) == len(users)
    by_user = Counter(s.user_id for s in subscriptions if s.status == "active")
    assert all(by_user[u.id] == 1 for u in users), by_user
    for user in users:
        assert await kit.sessions.for_user(user.id) == []
