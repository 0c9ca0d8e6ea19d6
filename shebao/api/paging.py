"""Page-numbered lists: `?page=1&page_size=50` → {items, count, page, pages}."""

from __future__ import annotations

import math
from typing import Any

from django.db.models import QuerySet
from ninja import Schema
from pydantic import create_model

MAX_PAGE_SIZE = 200
_pages: dict[type, type[Schema]] = {}


def page_of(item: type[Schema]) -> type[Schema]:
    """The response schema of a page of `item`."""
    if item not in _pages:
        name = item.__name__.removesuffix("Out") + "Page"
        items_type: Any = list[item]  # type: ignore[valid-type]
        _pages[item] = create_model(
            name,
            __base__=Schema,
            items=(items_type, ...),
            count=(int, ...),
            page=(int, ...),
            pages=(int, ...),
        )
    return _pages[item]


def paginate(queryset: QuerySet[Any], page: int, page_size: int) -> dict[str, Any]:
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    count = queryset.count()
    pages = max(1, math.ceil(count / page_size))
    page = max(1, page)
    offset = (page - 1) * page_size
    return {
        "items": list(queryset[offset : offset + page_size]),
        "count": count,
        "page": page,
        "pages": pages,
    }
