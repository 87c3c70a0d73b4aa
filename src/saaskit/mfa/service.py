"""Two-factor authentication rules: enroll, challenge, verify, disable. No HTTP here.

**No replay, no check-then-set.** A TOTP code is accepted by one statement::

    UPDATE mfa_totp_factors SET last_step = :step
     WHERE user_id = :uid AND confirmed_at IS NOT NULL AND last_step < :step

and only if it changed a row. Two requests with the same code race on the row (the
database serializes them) and the loser changes nothing; a code of an older step than
the last accepted one is refused too (RFC 6238 §5.2). A recovery code is spent the same
way (``UPDATE ... SET used_at = now WHERE code_hash = :h AND used_at IS NULL``), and a
login challenge by deleting its store key (:mod:`saaskit.mfa.challenges`).

**The reusable step.** :meth:`MfaService.begin_second_factor` is the auth core's
:class:`~saaskit.auth.service.SecondFactorGate`: every primary login (password, the
OAuth 2.0 token endpoint, and any later one that ends in ``kit.auth.finish_login``)
gets a challenge instead of tokens when the user has 2FA. Two methods turn a challenge
into tokens: :meth:`MfaService.complete_second_factor` (a TOTP or recovery code: the
challenge is spent in the transaction that spends the code, so the loser of a race spends
nothing) and :meth:`MfaService.redeem`, which takes the proof as a callable, so a passkey
used as second factor plugs in (it checks the proof, then spends the challenge).

Code checks are limited per account, per client IP and per challenge (after
``attempts_per_challenge`` wrong codes the challenge is burned).
"""

from __future__ import annotations

import io
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic

from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.auth.schemas import TokenPair
from saaskit.auth.service import AuthService
from saaskit.db.engine import single_statements
from saaskit.exceptions import InactiveUser
from saaskit.features import AuditRecorder
from saaskit.mfa import totp
from saaskit.mfa.challenges import Challenge, ChallengeStore
from saaskit.mfa.errors import (
    MfaAlreadyEnabled,
    MfaChallengeInvalid,
    MfaCodeInvalid,
    MfaEnrollmentMissing,
    MfaNotEnabled,
    MfaUnavailable,
)
from saaskit.mfa.models import RecoveryCodeMixin, TotpFactorMixin
from saaskit.mfa.recovery import new_codes, normalize
from saaskit.mfa.schemas import MfaProof, MfaSettings
from saaskit.mfa.sealing import Sealer, SealError
from saaskit.orgs.service import OrgService
from saaskit.ratelimit import RateLimiter
from saaskit.types import ClientInfo, UserT

__all__ = ["ACTIONS", "MfaService", "MfaState", "SecondFactorCheck", "TotpEnrollment"]

ACTIONS = (
    "mfa_enrollment_started",
    "mfa_enabled",
    "mfa_disabled",
    "mfa_reset",
    "mfa_recovery_codes_regenerated",
    "mfa_recovery_code_used",
    "mfa_verify",
)
"""The feature's audit actions (``mfa_verify`` records failed codes; a success is the
``login`` event, with ``detail.method`` such as ``"password+totp"``)."""

Claim = Callable[[], Awaitable[None]]
"""Spends a login challenge, or raises: run inside the transaction that spends a code."""

SecondFactorCheck = Callable[[int], Awaitable[str]]
"""Proves a second factor of the user whose id it gets; returns the factor's name
(``"totp"``, ``"recovery_code"``, ``"passkey"``) or raises :class:`MfaCodeInvalid`."""

NO_CLIENT = ClientInfo()


@dataclass(frozen=True, slots=True)
class MfaState:
    """Whether a user has 2FA on, since when, and how many recovery codes are left."""

    enabled: bool
    confirmed_at: datetime | None = None
    recovery_codes_remaining: int = 0


@dataclass(frozen=True, slots=True)
class TotpEnrollment:
    """A requested secret, waiting for its first code."""

    secret: str
    otpauth_uri: str
    qr_svg: str | None
    expires_at: datetime


