"""The privacy feature's contribution to the kit (off unless ``SAASKIT_PRIVACY__ENABLED``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import ColumnElement

from saaskit.email.rendering import build_link
from saaskit.features import Feature, FeatureHost, FeatureRegistry, read_section
from saaskit.privacy.erasure import (
    RESTORE_EMAIL,
    DeletionService,
    ErasureHook,
    RestoreEmail,
)
from saaskit.privacy.errors import (
    AccountErased,
    DeletionNotFound,
    ExportExpired,
    ExportNotFound,
    ExportNotReady,
    RestoreTokenInvalid,
)
from saaskit.privacy.export import (
    EXPORT_EMAIL,
    EXPORT_TASK,
    ExportReadyEmail,
    ExportService,
)
from saaskit.privacy.exporters import (
    ApiKeysExporter,
    Exporter,
    FeatureExporter,
    InvitationsExporter,
    InvoicesExporter,
    OrganizationsExporter,
    ProfileExporter,
    SessionsExporter,
    TableExporter,
    owned_by_user,
)
from saaskit.privacy.models import PRIVACY_TABLES, AccountDeletionMixin, DataExportMixin
from saaskit.privacy.schemas import PrivacySettings
from saaskit.privacy.storage import ArchiveStorage, LocalStorage
from saaskit.settings import SaaSKitSettings
from saaskit.store import Store
from saaskit.tasks.runner import TaskFunction
from saaskit.tasks.typed import TaskDef
from saaskit.types import ClientInfo

if TYPE_CHECKING:
    from fastapi import APIRouter

__all__ = ["SWEEP_TASK", "PrivacyFeature", "PrivacyService", "Sweep", "SweepResult"]

ACTIONS = (
    "data_export_requested",
    "data_export_downloaded",
    "account_deletion_scheduled",
    "account_deletion_restored",
    "account_erased",
)


@dataclass(frozen=True, slots=True)
class Sweep:
    """The periodic task: expire archives, erase the accounts whose grace period is over."""


SWEEP_TASK = TaskDef("privacy.sweep", Sweep)


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one sweep did."""

    expired_exports: int
    erased_users: list[int]
    failed_deletions: list[int]


class PrivacyKit(FeatureHost, Protocol):
    """What the privacy feature is built from (:class:`saaskit.SaaSKit` has it)."""

    @property
    def store(self) -> Store: ...

    @property
    def features(self) -> FeatureRegistry: ...

    @property
    def users(self) -> Any:
        """The kit's :class:`~saaskit.users.service.UserService`."""
        ...

    @property
    def sessions(self) -> Any:
        """The kit's :class:`~saaskit.auth.sessions.SessionManager`."""
        ...

    @property
    def mailer(self) -> Any:
        """The kit's :class:`~saaskit.email.mailer.Mailer`."""
        ...


class ScheduledDeletion:
    """The users routes' account deleter with privacy on: schedule, never delete at once.

    Set as :attr:`saaskit.users.service.UserService.account_deleter`, so that
    ``DELETE /users/me`` and a superuser's ``DELETE /users/{id}`` take the same path as
    ``POST /privacy/deletion``: deactivated now, erased after the grace. The user's own
    deletion emails a restore link; a superuser's does not (a superuser restores it).
    """

    def __init__(self, deletions: DeletionService) -> None:
        self.deletions = deletions

    async def __call__(self, user_id: int, /, *, actor_id: int | None, client: ClientInfo) -> None:
        """Schedule ``user_id``'s deletion (idempotent; raises ``UserNotFound``)."""
        await self.deletions.schedule(user_id, actor_id=actor_id, client=client)


class PrivacyService:
    """Data exports and account deletion: ``kit.feature(PrivacyFeature)``.

    Attributes:
        exports: requests, builds, downloads and expiry of exports.
        deletions: scheduling, restoring and erasing accounts.
    """

    def __init__(self, exports: ExportService, deletions: DeletionService) -> None:
        self.exports = exports
        self.deletions = deletions
        self.host_exporters: list[Exporter] = []

    def add_exporter(self, exporter: Exporter) -> None:
        """Add a host exporter (its records go in ``<exporter.name>.json``)."""
        self.host_exporters.append(exporter)

    def on_erase(self, name: str, hook: ErasureHook) -> None:
        """Add a host erasure hook (see :data:`~saaskit.privacy.erasure.ErasureHook`)."""
        self.deletions.on_erase(name, hook)

    async def sweep(self, _: Sweep | None = None) -> SweepResult:
        """Expire archives and erase the accounts due (the ``privacy.sweep`` task).

        Schedule it (every hour, say) with the host's scheduler or ``saaskit privacy
        sweep`` in cron; a failed erasure is resumed by the next sweep.
        """
        expired = await self.exports.expire()
        erased, failed = await self.deletions.erase_due()
        return SweepResult(expired, erased, failed)


