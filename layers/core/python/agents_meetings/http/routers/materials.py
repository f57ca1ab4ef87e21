"""/api/v1/materials: upload course materials (presigned PUT), then read, list, delete your own."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, Field, StrictInt

from agents_meetings.clock import isoformat_z
from agents_meetings.http.dependencies import DEFAULT_PAGE, Cursor, Limit, MaterialServiceDep, ResourceId
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas import PageOut, PlainLine, PlainText
from agents_meetings.http.security import CurrentPrincipal
from agents_meetings.materials.service import NewMaterial
from agents_meetings.tables import MaterialModel

router = APIRouter(prefix="/api/v1/materials", tags=["materials"])


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


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadOut,
    responses=error_responses(401, 403, 422),
    summary="Register a material and get a presigned upload URL",
)
async def create_material(body: MaterialIn, principal: CurrentPrincipal, service: MaterialServiceDep) -> UploadOut:
    pending = service.create(
        principal.actor,
        NewMaterial(
            title=body.title,
            description=body.description,
            tags=body.tags,
            subject=body.subject,
            filename=body.filename,
            content_type=body.content_type,
            size_bytes=body.size_bytes,
        ),
    )
    return UploadOut(
        material=MaterialOut.of(pending.material), upload_url=pending.upload_url, expires_in=pending.expires_in
    )


@router.post(
    "/{material_id}/complete",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MaterialOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="The upload is done: extract its text and index it",
)
async def complete_upload(
    material_id: ResourceId, principal: CurrentPrincipal, service: MaterialServiceDep
) -> MaterialOut:
    return MaterialOut.of(service.complete(principal.actor, material_id))


@router.get("", response_model=PageOut[MaterialOut], responses=error_responses(400, 401, 403), summary="Your materials")
async def list_materials(
    principal: CurrentPrincipal, service: MaterialServiceDep, limit: Limit = DEFAULT_PAGE, cursor: Cursor = None
) -> PageOut[MaterialOut]:
    page = service.list_mine(principal.actor, limit=limit, cursor=cursor)
    return PageOut[MaterialOut](items=[MaterialOut.of(m) for m in page.items], next_cursor=page.next_cursor)


@router.get("/{material_id}", response_model=MaterialOut, responses=error_responses(401, 403, 404))
async def get_material(
    material_id: ResourceId, principal: CurrentPrincipal, service: MaterialServiceDep
) -> MaterialOut:
    return MaterialOut.of(service.get(principal.actor, material_id))


@router.delete(
    "/{material_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404),
    response_model=None,
)
async def delete_material(material_id: ResourceId, principal: CurrentPrincipal, service: MaterialServiceDep) -> None:
    service.delete(principal.actor, material_id)
