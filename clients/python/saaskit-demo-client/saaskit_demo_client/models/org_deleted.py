from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="OrgDeleted")


@_attrs_define
class OrgDeleted:
    """A deleted organization, and whether its subscription was canceled with it.

    Attributes:
        id (int):
        subscription_canceled (bool): Whether a subscription of the organization was billing and is now canceled at once
            (no refund or proration is made for the rest of its period).
    """

    id: int
    subscription_canceled: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        subscription_canceled = self.subscription_canceled

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "subscription_canceled": subscription_canceled,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        subscription_canceled = d.pop("subscription_canceled")

        org_deleted = cls(
            id=id,
            subscription_canceled=subscription_canceled,
        )

        org_deleted.additional_properties = d
        return org_deleted

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
