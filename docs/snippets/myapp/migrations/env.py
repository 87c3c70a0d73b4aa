# migrations/env.py: the whole file. saaskit runs Alembic on the async engine; the URL is
# alembic.ini's sqlalchemy.url if set, else SAASKIT_DATABASE_URL (or .env).
from myapp.models import Base

from saaskit.migrations import run_env

run_env(Base.metadata)
