"""Text of an uploaded material: PDF (pypdf), DOCX (python-docx) and plain text."""

from __future__ import annotations

import io

from agents_meetings.errors import Unprocessable

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEXT = "text/plain"
ALLOWED_TYPES = {PDF: ".pdf", DOCX: ".docx", TEXT: ".txt"}
# Enough for search; a longer document is cut here (its beginning is what is indexed).
MAX_CONTENT_CHARS = 200_000


class ExtractionFailed(Exception):
    """The file is not what its content type says, or cannot be read."""


def extract_text(body: bytes, content_type: str) -> str:
    if content_type not in ALLOWED_TYPES:
        raise Unprocessable(f"Unsupported content type {content_type}.", code="unsupported_content_type")
    try:
        if content_type == PDF:
            text = _pdf(body)
        elif content_type == DOCX:
            text = _docx(body)
        else:
            text = body.decode("utf-8", errors="replace")
    except Exception as exc:
        raise ExtractionFailed(f"{type(exc).__name__}: {exc}") from exc
    return " ".join(text.split())[:MAX_CONTENT_CHARS]


def _pdf(body: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(body))
    parts = []
    size = 0
    for page in reader.pages:
        page_text = page.extract_text() or ""
        parts.append(page_text)
        size += len(page_text)
        if size > MAX_CONTENT_CHARS:
            break
    return "\n".join(parts)


def _docx(body: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(body))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)
