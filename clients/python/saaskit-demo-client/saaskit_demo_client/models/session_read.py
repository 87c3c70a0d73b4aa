from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="SessionRead")


@_attrs_define
class SessionRead:
    """One of the user's login sessions.

    Attributes:
        created_at (datetime.datetime):
        current (bool): True for the session of the token making the request.
        expires_at (datetime.datetime):
        id (str):
        ip (None | str):
        last_used_at (datetime.datetime):
        user_agent (None | str):
        impersonated_by (int | None | Unset): The superuser acting as you in this session (an impersonation for
            support), or null for your own logins.
    """

    created_at: datetime.datetime
    current: bool
    expires_at: datetime.datetime
    id: str
    ip: None | str
    last_used_at: datetime.datetime
    user_agent: None | str
    impersonated_by: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        current = self.current

        expires_at = self.expires_at.isoformat()

        id = self.id

        ip: None | str
        ip = self.ip

        last_used_at = self.last_used_at.isoformat()

        user_agent: None | str
        user_agent = self.user_agent

        impersonated_by: int | None | Unset
        if isinstance(self.impersonated_by, Unset):
            impersonated_by = UNSET
        else:
            impersonated_by = self.impersonated_by

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "current": current,
                "expires_at": expires_at,
                "id": id,
                "ip": ip,
                "last_used_at": last_used_at,
                "user_agent": user_agent,
            }
        )
        if impersonated_by is not UNSET:
            field_dict["impersonated_by"] = impersonated_by

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        current = d.pop("current")

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        id = d.pop("id")

        def _parse_ip(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        ip = _parse_ip(d.pop("ip"))

        last_used_at = datetime.datetime.fromisoformat(d.pop("last_used_at"))

        def _parse_user_agent(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        user_agent = _parse_user_agent(d.pop("user_agent"))

        def _parse_impersonated_by(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        impersonated_by = _parse_impersonated_by(d.pop("impersonated_by", UNSET))

        session_read = cls(
            created_at=created_at,
            current=current,
            expires_at=expires_at,
            id=id,
            ip=ip,
            last_used_at=last_used_at,
            user_agent=user_agent,
            impersonated_by=impersonated_by,
        )

        session_read.additional_properties = d
        return session_read

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
