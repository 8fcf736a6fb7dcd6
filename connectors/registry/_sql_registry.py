"""The model registry kept in the project's own database (the embedded default)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.db import Database, utcnow
from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.ids import resolve_id, row_by_id

from ._artifacts import ArtifactRows, deployable_artifact
from ._interface import SNAPSHOT_CREATED_SIGNAL, SignalPublisher
from ._records import (
    ASSET_ROLES,
    METHODOLOGIES,
    STAGES,
    AssetRecord,
    DeploymentRecord,
    ModelRecord,
    RuntimeRecord,
    SnapshotRecord,
)
from ._runtime_engines import check_runtime_engine
from ._tables import AssetRow, DeployedModelRow, ModelRow, RuntimeRow, SnapshotRow

log = logging.getLogger(__name__)

_RETRIES = 5  # concurrent writers racing for the same unique version / active key


def model_record(row: ModelRow) -> ModelRecord:
    return ModelRecord(id=row.id, name=row.name, methodology=row.methodology,
                       description=row.description or "", owner=row.owner or "",
                       created_at=row.created_at)


def asset_record(row: AssetRow) -> AssetRecord:
    return AssetRecord(id=row.id, snapshot_id=row.snapshot_id, role=row.role, uri=row.uri,
                       format=row.format, version=row.version, created_at=row.created_at)


def runtime_record(row: RuntimeRow) -> RuntimeRecord:
    return RuntimeRecord(id=row.id, name=row.name, stage=row.stage,
                         service_tags=tuple(row.service_tags or ()),
                         endpoints=tuple(row.endpoints or ()), engine=row.engine or "local",
                         scheduler=row.scheduler, created_at=row.created_at)


def deployment_record(row: DeployedModelRow) -> DeploymentRecord:
    return DeploymentRecord(id=row.id, snapshot_id=row.snapshot_id, model_id=row.model_id,
                            runtime_id=row.runtime_id, mode=row.mode, state=row.state,
                            deployed_at=row.deployed_at, retired_at=row.retired_at,
                            artifact_id=row.artifact_id)


def _stage(stage: str) -> str:
    value = (stage or "").strip().upper()
    if value not in STAGES:
        raise ValidationError(f"stage must be one of {', '.join(STAGES)}, not {stage!r}")
    return value


class SqlModelRegistry(ArtifactRows):
    """:class:`~connectors.registry.ModelRegistry` on SQLAlchemy tables.

    Args:
        db: the project's database.
        signals: broadcasts ``mlc.snapshot.created`` after a snapshot commits; None = silent.
    """

    def __init__(self, db: Database, signals: SignalPublisher | None = None) -> None:
        self.db = db
        self.signals = signals

    # -- models ---------------------------------------------------------------------------

    def register_model(self, name: str, methodology: str, *, description: str = "",
                       owner: str = "") -> ModelRecord:
        name = (name or "").strip()
        if not name:
            raise ValidationError("a model needs a name")
        methodology = (methodology or "").strip().lower()
        if methodology not in METHODOLOGIES:
            raise ValidationError(
                f"methodology must be one of {', '.join(METHODOLOGIES)}, not {methodology!r}")
        try:
            with self.db.write_session() as s:
                row = ModelRow(name=name, methodology=methodology, description=description,
                               owner=owner)
                s.add(row)
                s.flush()
                return model_record(row)
        except IntegrityError as exc:
            raise ConflictError(f"a model named {name!r} already exists") from exc

    def get_model(self, model_id_or_name: str) -> ModelRecord:
        with self.db.session() as s:
            return model_record(self._model_row(s, model_id_or_name))

    def list_models(self) -> list[ModelRecord]:
        with self.db.session() as s:
            rows = s.scalars(select(ModelRow).order_by(ModelRow.name)).all()
            return [model_record(r) for r in rows]

    @staticmethod
    def _model_row(s: Session, model_id_or_name: str) -> ModelRow:
        row = s.scalar(select(ModelRow).where(ModelRow.name == model_id_or_name))
        return row or row_by_id(s, ModelRow, ModelRow.id, model_id_or_name, "model")

    # -- snapshots ------------------------------------------------------------------------

    def create_snapshot(self, model_id: str, source: str, *, tags: Iterable[str] = (),
                        stage: str = "DEV", service_tag: str | None = None,
                        metadata: dict[str, Any] | None = None,
                        dmn_decision_key: str | None = None,
                        monitors: Iterable[str] = (),
                        expiration_date: datetime | None = None,
                        schedules: Iterable[Any] = (),
                        assets: Iterable[dict[str, Any]] = ()) -> SnapshotRecord:
        """Create the model's next snapshot, then broadcast ``mlc.snapshot.created``.

        The signal goes out only after the commit, so a process it starts always finds the
        snapshot. A failing broadcast is logged, not raised: the snapshot exists either way and
        a retry by the caller would create a duplicate version.
        """
        if not (source or "").strip():
            raise ValidationError("a snapshot needs a source (model folder or git_uri#subdir)")
        stage = _stage(stage)
        asset_specs = [dict(a) for a in assets]
        for spec in asset_specs:
            self._check_role(spec.get("role", ""))
            if not spec.get("uri"):
                raise ValidationError("an asset needs a uri")
        for attempt in range(_RETRIES):
            try:
                with self.db.write_session() as s:
                    model = self._model_row(s, model_id)
                    version = (s.scalar(select(func.max(SnapshotRow.version))
                                        .where(SnapshotRow.model_id == model.id)) or 0) + 1
                    row = SnapshotRow(
                        model_id=model.id, version=version, source=source.strip(),
                        tags=list(dict.fromkeys(tags)), stage=stage, service_tag=service_tag,
                        meta=dict(metadata or {}), dmn_decision_key=dmn_decision_key,
                        monitors=list(dict.fromkeys(monitors)),
                        expiration_date=expiration_date, schedules=list(schedules),
                        test_results={})
                    s.add(row)
                    s.flush()
                    for spec in asset_specs:
                        s.add(AssetRow(snapshot_id=row.id, role=spec["role"], uri=spec["uri"],
                                       format=spec.get("format"), version=1))
                    s.flush()
                    snapshot = self._snapshot_record(s, row)
                break
            except IntegrityError:
                if attempt == _RETRIES - 1:
                    raise ConflictError("could not allocate a snapshot version; retry") from None
        if self.signals is not None:
            try:
                self.signals.signal(SNAPSHOT_CREATED_SIGNAL,
                                    {"MODEL_ID": snapshot.model_id, "SNAPSHOT_ID": snapshot.id})
            except Exception:  # noqa: BLE001 - see docstring
                log.exception("snapshot %s created but signal %s failed", snapshot.id,
                              SNAPSHOT_CREATED_SIGNAL)
        return snapshot

    def get_snapshot(self, snapshot_id: str) -> SnapshotRecord:
        with self.db.session() as s:
            return self._snapshot_record(s, self._snapshot_row(s, snapshot_id))

    def list_snapshots(self, model_id: str) -> list[SnapshotRecord]:
        with self.db.session() as s:
            model = self._model_row(s, model_id)
            rows = s.scalars(select(SnapshotRow).where(SnapshotRow.model_id == model.id)
                             .order_by(SnapshotRow.version)).all()
            return [self._snapshot_record(s, r) for r in rows]

    @staticmethod
    def _snapshot_row(s: Session, snapshot_id: str, *, for_update: bool = False) -> SnapshotRow:
        query = select(SnapshotRow).where(
            SnapshotRow.id == resolve_id(s, SnapshotRow.id, snapshot_id, "snapshot"))
        if for_update:
            query = query.with_for_update()
        row = s.scalar(query)
        if row is None:
            raise NotFoundError(f"snapshot {snapshot_id!r} not found")
        return row

    @staticmethod
    def _snapshot_record(s: Session, row: SnapshotRow) -> SnapshotRecord:
        assets = s.scalars(select(AssetRow).where(AssetRow.snapshot_id == row.id)
                           .order_by(AssetRow.role, AssetRow.version)).all()
        return SnapshotRecord(
            id=row.id, model_id=row.model_id, version=row.version, source=row.source,
            tags=tuple(row.tags or ()), stage=row.stage, service_tag=row.service_tag,
            metadata=dict(row.meta or {}), dmn_decision_key=row.dmn_decision_key,
            monitors=tuple(row.monitors or ()), expiration_date=row.expiration_date,
            schedules=tuple(row.schedules or ()), test_results=dict(row.test_results or {}),
            model_tests=dict(row.model_tests or {}), assets=tuple(asset_record(a) for a in assets), created_at=row.created_at)

    @staticmethod
    def _check_role(role: str) -> None:
        if role not in ASSET_ROLES:
            raise ValidationError(f"asset role must be one of {', '.join(ASSET_ROLES)}, "
                                  f"not {role!r}")

    def add_asset(self, snapshot_id: str, role: str, uri: str,
                  format: str | None = None) -> AssetRecord:
        """Attach an asset; a second asset of the same role becomes its next version."""
        self._check_role(role)
        if not uri:
            raise ValidationError("an asset needs a uri")
        with self.db.write_session() as s:
            self._snapshot_row(s, snapshot_id, for_update=True)
            version = (s.scalar(select(func.max(AssetRow.version)).where(
                AssetRow.snapshot_id == snapshot_id, AssetRow.role == role)) or 0) + 1
            row = AssetRow(snapshot_id=snapshot_id, role=role, uri=uri, format=format,
                           version=version)
            s.add(row)
            s.flush()
            return asset_record(row)

    # -- governance bookkeeping on a snapshot ---------------------------------------------

    def add_monitors(self, snapshot_id: str, monitors: Sequence[str]) -> list[str]:
        """Add the monitors the snapshot lacks; return only those that were added."""
        with self.db.write_session() as s:
            row = self._snapshot_row(s, snapshot_id, for_update=True)
            current = list(row.monitors or [])
            added = [m for m in dict.fromkeys(monitors) if m not in current]
            if added:
                row.monitors = current + added
            return added

    def set_expiration(self, snapshot_id: str, expiration: datetime) -> SnapshotRecord:
        with self.db.write_session() as s:
            row = self._snapshot_row(s, snapshot_id, for_update=True)
            row.expiration_date = expiration
            s.flush()
            return self._snapshot_record(s, row)

    def set_schedules(self, snapshot_id: str, schedules: Sequence[Any]) -> SnapshotRecord:
        with self.db.write_session() as s:
            row = self._snapshot_row(s, snapshot_id, for_update=True)
            row.schedules = list(schedules)
            s.flush()
            return self._snapshot_record(s, row)

    def record_test_results(self, snapshot_id: str,
                            results: dict[str, Any]) -> SnapshotRecord:
        with self.db.write_session() as s:
            row = self._snapshot_row(s, snapshot_id, for_update=True)
            row.test_results = dict(results)
            s.flush()
            return self._snapshot_record(s, row)

    def record_model_tests(self, snapshot_id: str,
                           report: dict[str, Any]) -> SnapshotRecord:
        """Keep the report of the model's own tests (``test_model.py``) on the snapshot."""
        with self.db.write_session() as s:
            row = self._snapshot_row(s, snapshot_id, for_update=True)
            row.model_tests = dict(report)
            s.flush()
            return self._snapshot_record(s, row)

    # -- runtimes -------------------------------------------------------------------------

    def add_runtime(self, name: str, stage: str, *, service_tags: Iterable[str] = (),
                    endpoints: Iterable[str] = (), engine: str = "local",
                    scheduler: str | None = None) -> RuntimeRecord:
        if not (name or "").strip():
            raise ValidationError("a runtime needs a name")
        stage = _stage(stage)
        endpoints = list(endpoints)
        engine, scheduler = check_runtime_engine(engine, scheduler, endpoints)
        try:
            with self.db.write_session() as s:
                row = RuntimeRow(name=name.strip(), stage=stage,
                                 service_tags=list(dict.fromkeys(service_tags)),
                                 endpoints=endpoints, engine=engine, scheduler=scheduler)
                s.add(row)
                s.flush()
                return runtime_record(row)
        except IntegrityError as exc:
            raise ConflictError(f"a runtime named {name!r} already exists") from exc

    def get_runtime(self, runtime_id_or_name: str) -> RuntimeRecord:
        with self.db.session() as s:
            row = s.scalar(select(RuntimeRow).where(RuntimeRow.name == runtime_id_or_name))
            return runtime_record(row or row_by_id(
                s, RuntimeRow, RuntimeRow.id, runtime_id_or_name, "runtime"))

    def list_runtimes(self) -> list[RuntimeRecord]:
        with self.db.session() as s:
            rows = s.scalars(select(RuntimeRow).order_by(RuntimeRow.created_at.desc(),
                                                         RuntimeRow.name)).all()
            return [runtime_record(r) for r in rows]

    def match_runtimes(self, stage: str, service_tag: str | None) -> list[RuntimeRecord]:
        """Runtimes of ``stage`` carrying ``service_tag`` (any when None), most recent first.

        Tags are compared in Python: JSON containment differs between SQLite and PostgreSQL,
        and a registry holds few runtimes.
        """
        stage = _stage(stage)
        return [r for r in self.list_runtimes()
                if r.stage == stage and (service_tag is None or service_tag in r.service_tags)]

    # -- deployments ----------------------------------------------------------------------

    def deploy(self, snapshot_id: str, runtime_id: str, *,
               idempotency_key: str | None = None,
               artifact_id: str | None = None) -> DeploymentRecord:
        """Deploy a snapshot (batch when the runtime has no endpoints, online otherwise),
        with the uploaded artifact :func:`~connectors.registry._artifacts.deployable_artifact`
        picks (a PROD runtime takes only prod artifacts).

        The model's live deployment on that runtime, if any, is retired in the same
        transaction; the unique active key makes a concurrent second deploy retry, not double.

        Raises:
            ArtifactRefused: a test artifact for a PROD runtime (nothing is deployed).
        """
        for attempt in range(_RETRIES):
            try:
                with self.db.write_session() as s:
                    if idempotency_key:
                        done = s.scalar(select(DeployedModelRow).where(
                            DeployedModelRow.idempotency_key == idempotency_key))
                        if done is not None:
                            return deployment_record(done)
                    snapshot = self._snapshot_row(s, snapshot_id)
                    runtime = s.get(RuntimeRow, runtime_id)
                    if runtime is None:
                        raise NotFoundError(f"runtime {runtime_id!r} not found")
                    artifact = deployable_artifact(s, snapshot.model_id, runtime, artifact_id)
                    active_key = f"{snapshot.model_id}:{runtime.id}"
                    now = utcnow()
                    for old in s.scalars(select(DeployedModelRow).where(
                            DeployedModelRow.active_key == active_key)).all():
                        old.state, old.retired_at, old.active_key = "retired", now, None
                    s.flush()
                    row = DeployedModelRow(
                        snapshot_id=snapshot.id, model_id=snapshot.model_id,
                        runtime_id=runtime.id, mode="online" if runtime.endpoints else "batch",
                        state="deployed", active_key=active_key,
                        idempotency_key=idempotency_key, deployed_at=now,
                        artifact_id=artifact.id if artifact is not None else None)
                    s.add(row)
                    s.flush()
                    return deployment_record(row)
            except IntegrityError:
                if attempt == _RETRIES - 1:
                    raise ConflictError("a concurrent deployment won; retry") from None
        raise AssertionError("unreachable")

    def get_deployment(self, deployment_id: str) -> DeploymentRecord:
        with self.db.session() as s:
            return deployment_record(row_by_id(
                s, DeployedModelRow, DeployedModelRow.id, deployment_id, "deployed model"))

    def list_deployments(self, *, model_id: str | None = None,
                         runtime_id: str | None = None,
                         state: str | None = None) -> list[DeploymentRecord]:
        """Deployments, newest first."""
        query = select(DeployedModelRow)
        if model_id:
            query = query.where(DeployedModelRow.model_id == model_id)
        if runtime_id:
            query = query.where(DeployedModelRow.runtime_id == runtime_id)
        if state:
            query = query.where(DeployedModelRow.state == state)
        with self.db.session() as s:
            rows = s.scalars(query.order_by(DeployedModelRow.deployed_at.desc())).all()
            return [deployment_record(r) for r in rows]