def qr_svg(uri: str) -> str | None:
    """``uri`` as an SVG QR code, or None without the ``qrcode`` extra (``segno``)."""
    try:
        import segno
    except ImportError:
        return None
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", xmldecl=False, scale=4, border=2)
    return buffer.getvalue().decode()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class MfaService(Generic[UserT]):
    """TOTP factors and recovery codes of users, and the login's second step."""

    def __init__(
        self,
        *,
        factor: type[TotpFactorMixin],
        code: type[RecoveryCodeMixin],
        session_factory: async_sessionmaker[AsyncSession],
        auth: AuthService[UserT],
        limiter: RateLimiter,
        audit: AuditRecorder,
        challenges: ChallengeStore,
        sealer: Sealer,
        settings: MfaSettings,
        issuer: str,
        orgs: OrgService | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.factor = factor
        self.code = code
        self.session_factory = session_factory
        self.auth = auth
        self.limiter = limiter
        self.audit = audit
        self.challenges = challenges
        self.sealer = sealer
        self.settings = settings
        self.issuer = issuer
        self.orgs = orgs
        self.clock = clock
        # Autocommit, for the one-statement reads of the login path: no BEGIN / ROLLBACK.
        self._single = single_statements(session_factory)

    # -- reads -------------------------------------------------------------------------

    def enabled_clause(self, user_id: Any) -> Any:
        """SQL: the user ``user_id`` (a value or a column) has a confirmed TOTP factor."""
        f = self.factor
        return exists().where(f.user_id == user_id, f.confirmed_at.is_not(None))

    async def state(self, user_id: int) -> MfaState:
        """The user's 2FA state (one query)."""
        f, c = self.factor, self.code
        remaining = (
            select(func.count()).where(c.user_id == user_id, c.used_at.is_(None)).scalar_subquery()
        )
        async with self.session_factory() as db:
            row = (
                await db.execute(
                    select(f.confirmed_at, remaining).where(
                        f.user_id == user_id, f.confirmed_at.is_not(None)
                    )
                )
            ).first()
        if row is None:
            return MfaState(enabled=False)
        return MfaState(True, _aware(row[0]), int(row[1]))

    # -- enrollment ----------------------------------------------------------------------

    async def begin_enrollment(
        self, user_id: int, account: str, *, client: ClientInfo = NO_CLIENT
    ) -> TotpEnrollment:
        """A new secret for ``user_id`` (replacing a pending one); 2FA is not on yet.

        Raises:
            MfaAlreadyEnabled: the user already has a confirmed factor.
        """
        secret = totp.new_secret()
        f = self.factor
        try:
            async with self.session_factory.begin() as db:
                await db.execute(delete(f).where(f.user_id == user_id, f.confirmed_at.is_(None)))
                await db.execute(
                    insert(f).values(user_id=user_id, secret=self.sealer.seal(secret), last_step=0)
                )
        except IntegrityError:  # a confirmed factor (or a concurrent enrollment) holds the row
            raise MfaAlreadyEnabled() from None
        await self.audit.record(
            "mfa_enrollment_started", actor_id=user_id, target_id=user_id, client=client
        )
        uri = totp.otpauth_uri(secret, account=account, issuer=self.issuer)
        expires = _now() + timedelta(seconds=self.settings.enrollment_ttl_seconds)
        return TotpEnrollment(secret, uri, qr_svg(uri), expires)

    async def confirm_enrollment(
        self, user_id: int, code: str, *, client: ClientInfo = NO_CLIENT
    ) -> list[str]:
        """Turn 2FA on with the first code; returns the recovery codes (shown once).

        Raises:
            MfaEnrollmentMissing: no pending enrollment (or it expired).
            MfaCodeInvalid: the code is wrong.
            RateLimited: too many code checks for the account or the client IP.
        """
        await self._limit(user_id, client)
        f = self.factor
        async with self.session_factory() as db:
            row = (
                await db.execute(
                    select(f.id, f.secret, f.created_at).where(
                        f.user_id == user_id, f.confirmed_at.is_(None)
                    )
                )
            ).first()
        ttl = timedelta(seconds=self.settings.enrollment_ttl_seconds)
        if row is None or _aware(row.created_at) + ttl < _now():
            raise MfaEnrollmentMissing()
        step = totp.match(self._open(row.secret), code, self.clock())
        if step is None:
            await self._failed(user_id, client, "enroll")
            raise MfaCodeInvalid()
        codes = new_codes(self.settings.recovery_codes)
        async with self.session_factory.begin() as db:
            confirmed = await db.execute(
                update(f)
                .where(f.id == row.id, f.confirmed_at.is_(None), f.last_step < step)
                .values(confirmed_at=_now(), last_step=step)
            )
            if confirmed.rowcount != 1:  # type: ignore[attr-defined]
                raise MfaCodeInvalid()  # a concurrent confirmation won
            await self._store_codes(db, user_id, codes)
        await self._limits_passed(user_id)
        await self._changed(user_id)
        await self.audit.record(
            "mfa_enabled",
            actor_id=user_id,
            target_id=user_id,
            client=client,
            detail={"factor": "totp", "recovery_codes": len(codes)},
        )
        return codes

    # -- login -------------------------------------------------------------------------

    async def begin_second_factor(
        self, user: UserT, *, client: ClientInfo = NO_CLIENT, method: str = "password"
    ) -> str | None:
        """A challenge token when ``user`` has 2FA on, else None (the auth core's gate).

        ``kit.auth.finish_login`` calls it for every primary login; a login path that
        does not go through ``finish_login`` must call it itself.
        """
        async with self._single.connect() as connection:
            on = await connection.scalar(select(self.enabled_clause(user.id)))
        if not on:
            return None
        return await self.challenges.issue(user.id, method)

    async def complete_second_factor(
        self, challenge_token: str, proof: MfaProof, *, client: ClientInfo = NO_CLIENT
    ) -> tuple[UserT, TokenPair]:
        """Finish a login with a TOTP code or a recovery code: the token pair.

        Raises:
            MfaChallengeInvalid: the challenge is unknown, expired, spent or burned.
            MfaCodeInvalid: the code is wrong, already used, or the factor is gone.
            RateLimited: too many code checks (account, client IP).
        """
        challenge = await self._live_challenge(challenge_token, client)

        async def claim() -> None:
            # Called inside the transaction that spends the code: the loser of a race for
            # the challenge rolls its code back, so it spends nothing.
            if not await self.challenges.spend(challenge):
                raise MfaChallengeInvalid()  # a concurrent request completed it first

        factor = await self._check_proof(challenge.user_id, proof, client, claim)
        return await self._start(challenge, factor, client)

    async def redeem(
        self, challenge_token: str, check: SecondFactorCheck, *, client: ClientInfo = NO_CLIENT
    ) -> tuple[UserT, TokenPair]:
        """Turn a challenge into a session once ``check`` proved a second factor.

        The one place a challenge becomes tokens: TOTP and recovery codes
        (:meth:`complete_second_factor`) and any later factor (a passkey) pass their own
        ``check``. The session, refresh token, ``login`` audit event (``detail.method``
        like ``"password+totp"``) and ``after_login`` hooks are those of a plain login
        (``kit.auth.start_session``).

        ``check`` runs before the challenge is spent: what it spends, it spends even for
        the loser of a race for the challenge. TOTP and recovery codes do not go through
        here (:meth:`complete_second_factor` spends the challenge inside the code's
        transaction, so the loser's code stays unspent).
        """
        challenge = await self._live_challenge(challenge_token, client)
        factor = await check(challenge.user_id)
        if not await self.challenges.spend(challenge):
            raise MfaChallengeInvalid()  # a concurrent request completed it first
        return await self._start(challenge, factor, client)

    async def _live_challenge(self, challenge_token: str, client: ClientInfo) -> Challenge:
        """The challenge ``challenge_token`` names, one code attempt counted against it."""
        challenge = await self.challenges.read(challenge_token)
        if challenge is None:
            raise MfaChallengeInvalid()
        await self._limit_challenge(challenge)
        await self._limit(challenge.user_id, client)
        return challenge

    async def _start(
        self, challenge: Challenge, factor: str, client: ClientInfo
    ) -> tuple[UserT, TokenPair]:
        """The session of a spent challenge whose second ``factor`` was proved."""
        await self._limits_passed(challenge.user_id)
        user = await self.auth.users.get(challenge.user_id)
        if user is None or not user.is_active:
            raise InactiveUser()
        tokens = await self.auth.start_session(
            user, client=client, method=f"{challenge.method}+{factor}"
        )
        return user, tokens

    async def check_proof(
        self, user_id: int, proof: MfaProof, *, client: ClientInfo = NO_CLIENT
    ) -> str:
        """Accept a TOTP code or spend a recovery code of ``user_id``, atomically.

        Returns ``"totp"`` or ``"recovery_code"``. Rate limits are the caller's.

        Raises:
            MfaCodeInvalid: wrong, replayed, spent, or the user has no 2FA.
        """
        return await self._check_proof(user_id, proof, client, None)

    async def _check_proof(
        self, user_id: int, proof: MfaProof, client: ClientInfo, claim: Claim | None
    ) -> str:
        """:meth:`check_proof`, with ``claim`` run in the transaction that spends the code.

        ``claim`` runs after the code was found good, before the commit: raising rolls the
        code back.
        """
        if proof.code is not None:
            if await self._accept_totp(user_id, proof.code, claim):
                return "totp"
        elif proof.recovery_code is not None and await self._spend_recovery_code(
            user_id, proof.recovery_code, client, claim
        ):
            return "recovery_code"
        await self._failed(user_id, client, "totp" if proof.code else "recovery_code")
        raise MfaCodeInvalid()

    # -- changes (re-authenticated) ----------------------------------------------------

    async def disable(
        self,
        user_id: int,
        proof: MfaProof,
        *,
        actor_id: int | None = None,
        client: ClientInfo = NO_CLIENT,
    ) -> None:
        """Turn 2FA off after a valid code (the password is checked by the caller).

        Raises:
            MfaNotEnabled: 2FA is off.
            MfaCodeInvalid: the code is wrong.
        """
        await self._require_on(user_id)
        await self._limit(user_id, client)
        await self.check_proof(user_id, proof, client=client)
        await self._delete(user_id)
        await self._changed(user_id)
        await self.audit.record(
            "mfa_disabled", actor_id=actor_id or user_id, target_id=user_id, client=client
        )

    async def regenerate_codes(
        self, user_id: int, proof: MfaProof, *, client: ClientInfo = NO_CLIENT
    ) -> list[str]:
        """Replace every recovery code after a valid code; returns the new ones.

        Raises:
            MfaNotEnabled: 2FA is off.
            MfaCodeInvalid: the code is wrong.
        """
        await self._require_on(user_id)
        await self._limit(user_id, client)
        await self.check_proof(user_id, proof, client=client)
        codes = new_codes(self.settings.recovery_codes)
        async with self.session_factory.begin() as db:
            await self._store_codes(db, user_id, codes)
        await self.audit.record(
            "mfa_recovery_codes_regenerated",
            actor_id=user_id,
            target_id=user_id,
            client=client,
            detail={"recovery_codes": len(codes)},
        )
        return codes

    async def reset(self, user_id: int, *, actor_id: int, client: ClientInfo = NO_CLIENT) -> bool:
        """Turn a user's 2FA off without a code (a superuser's support action), audited.

        Returns:
            Whether the user had a factor or codes (pending enrollments included).
        """
        had = await self._delete(user_id)
        await self._changed(user_id)
        await self.audit.record(
            "mfa_reset",
            actor_id=actor_id,
            target_id=user_id,
            client=client,
            detail={"had_factor": had},
        )
        return had

    # -- internals -----------------------------------------------------------------------

    def _open(self, sealed: str) -> str:
        try:
            return self.sealer.open(sealed)
        except SealError:
            raise MfaUnavailable() from None

    async def _accept_totp(self, user_id: int, code: str, claim: Claim | None = None) -> bool:
        f = self.factor
        async with self.session_factory() as db:
            sealed = await db.scalar(
                select(f.secret).where(f.user_id == user_id, f.confirmed_at.is_not(None))
            )
        if sealed is None:
            return False
        step = totp.match(self._open(sealed), code, self.clock())
        if step is None:
            return False
        async with self.session_factory.begin() as db:
            accepted = await db.execute(
                update(f)
                .where(f.user_id == user_id, f.confirmed_at.is_not(None), f.last_step < step)
                .values(last_step=step)
            )
            if accepted.rowcount != 1:  # type: ignore[attr-defined]
                return False
            if claim is not None:
                await claim()
        return True

    async def _spend_recovery_code(
        self, user_id: int, code: str, client: ClientInfo, claim: Claim | None = None
    ) -> bool:
        c = self.code
        digest = self.sealer.code_hash(normalize(code))
        async with self.session_factory.begin() as db:
            spent = await db.execute(
                update(c)
                .where(c.user_id == user_id, c.code_hash == digest, c.used_at.is_(None))
                .values(used_at=_now())
            )
            if spent.rowcount != 1:  # type: ignore[attr-defined]
                return False
            if claim is not None:
                await claim()
            remaining = await db.scalar(
                select(func.count()).where(c.user_id == user_id, c.used_at.is_(None))
            )
        await self.audit.record(
            "mfa_recovery_code_used",
            actor_id=user_id,
            target_id=user_id,
            client=client,
            detail={"remaining": int(remaining or 0)},
        )
        return True

    async def _store_codes(self, db: AsyncSession, user_id: int, codes: list[str]) -> None:
        c = self.code
        await db.execute(delete(c).where(c.user_id == user_id))
        await db.execute(
            insert(c),
            [{"user_id": user_id, "code_hash": self.sealer.code_hash(code)} for code in codes],
        )

    async def _delete(self, user_id: int) -> bool:
        async with self.session_factory.begin() as db:
            factors = await db.execute(delete(self.factor).where(self.factor.user_id == user_id))
            codes = await db.execute(delete(self.code).where(self.code.user_id == user_id))
        return bool(factors.rowcount or codes.rowcount)  # type: ignore[attr-defined]

    async def _require_on(self, user_id: int) -> None:
        if not (await self.state(user_id)).enabled:
            raise MfaNotEnabled()

    async def _changed(self, user_id: int) -> None:
        """The user's 2FA changed: drop their cached memberships (organization policy)."""
        if self.orgs is not None and self.orgs.member_mfa is not None:
            await self.orgs.forget_user(user_id)

    async def _failed(self, user_id: int, client: ClientInfo, factor: str) -> None:
        await self.audit.record(
            "mfa_verify",
            outcome="failure",
            target_id=user_id,
            client=client,
            detail={"factor": factor},
        )

    async def count_attempt(self, user_id: int, client: ClientInfo = NO_CLIENT) -> None:
        """Count one code attempt against the account's (and the IP's) 2FA limits.

        For another front door that checks codes with :meth:`check_proof` (the admin
        console's login): the same budget as ``POST /mfa/verify``.

        Raises:
            RateLimited: over ``attempts_per_account`` or ``attempts_per_ip``.
        """
        await self._limit(user_id, client)

    async def attempt_passed(self, user_id: int) -> None:
        """A right code clears the account's count (see :meth:`count_attempt`)."""
        await self._limits_passed(user_id)

    async def _limit(self, user_id: int, client: ClientInfo) -> None:
        message = "Too many code attempts; try again later."
        await self.limiter.hit_limit(
            "mfa_account", self.settings.attempts_per_account, str(user_id), message
        )
        await self.limiter.hit_limit("mfa_ip", self.settings.attempts_per_ip, client.ip, message)

    async def _limits_passed(self, user_id: int) -> None:
        """A right code clears the account's count (like a right password does)."""
        await self.limiter.reset_limit("mfa_account", str(user_id))

    async def _limit_challenge(self, challenge: Challenge) -> None:
        """Burn a challenge after ``attempts_per_challenge`` codes (even with limits off)."""
        if await self.challenges.attempt(challenge) > self.settings.attempts_per_challenge:
            await self.challenges.spend(challenge)  # the client logs in again
            raise MfaChallengeInvalid()
