"""Bodies of /api/v1/materials."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    BaseModel,
    Field,
    StrictInt,
)

from agents_meetings.clock import isoformat_z
from agents_meetings.http.schemas.common import (
    PlainLine,
    PlainText,
)

if TYPE_CHECKING:
    from agents_meetings.tables import MaterialModel


class MaterialIn(BaseModel):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {
                    "title": "Quadratic equations",
                    "description": "Worksheet for week 3",
                    "tags": ["algebra"],
                    "subject": "mathematics",
                    "filename": "quadratics.pdf",
                    "content_type": "application/pdf",
                    "size_bytes": 120000,
                }
            ]
        },
    }

    title: PlainLine = Field(min_length=1, max_length=200)
    description: PlainText | None = Field(None, max_length=5000)
    tags: list[Annotated[PlainLine, Field(max_length=50)]] = Field(default_factory=list, max_length=20)
    subject: PlainLine | None = Field(None, max_length=100)
    filename: PlainLine = Field(min_length=1, max_length=255)
    content_type: Literal[
        "application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "text/plain"
    ]
    size_bytes: StrictInt = Field(ge=1, description="the file's size; larger than MATERIAL_MAX_BYTES is refused")


class MaterialOut(BaseModel):
    id: str
    title: str
    description: str | None
    tags: list[str]
    subject: str | None
    filename: str
    content_type: str
    size_bytes: int | None
    status: str = Field(description="awaiting_upload, processing, ready or failed")
    error_message: str | None
    created_at: str | None

    @classmethod
    def of(cls, material: MaterialModel) -> MaterialOut:
        return cls(
            id=material.id,
            title=material.title,
            description=material.description,
            tags=list(material.tags or []),
            subject=material.subject,
            filename=material.filename,
            content_type=material.content_type,
            size_bytes=int(material.size_bytes) if material.size_bytes is not None else None,
            status=material.status,
            error_message=material.error_message,
            created_at=isoformat_z(material.created_at),
        )


class UploadOut(BaseModel):
    material: MaterialOut
    upload_url: str = Field(description="PUT the file here with the same Content-Type, then call .../complete")
    upload_method: str = "PUT"
    expires_in: int
