"""Checking an applicant's photo against the national card specification:
JPEG, 358×441 pixels, 24-bit colour (3 components of 8 bits)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from shebao.core.errors import InvalidInput

PHOTO_WIDTH = 358
PHOTO_HEIGHT = 441
PHOTO_MAX_BYTES = 100 * 1024  # the spec's photos are 14-40 KB; leave room, refuse scans
# Start-of-frame markers (baseline, extended, progressive, lossless …) carry the size.
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@dataclass(frozen=True)
class JpegInfo:
    width: int
    height: int
    components: int
    precision: int


def jpeg_info(data: bytes) -> JpegInfo | None:
    """Width, height and colour layout from a JPEG's frame header, or None."""
    if len(data) < 4 or data[:2] != b"\xff\xd8":
        return None
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker in _SOF_MARKERS:
            segment = data[position + 4 : position + 2 + length]
            if len(segment) < 6:
                return None
            return JpegInfo(
                precision=segment[0],
                height=int.from_bytes(segment[1:3], "big"),
                width=int.from_bytes(segment[3:5], "big"),
                components=segment[5],
            )
        if marker == 0xDA:  # start of scan before any frame header
            return None
        position += 2 + length
    return None


def check_photo(data: bytes | None, *, field: str = "photo") -> str:
    """Refuse a photo that does not meet the spec; return its SHA-256."""
    if not data:
        raise InvalidInput(_("A photo is required for a card."), code="photo_missing", field=field)
    if len(data) > PHOTO_MAX_BYTES:
        raise InvalidInput(
            _("The photo is %(size)d KB; at most %(max)d KB is accepted."),
            code="photo_too_large",
            field=field,
            params={"size": len(data) // 1024, "max": PHOTO_MAX_BYTES // 1024},
        )
    info = jpeg_info(data)
    if info is None:
        raise InvalidInput(_("The photo must be a JPEG file."), code="photo_not_jpeg", field=field)
    if (info.width, info.height) != (PHOTO_WIDTH, PHOTO_HEIGHT):
        raise InvalidInput(
            _("The photo is %(width)d×%(height)d pixels; it must be 358×441."),
            code="photo_size",
            field=field,
            params={"width": info.width, "height": info.height},
        )
    if (info.components, info.precision) != (3, 8):
        raise InvalidInput(
            _("The photo must be in 24-bit colour."), code="photo_colour", field=field
        )
    return hashlib.sha256(data).hexdigest()


def sample_photo() -> bytes:
    """A minimal JPEG header of the right size and colour layout (tests, demo).

    Only the frame header matters to the checks; the scan data is a stub.
    """
    frame = (
        bytes([8])
        + PHOTO_HEIGHT.to_bytes(2, "big")
        + PHOTO_WIDTH.to_bytes(2, "big")
        + bytes([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])
    )
    sof = b"\xff\xc0" + (len(frame) + 2).to_bytes(2, "big") + frame
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xda\x00\x02" + b"\x00" * 64 + b"\xff\xd9"
