"""A tenant's clients and catalog items as the host keeps them, and the
list rules both providers share (docs/host.md, "Clients and services").

Search is a case-insensitive substring match: the text and the searched
fields are lower-cased here in Python (`fold`) and the stores keep the folded
copies, so SQLite and PostgreSQL (whose `lower()` differ outside ASCII) match
exactly the same rows. Lists are ordered by folded name, then id.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_SEARCH_LENGTH = 200


class ItemKind(enum.Enum):
    """WIT `service-item-kind`, by its case names."""

    SERVICE = "service"
    PRODUCT = "product"


class BillingMethod(enum.Enum):
    """WIT `service-billing-method`, by its case names."""

    FIXED = "fixed"
    HOURLY = "hourly"
    USAGE = "usage"


def fold(text: str) -> str:
    """The form search compares: lower case (Python's, on both backends)."""
    return text.lower()


@dataclass(frozen=True, slots=True)
class Client:
    """WIT `client-summary`."""

    client_id: str
    client_name: str
    client_type: str | None = None
    is_inactive: bool = False
    default_currency_code: str | None = None
    account_manager_id: str | None = None
    account_manager_name: str | None = None
    billing_email: str | None = None


@dataclass(frozen=True, slots=True)
class Service:
    """WIT `service-summary`."""

    service_id: str
    service_name: str
    item_kind: ItemKind
    billing_method: BillingMethod
    default_rate: float
    unit_of_measure: str
    is_active: bool
    service_type_id: str | None = None
    service_type_name: str | None = None
    sku: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """Which rows of the ordered matches: the `page`-th run of `size` (1-based)."""

    page: int = 1
    size: int = DEFAULT_PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


@dataclass(frozen=True, slots=True)
class ClientsQuery:
    """`clients-list-input` once checked; `search` None or empty matches all."""

    search: str | None = None
    include_inactive: bool = False
    page: Page = Page()


@dataclass(frozen=True, slots=True)
class ServicesQuery:
    """`services-list-input` once checked; None filters match all."""

    search: str | None = None
    item_kind: ItemKind | None = None
    is_active: bool | None = None
    billing_method: BillingMethod | None = None
    page: Page = Page()


@dataclass(frozen=True, slots=True)
class Listed(Generic[T]):
    """One page of matches and how many match in all."""

    items: tuple[T, ...]
    total_count: int
