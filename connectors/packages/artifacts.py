"""Artifacts per environment: uploading a folder as the next ``test`` or ``prod`` version of a
model's artifact, promoting a test version to prod, and fetching one for a deployment.

The files live in an :class:`ArtifactStore` (a local folder, or ``s3://bucket/prefix``) under
``<model id>/<env>/<upload id>/``; the registry numbers them (``env/n`` per model) and keeps
who uploaded or promoted what. Files are stored first and the row added second, and a row
that cannot be added removes its files again, so a failed upload leaves nothing behind.
Every artifact carries a content hash over its files' paths and bytes: a promoted artifact
has its test version's hash, and a fetched copy is checked against it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import urlparse

from connectors.registry import ArtifactRecord, ModelRegistry, check_artifact_env
from engine.errors import ConfigurationError, MlcError, ValidationError

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFiles:
    uri: str
    content_hash: str
    size_bytes: int
    files: int


def folder_files(folder: Path) -> list[tuple[str, Path]]:
    """Every regular file under ``folder`` as (relative POSIX path, path), sorted.

    Raises:
        ValidationError: no such folder, an empty one, or a symlink (an artifact is its own
            bytes, never a pointer to somewhere else on the uploader's disk).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValidationError(f"artifact folder {folder} does not exist")
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            raise ValidationError(f"artifact folder {folder} holds a symlink: "
                                  f"{path.relative_to(folder)}")
        if path.is_file():
            found.append((path.relative_to(folder).as_posix(), path))
    if not found:
        raise ValidationError(f"artifact folder {folder} holds no files")
    return found


def content_hash(files: Iterable[tuple[str, Path]]) -> tuple[str, int]:
    """``sha256:…`` over every (path, sha256 of bytes) pair in path order, and the total size."""
    tree = hashlib.sha256()
    size = 0
    for name, path in sorted(files):
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        tree.update(f"{name}\0{digest.hexdigest()}\n".encode())
    return "sha256:" + tree.hexdigest(), size


def safe_relative(name: str) -> str:
    """An uploaded file's name as a relative path inside the artifact, or a ValidationError."""
    path = PurePosixPath(name.replace("\\", "/"))
    if (not name or path.is_absolute() or any(part in ("", ".", "..") for part in path.parts)
            or "\x00" in name):
        raise ValidationError(f"artifact file name {name!r} must be a relative path without "
                              f"'..'")
    return path.as_posix()


class ArtifactStore:
    """Where artifact files are kept: a local folder, or ``s3://bucket/prefix``.

    Args:
        root: ``MLC_ARTIFACT_STORE`` (default ``var/artifact-store``).
        s3_endpoint_url: S3 endpoint (``Settings.s3_endpoint_url``; None: boto3's own).
        s3_client: a ready boto3 client (tests).
    """

    def __init__(self, root: str = "var/artifact-store", *,
                 s3_endpoint_url: str | None = None, s3_client: Any = None) -> None:
        self.root = root.strip()
        if not self.root:
            raise ConfigurationError("MLC_ARTIFACT_STORE is empty")
        self._endpoint = s3_endpoint_url or None
        self._s3 = s3_client
        self._lock = threading.Lock()
        if self.is_s3:
            parsed = urlparse(self.root)
            if not parsed.netloc:
                raise ConfigurationError(f"MLC_ARTIFACT_STORE {self.root!r} names no bucket")
            self.bucket, self.prefix = parsed.netloc, parsed.path.strip("/")
        else:
            self.local_root = Path(self.root).expanduser().resolve()

    @property
    def is_s3(self) -> bool:
        return self.root.startswith("s3://")

    @property
    def s3(self) -> Any:  # a boto3 S3 client (boto3 has no types)
        with self._lock:
            if self._s3 is None:
                import boto3

                self._s3 = boto3.client("s3", endpoint_url=self._endpoint)
            return self._s3

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def put_folder(self, folder: Path, model_id: str, env: str) -> StoredFiles:
        """Store every file of ``folder`` as a new upload; nothing is overwritten."""
        files = folder_files(folder)
        digest, size = content_hash(files)
        upload = uuid.uuid4().hex
        if self.is_s3:
            key = self._key(model_id, env, upload)
            try:
                for name, path in files:
                    self.s3.upload_file(str(path), self.bucket, f"{key}/{name}")
            except Exception:
                self.delete(f"s3://{self.bucket}/{key}/")
                raise
            return StoredFiles(f"s3://{self.bucket}/{key}/", digest, size, len(files))
        target = self.local_root / model_id / env / upload
        partial = target.with_name(f".{upload}.partial")
        partial.parent.mkdir(parents=True, exist_ok=True)
        try:
            for name, path in files:
                (partial / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, partial / name)
            os.rename(partial, target)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return StoredFiles(str(target), digest, size, len(files))

    def copy(self, uri: str, model_id: str, env: str) -> str:
        """Copy a stored artifact to a new upload of ``env`` (a promotion); its new URI."""
        with tempfile.TemporaryDirectory(prefix="mlc-artifact-") as scratch:
            return self.put_folder(self.fetch(uri, Path(scratch) / "a"), model_id, env).uri

    def fetch(self, uri: str, target: Path) -> Path:
        """A local folder holding the artifact's files: the stored folder itself when the
        store is local, else a download into ``target``."""
        if not uri.startswith("s3://"):
            return Path(uri)
        parsed = urlparse(uri)
        prefix = parsed.path.lstrip("/")
        partial = target.with_name(f".{target.name}.partial-{uuid.uuid4().hex[:8]}")
        try:
            for page in self.s3.get_paginator("list_objects_v2").paginate(
                    Bucket=parsed.netloc, Prefix=prefix):
                for obj in page.get("Contents", []):
                    local = partial / safe_relative(obj["Key"][len(prefix):])
                    local.parent.mkdir(parents=True, exist_ok=True)
                    self.s3.download_file(parsed.netloc, obj["Key"], str(local))
            partial.mkdir(parents=True, exist_ok=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(partial, target)
            except OSError:
                if not target.is_dir():  # else a concurrent fetch of the same one won
                    raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return target

    def delete(self, uri: str) -> None:
        """Remove a stored upload (one whose registry row could not be added)."""
        if uri.startswith("s3://"):
            parsed = urlparse(uri)
            for page in self.s3.get_paginator("list_objects_v2").paginate(
                    Bucket=parsed.netloc, Prefix=parsed.path.lstrip("/")):
                for obj in page.get("Contents", []):
                    self.s3.delete_object(Bucket=parsed.netloc, Key=obj["Key"])
        else:
            shutil.rmtree(uri, ignore_errors=True)


class ArtifactService:
    """Uploads, promotions and fetches of model artifacts (what the CLI and REST call).

    Args:
        registry: numbers and records the artifacts.
        store: keeps their files.
        cache: where S3 artifacts are downloaded for deployments on this host.
    """

    def __init__(self, registry: ModelRegistry, store: ArtifactStore,
                 cache: Path | str = "var/artifact-cache") -> None:
        self.registry, self.store = registry, store
        self.cache = Path(cache).expanduser().resolve()

    @classmethod
    def from_settings(cls, registry: ModelRegistry, settings: Any) -> ArtifactService:
        return cls(registry, ArtifactStore(settings.artifact_store,
                                         s3_endpoint_url=settings.s3_endpoint_url),
                   Path(settings.model_envs).parent / "artifact-cache")

    def upload(self, model: str, env: str, folder: Path, *,
               metadata: dict[str, Any] | None = None, user: str = "") -> ArtifactRecord:
        """Store ``folder`` as the next ``env`` version of ``model`` (id or name)."""
        env = check_artifact_env(env)
        record = self.registry.get_model(model)
        stored = self.store.put_folder(folder, record.id, env)
        return self._record(record.id, env, stored, metadata or {}, user, "uploaded", None)

    def upload_files(self, model: str, env: str, files: Iterable[tuple[str, BinaryIO]], *,
                     metadata: dict[str, Any] | None = None,
                     user: str = "") -> ArtifactRecord:
        """The same for uploaded file parts, each named by its path inside the artifact."""
        env = check_artifact_env(env)
        self.registry.get_model(model)  # an unknown model is refused before any copying
        with tempfile.TemporaryDirectory(prefix="mlc-upload-") as scratch:
            root = Path(scratch)
            for name, stream in files:
                target = root / safe_relative(name)
                if target.exists():
                    raise ValidationError(f"artifact file {name!r} was sent twice")
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "wb") as out:
                    shutil.copyfileobj(stream, out, _CHUNK)
            return self.upload(model, env, root, metadata=metadata, user=user)

    def promote(self, model: str, version: int, *, user: str = "",
                metadata: dict[str, Any] | None = None) -> ArtifactRecord:
        """Copy test version ``version`` to the next prod version (once: promoting it again
        answers with the prod artifact made the first time)."""
        record = self.registry.get_model(model)
        source = self.registry.find_artifact(record.id, "test", version)
        for existing in self.registry.list_artifacts(record.id, "prod"):
            if existing.source_artifact_id == source.id:
                return existing
        uri = self.store.copy(source.uri, record.id, "prod")
        stored = StoredFiles(uri, source.content_hash, source.size_bytes, source.files)
        return self._record(record.id, "prod", stored, {**source.metadata, **(metadata or {})},
                            user, "promoted", source.id)

    def _record(self, model_id: str, env: str, stored: StoredFiles, metadata: dict[str, Any],
                user: str, action: str, source_id: str | None) -> ArtifactRecord:
        try:
            return self.registry.add_artifact(
                model_id, env, uri=stored.uri, content_hash=stored.content_hash,
                size_bytes=stored.size_bytes, files=stored.files, metadata=metadata,
                created_by=user, action=action, source_artifact_id=source_id)
        except BaseException:
            self.store.delete(stored.uri)
            raise

    def local_dir(self, artifact_id: str) -> Path:
        """A local folder with the artifact's files (downloaded once per host from S3, and
        checked against its content hash)."""
        artifact = self.registry.get_artifact(artifact_id)
        if not artifact.uri.startswith("s3://"):
            return Path(artifact.uri)
        target = self.cache / artifact.id
        if not target.is_dir():
            self.store.fetch(artifact.uri, target)
            digest, _ = content_hash(folder_files(target))
            if digest != artifact.content_hash:
                shutil.rmtree(target, ignore_errors=True)
                raise MlcError(f"artifact {artifact.label} of model {artifact.model_id}: "
                               f"downloaded files do not match its content hash")
        return target
