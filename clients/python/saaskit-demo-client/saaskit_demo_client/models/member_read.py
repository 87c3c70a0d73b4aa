from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="MemberRead")


@_attrs_define
class MemberRead:
    """A member of an organization and their role.

    Attributes:
        email (str):
        full_name (None | str):
        joined_at (datetime.datetime):
        role (str):
        user_id (int):
    """

    email: str
    full_name: None | str
    joined_at: datetime.datetime
    role: str
    user_id: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        email = self.email

        full_name: None | str
        full_name = self.full_name

        joined_at = self.joined_at.isoformat()

        role = self.role

        user_id = self.user_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "email": email,
                "full_name": full_name,
                "joined_at": joined_at,
                "role": role,
                "user_id": user_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        email = d.pop("email")

        def _parse_full_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        full_name = _parse_full_name(d.pop("full_name"))

        joined_at = datetime.datetime.fromisoformat(d.pop("joined_at"))

        role = d.pop("role")

        user_id = d.pop("user_id")

        member_read = cls(
            email=email,
            full_name=full_name,
            joined_at=joined_at,
            role=role,
            user_id=user_id,
        )

        member_read.additional_properties = d
        return member_read

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
