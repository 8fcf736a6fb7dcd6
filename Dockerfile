# One image for every role of the scaled-out topology (docs/deploy.md): API node (`mlc serve`),
# worker (`mlc worker`), the one-shot migration, and the Dask scheduler and workers (which
# import connectors.jobs.dask_tasks and run model code, so they need the project too).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MLC_DATA_ROOTS=/data \
    MLC_MODEL_CACHE=/var/lib/mlc/model-cache

# git: snapshots whose source is a git URL are cloned on the node that runs their jobs. Not
# pinned: Debian's git follows the base image's release, and a pin breaks on each point release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# The dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The project itself, installed in place: `mlc db upgrade` finds alembic/ beside engine/, and
# `mlc deploy processes dmn` the shipped BPMN and DMN files.
COPY alembic ./alembic
COPY engine ./engine
COPY connectors ./connectors
COPY web ./web
COPY mlc ./mlc
COPY processes ./processes
COPY dmn ./dmn
RUN pip install --no-deps -e . \
 && useradd --system --uid 10001 --home-dir /var/lib/mlc --create-home mlc \
 && mkdir -p /data /var/lib/mlc/model-cache \
 && chown -R mlc:mlc /data /var/lib/mlc

USER 10001:10001

# 8080: the REST API (mlc serve); 8786 / 8787: Dask scheduler and its dashboard.
EXPOSE 8080 8786 8787

# A non-loopback address needs MLC_API_TOKEN (mlc serve refuses to start without one).
CMD ["mlc", "serve", "--host", "0.0.0.0", "--port", "8080"]
