from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.page_member_read import PageMemberRead


T = TypeVar("T", bound="AdminOrgDetail")


@_attrs_define
class AdminOrgDetail:
    """An organization with a page of its members (``limit`` / ``offset``).

    Attributes:
        created_at (datetime.datetime):
        id (int):
        member_page (PageMemberRead):
        members (int): How many members it has.
        name (str):
        owners (list[int]): The user ids of its owners.
        slug (str):
    """

    created_at: datetime.datetime
    id: int
    member_page: PageMemberRead
    members: int
    name: str
    owners: list[int]
    slug: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        id = self.id

        member_page = self.member_page.to_dict()

        members = self.members

        name = self.name

        owners = self.owners

        slug = self.slug

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "id": id,
                "member_page": member_page,
                "members": members,
                "name": name,
                "owners": owners,
                "slug": slug,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.page_member_read import PageMemberRead  # noqa: PLC0415

        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        id = d.pop("id")

        member_page = PageMemberRead.from_dict(d.pop("member_page"))

        members = d.pop("members")

        name = d.pop("name")

        owners = cast(list[int], d.pop("owners"))

        slug = d.pop("slug")

        admin_org_detail = cls(
            created_at=created_at,
            id=id,
            member_page=member_page,
            members=members,
            name=name,
            owners=owners,
            slug=slug,
        )

        admin_org_detail.additional_properties = d
        return admin_org_detail

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
