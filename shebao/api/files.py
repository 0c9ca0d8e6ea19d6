"""Uploaded files in API requests."""

from __future__ import annotations

from typing import IO

from django.utils.translation import gettext_lazy as _
from ninja.files import UploadedFile

from shebao.core.errors import InvalidInput


def uploaded_stream(file: UploadedFile) -> IO[bytes]:
    """The upload as a binary stream, or a clear refusal when it cannot be read."""
    stream = file.file
    if stream is None:
        raise InvalidInput(
            _("The uploaded file could not be read; send it again."),
            code="file_unreadable",
            field="file",
        )
    return stream
