"""HTTP edge: the FastAPI app factory, error shape, authentication dependency, schemas and routers."""
