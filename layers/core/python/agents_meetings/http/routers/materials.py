"""/api/v1/materials: upload course materials (presigned PUT), then read, list, delete your own."""

from __future__ import annotations

from fastapi import APIRouter, status

from agents_meetings.http.dependencies import DEFAULT_PAGE, Cursor, Limit, MaterialServiceDep, ResourceId
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas import PageOut
from agents_meetings.http.schemas.materials import MaterialIn, MaterialOut, UploadOut
from agents_meetings.http.security import CurrentPrincipal
from agents_meetings.materials.service import NewMaterial

router = APIRouter(prefix="/api/v1/materials", tags=["materials"])


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
