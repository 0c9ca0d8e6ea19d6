"""REST endpoints: card production."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["card production"])