class PrivacyFeature(Feature[PrivacyService]):
    """Data exports and account deletion with a grace period: ``/api/v1/privacy``.

    Off by default (``SAASKIT_PRIVACY__ENABLED=true``; the tables come with saaskit's
    migrations either way). Pass it to the kit to give code-level options::

        kit = SaaSKit(settings, features=[
            PrivacyFeature(exporters=[NotesExporter()], erasure_hooks={"notes": erase_notes}),
        ])

    Args:
        settings: the section (default: read from ``SAASKIT_PRIVACY__*``).
        storage: where archives go (default: :class:`LocalStorage` in ``storage_dir``).
        exporters: the host's exporters (:class:`~saaskit.privacy.exporters.Exporter`).
        erasure_hooks: the host's erasure hooks, by name.
        clock: now, in UTC (tests move it).
    """

    name = "privacy"
    settings_model = PrivacySettings
    prefix = "/privacy"
    tags = ("privacy",)
    tables = PRIVACY_TABLES
    errors = (
        ExportNotFound,
        ExportNotReady,
        ExportExpired,
        DeletionNotFound,
        RestoreTokenInvalid,
        AccountErased,
    )
    audit_actions = ACTIONS

    def __init__(
        self,
        settings: PrivacySettings | None = None,
        *,
        storage: ArchiveStorage | None = None,
        exporters: Sequence[Exporter] = (),
        erasure_hooks: Mapping[str, ErasureHook] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings  # else read from SAASKIT_PRIVACY__*
        self.storage = storage
        self.host_exporters = list(exporters)
        self.erasure_hooks = dict(erasure_hooks or {})
        self.clock = clock

    def enabled(self, settings: SaaSKitSettings) -> bool:
        """``SAASKIT_PRIVACY__ENABLED`` (default: off)."""
        own = self.settings or read_section(settings, self.name, PrivacySettings)
        return own.enabled

    def production_warnings(self, settings: SaaSKitSettings) -> list[str]:
        """Archives in a local directory, built by Celery workers on other hosts."""
        if self.storage is not None or settings.tasks.backend != "celery":
            return []
        own = self.settings or read_section(settings, self.name, PrivacySettings)
        return [
            f"privacy exports are stored in a local directory ({own.storage_dir}) while "
            "Celery workers build them: unless every worker and API process shares that "
            "directory, downloads will not find the archives; pass "
            "PrivacyFeature(storage=...) a shared storage (docs/privacy.md: an S3 example). "
            "(`saaskit check` reads settings only: ignore this if your code passes one.)"
        ]

    def build(self, kit: FeatureHost) -> PrivacyService:
        """The service, with the kit's exporters and the other features' parts."""
        host = cast(PrivacyKit, kit)
        settings = cast(PrivacySettings, host.feature_settings(self.name))
        tables = host.models.tables
        features = host.features
        clock: dict[str, Any] = {"clock": self.clock} if self.clock is not None else {}
        storage = self.storage or LocalStorage(settings.storage_dir)
        billing = features.built("billing")
        orgs = features.built("orgs")
        api_keys = features.built("api_keys")
        page = settings.export_page_size
        service: PrivacyService

        def exporters() -> list[Exporter]:
            found: list[Exporter] = [
                ProfileExporter(host.users.get),
                SessionsExporter(host.sessions),
            ]
            found += [FeatureExporter(e) for e in features.exporters()]
            if orgs is not None:
                found.append(OrganizationsExporter(tables, host.session_factory))
                found.append(InvitationsExporter(tables, host.users.model, host.session_factory))
            if api_keys is not None:
                found.append(ApiKeysExporter(tables["api_key"], host.session_factory))
            found.append(_table("subscriptions", tables["subscription"], host, page))
            if billing is not None:
                found.append(InvoicesExporter(_Invoices(billing)))
            found.append(_table("ai_usage", tables["ai_usage"], host, page))
            found.append(_table("ai_daily_usage", tables["ai_daily_usage"], host, page))
            member_usage = tables["ai_member_usage"]
            found.append(
                TableExporter(
                    "ai_member_usage",
                    member_usage,
                    host.session_factory,
                    lambda user_id: cast(ColumnElement[bool], member_usage.user_id == user_id),
                    page,
                )
            )
            return found + service.host_exporters

        exports = ExportService(
            table=cast(type[DataExportMixin], tables["data_export"]),
            session_factory=host.session_factory,
            store=host.store,
            storage=storage,
            runner=host.runner,
            settings=settings,
            audit=host.audit,
            exporters=exporters,
            load_user=host.users.get,
            **clock,
        )
        deletions = DeletionService(
            table=cast(type[AccountDeletionMixin], tables["account_deletion"]),
            audit_model=tables["audit_event"],
            session_factory=host.session_factory,
            settings=settings,
            audit=host.audit,
            runner=host.runner,
            users=host.users,
            api_keys=api_keys,
            orgs=orgs,
            billing=billing,
            forget_exports=exports.forget_user,
            erasers=features.erasers,
            **clock,
        )
        service = PrivacyService(exports, deletions)
        # Every way to delete an account now keeps the grace period (and its erasure
        # steps: Stripe, organizations, audit), not only POST /privacy/deletion.
        host.users.account_deleter = ScheduledDeletion(deletions)
        # A ban (a superuser deactivating the account) during the grace period holds.
        host.users.deactivation_steps.append(deletions.mark_deactivated)
        # Re-activating the account during the grace period cancels its deletion.
        host.users.reactivation_steps.append(deletions.cancel_on_reactivation)
        for exporter in self.host_exporters:
            service.add_exporter(exporter)
        for name, hook in self.erasure_hooks.items():
            service.on_erase(name, hook)
        self._mailer = host.mailer
        self._frontend = host.settings.email.frontend_url
        self._settings = settings
        return service

    def tasks(self, service: PrivacyService) -> Mapping[str, TaskFunction]:
        """The export build, its email, the restore email and the sweep."""
        mailer, settings, frontend = self._mailer, self._settings, self._frontend

        async def export_email(p: ExportReadyEmail) -> None:
            link = build_link(frontend, settings.download_path, p.export_id, param="export")
            context = {"link": link, "expires_at": p.expires_at, "name": p.name}
            await mailer.send("privacy_export_ready", p.to, context)

        async def restore_email(p: RestoreEmail) -> None:
            link = build_link(frontend, settings.restore_path, p.token)
            context = {"link": link, "days": p.days, "name": p.name}
            await mailer.send("privacy_deletion_scheduled", p.to, context)

        async def sweep(p: Sweep) -> None:
            await service.sweep(p)

        return {
            EXPORT_TASK.name: EXPORT_TASK.handler(service.exports.build),
            EXPORT_EMAIL.name: EXPORT_EMAIL.handler(export_email),
            RESTORE_EMAIL.name: RESTORE_EMAIL.handler(restore_email),
            SWEEP_TASK.name: SWEEP_TASK.handler(sweep),
        }

    def router(self, kit: FeatureHost, service: PrivacyService | None) -> APIRouter | None:
        """Exports, deletion, restore, and the superuser routes."""
        from saaskit.privacy.router import PrivacyRouterKit, build_privacy_router

        if service is None:
            return None
        return build_privacy_router(cast(PrivacyRouterKit, kit), service.exports, service.deletions)


def _table(name: str, model: type[Any], host: PrivacyKit, page: int) -> TableExporter:
    return TableExporter(name, model, host.session_factory, owned_by_user(model), page)


class _Invoices:
    """The billing feature as an :class:`~saaskit.privacy.exporters.InvoiceSource`."""

    def __init__(self, billing: Any) -> None:
        self.billing = billing

    async def customer_id(self, owner: Any) -> str | None:
        found: str | None = await self.billing.customers.customer_id(owner)
        return found

    async def list_invoices(
        self, customer_id: str, *, limit: int, starting_after: str | None
    ) -> Any:
        return await self.billing.gateway.list_invoices(
            customer_id, limit=limit, starting_after=starting_after
        )
