# Multi-stage image: build a virtualenv from the lock file, run as a non-root user.
# DATABASE_URL is required here (no embedded PostgreSQL in containers).

FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
COPY requirements.lock pyproject.toml README.md ./
RUN /opt/venv/bin/pip install -r requirements.lock
COPY app ./app
COPY migrations ./migrations
COPY alembic.ini ./
RUN /opt/venv/bin/pip install --no-deps .

FROM python:3.11-slim AS runtime
RUN useradd --system --uid 10001 --home /srv/dossier-stats dossier
WORKDIR /srv/dossier-stats
COPY --from=build /opt/venv /opt/venv
COPY --chown=dossier:dossier alembic.ini ./
COPY --chown=dossier:dossier migrations ./migrations
ENV PATH="/opt/venv/bin:$PATH" HOST=0.0.0.0 PORT=8000 PYTHONUNBUFFERED=1
USER dossier
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/readyz')"
# `serve` runs the migrations, seeds the catalog (existing rows untouched), then uvicorn.
CMD ["sh", "-c", ": \"${DATABASE_URL:?DATABASE_URL must point at PostgreSQL}\" && exec dossier-stats serve"]
