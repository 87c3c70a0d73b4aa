"""A host app with its own models, schemas and Alembic history (docs: getting started)."""
