"""Lambda: the merged OpenAPI document (/api/openapi.json), Swagger UI (/docs) and ReDoc (/redoc)."""

from agents_meetings.http.app import create_app, lambda_handler
from agents_meetings.http.routers import ALL_ROUTERS, docs

app = create_app("docs", [*ALL_ROUTERS, docs.router], with_docs=True)
handler = lambda_handler(app)
