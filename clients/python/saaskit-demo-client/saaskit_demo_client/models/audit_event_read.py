from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.audit_event_read_detail_type_0 import AuditEventReadDetailType0


T = TypeVar("T", bound="AuditEventRead")


@_attrs_define
class AuditEventRead:
    """One audit event as ``GET /audit`` shows it.

    Attributes:
        action (str):
        actor_id (int | None):
        created_at (datetime.datetime):
        detail (AuditEventReadDetailType0 | None):
        id (int):
        ip (None | str):
        outcome (str):
        target_id (int | None):
        user_agent (None | str):
        impersonator_id (int | None | Unset):
    """

    action: str
    actor_id: int | None
    created_at: datetime.datetime
    detail: AuditEventReadDetailType0 | None
    id: int
    ip: None | str
    outcome: str
    target_id: int | None
    user_agent: None | str
    impersonator_id: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.audit_event_read_detail_type_0 import AuditEventReadDetailType0  # noqa: PLC0415

        action = self.action

        actor_id: int | None
        actor_id = self.actor_id

        created_at = self.created_at.isoformat()

        detail: dict[str, Any] | None
        if isinstance(self.detail, AuditEventReadDetailType0):
            detail = self.detail.to_dict()
        else:
            detail = self.detail

        id = self.id

        ip: None | str
        ip = self.ip

        outcome = self.outcome

        target_id: int | None
        target_id = self.target_id

        user_agent: None | str
        user_agent = self.user_agent

        impersonator_id: int | None | Unset
        if isinstance(self.impersonator_id, Unset):
            impersonator_id = UNSET
        else:
            impersonator_id = self.impersonator_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "action": action,
                "actor_id": actor_id,
                "created_at": created_at,
                "detail": detail,
                "id": id,
                "ip": ip,
                "outcome": outcome,
                "target_id": target_id,
                "user_agent": user_agent,
            }
        )
        if impersonator_id is not UNSET:
            field_dict["impersonator_id"] = impersonator_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.audit_event_read_detail_type_0 import AuditEventReadDetailType0  # noqa: PLC0415

        d = dict(src_dict)
        action = d.pop("action")

        def _parse_actor_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        actor_id = _parse_actor_id(d.pop("actor_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_detail(data: object) -> AuditEventReadDetailType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                detail_type_0 = AuditEventReadDetailType0.from_dict(data)

                return detail_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AuditEventReadDetailType0 | None, data)

        detail = _parse_detail(d.pop("detail"))

        id = d.pop("id")

        def _parse_ip(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        ip = _parse_ip(d.pop("ip"))

        outcome = d.pop("outcome")

        def _parse_target_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        target_id = _parse_target_id(d.pop("target_id"))

        def _parse_user_agent(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        user_agent = _parse_user_agent(d.pop("user_agent"))

        def _parse_impersonator_id(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        impersonator_id = _parse_impersonator_id(d.pop("impersonator_id", UNSET))

        audit_event_read = cls(
            action=action,
            actor_id=actor_id,
            created_at=created_at,
            detail=detail,
            id=id,
            ip=ip,
            outcome=outcome,
            target_id=target_id,
            user_agent=user_agent,
            impersonator_id=impersonator_id,
        )

        audit_event_read.additional_properties = d
        return audit_event_read

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
