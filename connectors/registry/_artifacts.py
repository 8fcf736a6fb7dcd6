"""Artifact rows of the registry: versions per (model, environment), and which artifact a
deployment may run with.

The files themselves are kept by :class:`connectors.packages.artifacts.ArtifactStore`; this
module only numbers and records them, so the rule "a runtime of stage PROD accepts only prod
artifacts" lives next to the deployment that it guards.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.db import Database
from engine.errors import ConflictError, NotFoundError, ValidationError

from ._records import ARTIFACT_ENVS, ArtifactRecord
from ._tables import ArtifactRow, ModelRow, RuntimeRow

_RETRIES = 20  # concurrent uploads racing for the same (model, env) version


class ArtifactRefused(ConflictError):
    """A deployment named an artifact its runtime does not accept (a test one on PROD)."""

    code = "artifact_refused"


def artifact_record(row: ArtifactRow) -> ArtifactRecord:
    return ArtifactRecord(id=row.id, model_id=row.model_id, env=row.env, version=row.version,
                          uri=row.uri, content_hash=row.content_hash,
                          size_bytes=row.size_bytes or 0, files=row.files or 0,
                          metadata=dict(row.meta or {}), action=row.action,
                          source_artifact_id=row.source_artifact_id,
                          created_by=row.created_by or "", created_at=row.created_at)


def check_artifact_env(env: str) -> str:
    """``env`` in its canonical spelling, or a ValidationError naming the environments."""
    value = (env or "").strip().lower()
    if value not in ARTIFACT_ENVS:
        raise ValidationError(f"artifact environment must be one of "
                              f"{', '.join(ARTIFACT_ENVS)}, not {env!r}")
    return value


class ArtifactRows:
    """The artifact part of :class:`~connectors.registry.SqlModelRegistry` (a mixin)."""

    db: Database

    def add_artifact(self, model_id: str, env: str, *, uri: str, content_hash: str,
                     size_bytes: int = 0, files: int = 0,
                     metadata: dict[str, Any] | None = None, created_by: str = "",
                     action: str = "uploaded",
                     source_artifact_id: str | None = None) -> ArtifactRecord:
        """Record the next version of the model's artifact in ``env`` (1, 2, ...).

        The model row is locked first (PostgreSQL; SQLite writers queue anyway), so
        concurrent uploads take distinct versions; a unique constraint backs that up.
        """
        env = check_artifact_env(env)
        for attempt in range(_RETRIES):
            try:
                with self.db.write_session() as s:
                    model = s.scalar(select(ModelRow).where(ModelRow.id == model_id)
                                     .with_for_update())
                    if model is None:
                        raise NotFoundError(f"model {model_id!r} not found")
                    version = (s.scalar(select(func.max(ArtifactRow.version)).where(
                        ArtifactRow.model_id == model_id, ArtifactRow.env == env)) or 0) + 1
                    row = ArtifactRow(model_id=model_id, env=env, version=version, uri=uri,
                                      content_hash=content_hash, size_bytes=size_bytes,
                                      files=files, meta=dict(metadata or {}), action=action,
                                      source_artifact_id=source_artifact_id,
                                      created_by=created_by)
                    s.add(row)
                    s.flush()
                    return artifact_record(row)
            except IntegrityError:
                if attempt == _RETRIES - 1:
                    raise ConflictError("could not allocate an artifact version; retry") \
                        from None
        raise AssertionError("unreachable")

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        with self.db.session() as s:
            row = s.get(ArtifactRow, artifact_id)
            if row is None:
                raise NotFoundError(f"artifact {artifact_id!r} not found")
            return artifact_record(row)

    def find_artifact(self, model_id: str, env: str,
                      version: int | None = None) -> ArtifactRecord:
        """Version ``version`` of the model's artifact in ``env`` (the newest when None)."""
        env = check_artifact_env(env)
        query = select(ArtifactRow).where(ArtifactRow.model_id == model_id,
                                          ArtifactRow.env == env)
        query = (query.where(ArtifactRow.version == version) if version is not None
                 else query.order_by(ArtifactRow.version.desc()).limit(1))
        with self.db.session() as s:
            row = s.scalar(query)
            if row is None:
                which = f"version {version}" if version is not None else "any version"
                raise NotFoundError(f"model {model_id!r} has no {env} artifact ({which})")
            return artifact_record(row)

    def list_artifacts(self, model_id: str, env: str | None = None) -> list[ArtifactRecord]:
        """The model's artifacts, oldest first: uploads and promotions in the order they
        happened, which is the artifact history."""
        query = select(ArtifactRow).where(ArtifactRow.model_id == model_id)
        if env is not None:
            query = query.where(ArtifactRow.env == check_artifact_env(env))
        with self.db.session() as s:
            rows = s.scalars(query.order_by(ArtifactRow.created_at, ArtifactRow.env,
                                            ArtifactRow.version)).all()
            return [artifact_record(r) for r in rows]


def deployable_artifact(s: Session, model_id: str, runtime: RuntimeRow,
                        artifact_id: str | None) -> ArtifactRow | None:
    """The artifact a deployment of the model on ``runtime`` runs with.

    Named: it must be the model's, and a prod one when the runtime's stage is PROD. Not named:
    the newest prod artifact on a PROD runtime, the newest test artifact elsewhere, or none
    when the model has none of that environment (the snapshot's own artifact is used, as for
    models that never upload one) — except that a PROD runtime refuses a model that has
    artifacts but no prod one: promote one first.

    Raises:
        NotFoundError: the named artifact does not exist.
        ValidationError: it belongs to another model.
        ArtifactRefused: the runtime is PROD and the artifact is not a prod one.
    """
    prod = runtime.stage == "PROD"
    if artifact_id:
        row = s.get(ArtifactRow, artifact_id)
        if row is None:
            raise NotFoundError(f"artifact {artifact_id!r} not found")
        if row.model_id != model_id:
            raise ValidationError(f"artifact {artifact_id} belongs to another model")
    else:
        row = s.scalar(select(ArtifactRow).where(
            ArtifactRow.model_id == model_id, ArtifactRow.env == ("prod" if prod else "test"))
            .order_by(ArtifactRow.version.desc()).limit(1))
        if row is None and prod and s.scalar(select(func.count()).select_from(ArtifactRow)
                                             .where(ArtifactRow.model_id == model_id)):
            raise ArtifactRefused(f"runtime {runtime.name} is PROD and the model has no prod "
                                  f"artifact: promote a test artifact first "
                                  f"(mlc artifacts promote)")
    if row is not None and prod and row.env != "prod":
        raise ArtifactRefused(f"runtime {runtime.name} is PROD: it accepts only prod "
                              f"artifacts, not {row.env}/{row.version}")
    return row
