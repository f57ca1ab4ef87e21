"""Lambda: /api/v1/search, /api/v1/admin/search, /api/v1/materials (search, suggestions, reindex, uploads)."""

from agents_meetings.http.app import create_app, lambda_handler
from agents_meetings.http.routers import materials, search

app = create_app("search", [search.router, search.admin_router, materials.router])
handler = lambda_handler(app)
