"""Schema (sqlmodel), Alembic migrations, engine and repository functions."""
