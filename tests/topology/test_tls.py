"""TLS everywhere, with certificates made in the test: PostgreSQL with ``ssl = on`` and
a client certificate, a redis-server that speaks only TLS, and ``saaskit check``
warning in production about every connection that is not encrypted or not verified.

No silent downgrade: the PostgreSQL server here also accepts plaintext, and the Redis
certificate is self-signed; a client that cannot verify the server fails instead of
falling back."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from saaskit import SaaSKitSettings
from saaskit.db.engine import create_engine
from saaskit.settings import StoreSettings
from saaskit.store import StoreUnavailable, create_store
from tests.cli.helpers import STRONG_SECRET, invoke
from tests.topology.certs import Certificates, make_certificates
from tests.topology.postgres import PostgresServer, require_postgres_binaries, scratch_folder
from tests.topology.redis_servers import TLSRedis, require_tls_redis

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    path = scratch_folder()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def certs(folder: Path) -> Certificates:
    files = make_certificates(folder / "certs")
    if os.geteuid() == 0:  # the server keys must belong to the servers' user
        for path in [folder / "certs", *(folder / "certs").iterdir()]:
            shutil.chown(path, "postgres", "postgres")
    return files


@pytest.fixture(scope="module")
def tls_postgres(folder: Path, certs: Certificates) -> Iterator[PostgresServer]:
    """Database ``postgres``: TLS with a client certificate only; ``template1``: TLS
    without one, or plaintext."""
    require_postgres_binaries()
    server = PostgresServer(folder, "tls")
    server.initdb(
        hba=[
            "hostssl postgres all 127.0.0.1/32 cert",
            "hostssl template1 all 127.0.0.1/32 trust",
            "host template1 all 127.0.0.1/32 trust",
        ],
        config={
            "ssl": "on",
            "ssl_cert_file": str(certs.server_cert),
            "ssl_key_file": str(certs.server_key),
            "ssl_ca_file": str(certs.ca),
        },
    )
    server.start()
    yield server
    server.stop("immediate")


@pytest.fixture(scope="module")
def tls_redis(folder: Path, certs: Certificates) -> Iterator[TLSRedis]:
    require_tls_redis()
    server = TLSRedis(folder, certs)
    server.start()
    yield server
    server.stop()


def database_tls(certs: Certificates, ca: Path | None = None) -> dict[str, Any]:
    return {
        "ssl_ca_file": str(ca or certs.ca),
        "ssl_cert_file": str(certs.client_cert),
        "ssl_key_file": str(certs.client_key),
    }


async def connection_security(settings: SaaSKitSettings) -> tuple[Any, ...]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            query = "SELECT ssl, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
            row = (await connection.execute(text(query))).one()
            return tuple(row)
    finally:
        await engine.dispose()


async def test_postgresql_over_tls_verifies_the_server_and_sends_the_client_certificate(
    tls_postgres: PostgresServer, certs: Certificates
) -> None:
    settings = SaaSKitSettings(database_url=tls_postgres.url(), db=database_tls(certs))
    assert await connection_security(settings) == (True, "/CN=postgres")


async def test_a_postgresql_server_that_cannot_be_verified_is_refused_not_downgraded(
    tls_postgres: PostgresServer, certs: Certificates
) -> None:
    # The server would take a plaintext connection; the client never tries one.
    settings = SaaSKitSettings(
        database_url=tls_postgres.url("template1"), db=database_tls(certs, ca=certs.other_ca)
    )
    with pytest.raises(Exception, match="certificate verify failed"):
        await connection_security(settings)


async def test_redis_over_tls_with_a_client_certificate_works(
    tls_redis: TLSRedis, certs: Certificates
) -> None:
    options = StoreSettings(
        prefix="tls-test:",
        tls_ca_file=str(certs.ca),
        tls_cert_file=str(certs.client_cert),
        tls_key_file=str(certs.client_key),
    )
    store = create_store(tls_redis.url, options)
    try:
        await store.put("greeting", b"hello", ttl=60)
        assert await store.get("greeting") == b"hello"
    finally:
        await store.close()


@pytest.mark.parametrize("ca", ["system", "other"])
async def test_a_rediss_url_that_cannot_verify_the_certificate_fails_instead_of_falling_back(
    tls_redis: TLSRedis, certs: Certificates, ca: str
) -> None:
    options = StoreSettings(
        tls_ca_file=str(certs.other_ca) if ca == "other" else None,
        tls_cert_file=str(certs.client_cert),
        tls_key_file=str(certs.client_key),
    )
    store = create_store(tls_redis.url, options)
    try:
        assert await store.ping() is False
        with pytest.raises(StoreUnavailable):
            await store.get("greeting")
    finally:
        await store.close()


def test_certificates_next_to_a_plaintext_redis_url_are_refused(certs: Certificates) -> None:
    with pytest.raises(ValidationError, match="rediss://"):
        SaaSKitSettings(redis_url="redis://cache:6379/0", store={"tls_ca_file": str(certs.ca)})


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("SAASKIT_") and not name.startswith("SAASKIT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def warnings_of_check(env: dict[str, str]) -> list[str]:
    env = {"SAASKIT_ENVIRONMENT": "production", "SAASKIT_SECRET_KEY": STRONG_SECRET, **env}
    result = invoke("check", env=env)
    assert "Traceback" not in result.output
    return [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("warn")]


@pytest.mark.usefixtures("clean_environment")
def test_check_in_production_warns_about_each_connection_that_is_not_encrypted(
    tls_postgres: PostgresServer, tls_redis: TLSRedis
) -> None:
    warnings = warnings_of_check(
        {
            "SAASKIT_DATABASE_URL": tls_postgres.url("template1", "ssl=disable"),
            "SAASKIT_REDIS_URL": "redis://127.0.0.1:1/0",
            "SAASKIT_EMAIL__SMTP_HOST": "smtp.example.com",
            "SAASKIT_EMAIL__SMTP_SECURITY": "none",
        }
    )
    text_ = "\n".join(warnings)
    where = f"postgresql+asyncpg://postgres@127.0.0.1:{tls_postgres.port}/template1"
    assert f"database connection to {where}?ssl=disable is not encrypted" in text_
    assert "is not encrypted; add ?ssl=verify-full" in text_
    assert "redis at redis://127.0.0.1:1/0 is not encrypted (redis://)" in text_
    assert "SMTP to smtp.example.com is not encrypted" in text_


@pytest.mark.usefixtures("clean_environment")
def test_check_in_production_is_quiet_about_verified_tls_connections(
    tls_postgres: PostgresServer, tls_redis: TLSRedis, certs: Certificates
) -> None:
    warnings = warnings_of_check(
        {
            "SAASKIT_DATABASE_URL": tls_postgres.url(),
            "SAASKIT_DB__SSL_CA_FILE": str(certs.ca),
            "SAASKIT_DB__SSL_CERT_FILE": str(certs.client_cert),
            "SAASKIT_DB__SSL_KEY_FILE": str(certs.client_key),
            "SAASKIT_REDIS_URL": tls_redis.url,
            "SAASKIT_STORE__TLS_CA_FILE": str(certs.ca),
            "SAASKIT_STORE__TLS_CERT_FILE": str(certs.client_cert),
            "SAASKIT_STORE__TLS_KEY_FILE": str(certs.client_key),
            "SAASKIT_EMAIL__SMTP_HOST": "smtp.example.com",
        }
    )
    assert not [w for w in warnings if "encrypted" in w or "verif" in w], warnings


@pytest.mark.usefixtures("clean_environment")
def test_check_in_production_warns_about_tls_that_does_not_verify(
    tls_postgres: PostgresServer, tls_redis: TLSRedis
) -> None:
    warnings = warnings_of_check(
        {
            # encrypted (the server takes TLS) but nothing checks whose certificate it is
            "SAASKIT_DATABASE_URL": tls_postgres.url("template1", "ssl=require"),
            "SAASKIT_REDIS_URL": tls_redis.url + "?ssl_cert_reqs=none",
        }
    )
    text_ = "\n".join(warnings)
    assert "is encrypted but the server is not verified (ssl=require)" in text_
    assert "does not verify the server's certificate" in text_
