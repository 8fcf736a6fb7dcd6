"""Where job data lives: local paths confined to ``MLC_DATA_ROOTS``, or ``s3://bucket/prefix``.

Local paths (plain or ``file://``) are resolved with symlinks and ``..`` followed *before* the
check, so ``/data/../../etc/passwd`` or a symlink pointing out of a root is refused with an
error naming the path. Relative paths are taken relative to the first data root. S3 goes
through boto3; its endpoint is configurable (``endpoint_url``, or boto3's own
``AWS_ENDPOINT_URL``) so tests can point it at moto's server.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from engine.errors import ConfigurationError, ValidationError

from .formats import EXTENSIONS


@dataclass(frozen=True)
class LocalLocation:
    path: Path

    @property
    def uri(self) -> str:
        return str(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    def child(self, name: str) -> LocalLocation:
        return LocalLocation(self.path / name)


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def name(self) -> str:
        return self.key.rstrip("/").rsplit("/", 1)[-1]

    def child(self, name: str) -> S3Location:
        prefix = self.key if not self.key or self.key.endswith("/") else self.key + "/"
        return S3Location(self.bucket, prefix + name)


Location = LocalLocation | S3Location


def _is_data_file(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in EXTENSIONS


def confine_path(raw: str, data_roots: Sequence[str]) -> Path:
    """Resolve a local path and refuse it unless it lies inside one of ``data_roots``."""
    if not data_roots:
        raise ConfigurationError(
            f"path {raw!r} refused: MLC_DATA_ROOTS is empty, so no local path may be used")
    text = raw
    if text.startswith("file://"):
        parsed = urlparse(text)
        if parsed.netloc not in ("", "localhost"):
            raise ValidationError(f"path {raw!r} refused: file:// URIs must be local")
        text = unquote(parsed.path)
    roots = [Path(r).expanduser().resolve() for r in data_roots]
    candidate = Path(text).expanduser()
    if not candidate.is_absolute():
        candidate = roots[0] / candidate
    resolved = candidate.resolve()
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        raise ValidationError(
            f"path {raw!r} refused: it resolves to {resolved}, outside MLC_DATA_ROOTS "
            f"({os.pathsep.join(str(r) for r in roots)})")
    return resolved


class DataStore:
    """Lists, fetches and stores job files on local disk or S3."""

    def __init__(self, data_roots: Sequence[str], *, s3_endpoint_url: str | None = None,
                 s3_client: Any = None) -> None:
        self.data_roots = list(data_roots)
        # an empty endpoint (as compose passes an unset MLC_S3_ENDPOINT_URL) means boto3's default
        self.s3_endpoint_url = s3_endpoint_url or None
        self._s3 = s3_client
        self._lock = threading.Lock()

    @property
    def s3(self) -> Any:  # a boto3 S3 client (boto3 has no types)
        with self._lock:
            if self._s3 is None:
                import boto3

                self._s3 = boto3.client("s3", endpoint_url=self.s3_endpoint_url)
            return self._s3

    def resolve(self, raw: str) -> Location:
        """Parse and check a location named by a user or a process variable."""
        raw = (raw or "").strip()
        if not raw:
            raise ValidationError("an empty path was given")
        if raw.startswith("s3://"):
            parsed = urlparse(raw)
            if not parsed.netloc:
                raise ValidationError(f"{raw!r} names no bucket")
            key = parsed.path.lstrip("/")
            if any(part == ".." for part in key.split("/")):
                raise ValidationError(f"path {raw!r} refused: '..' in an S3 key")
            return S3Location(parsed.netloc, key)
        if "://" in raw and not raw.startswith("file://"):
            raise ValidationError(f"{raw!r}: only file:// paths and s3:// URIs are supported")
        return LocalLocation(confine_path(raw, self.data_roots))

    def list_inputs(self, location: Location) -> list[Location]:
        """The data files a source names: the file itself, or the data files in a folder."""
        if isinstance(location, LocalLocation):
            if location.path.is_file():
                return [location]
            if location.path.is_dir():
                return [LocalLocation(p) for p in sorted(location.path.iterdir())
                        if p.is_file() and _is_data_file(p.name)]
            raise ValidationError(f"input {location.uri} does not exist")
        if location.key and not location.key.endswith("/") and self.exists(location):
            return [location]
        prefix = location.key if not location.key or location.key.endswith("/") \
            else location.key + "/"
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=location.bucket, Prefix=prefix, Delimiter="/"):
            for obj in page.get("Contents", []):
                if _is_data_file(obj["Key"][len(prefix):]):
                    keys.append(obj["Key"])
        if not keys:
            raise ValidationError(f"input {location.uri} names no data files")
        return [S3Location(location.bucket, key) for key in sorted(keys)]

    def exists(self, location: Location) -> bool:
        if isinstance(location, LocalLocation):
            return location.path.exists()
        from botocore.exceptions import ClientError

        try:
            self.s3.head_object(Bucket=location.bucket, Key=location.key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def fetch(self, location: Location, scratch: Path) -> Path:
        """A local path holding the file's bytes (the file itself when it is local)."""
        if isinstance(location, LocalLocation):
            return location.path
        target = scratch / f"in-{abs(hash(location.key))}-{location.name}"
        self.s3.download_file(location.bucket, location.key, str(target))
        return target

    def local_target(self, location: Location, scratch: Path) -> Path:
        """Where a worker should write an output before :meth:`store` publishes it."""
        if isinstance(location, LocalLocation):
            location.path.parent.mkdir(parents=True, exist_ok=True)
            return location.path
        return scratch / f"out-{abs(hash(location.key))}-{location.name}"

    def store(self, local: Path, location: Location) -> None:
        if isinstance(location, S3Location):
            self.s3.upload_file(str(local), location.bucket, location.key)
            local.unlink(missing_ok=True)
