"""Artifacts per environment on SQLite and PostgreSQL: versions counted per (model, env) even
under concurrent uploads, promotion test -> prod, the PROD rule on deployments, the history,
and the same through ``POST /api/models/{id}/artifacts`` and ``mlc artifacts``."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.packages.artifacts import ArtifactService, ArtifactStore
from connectors.registry import SqlModelRegistry
from connectors.registry._artifacts import ArtifactRefused
from connectors.samples import CLASSIFIER_SOURCE
from engine.errors import NotFoundError, ValidationError
from mlc.cli import main
from tests.support.api import make_wired_app


@pytest.fixture
def registry(database) -> SqlModelRegistry:
    return SqlModelRegistry(database)


@pytest.fixture
def artifacts(registry, tmp_path) -> ArtifactService:
    return ArtifactService(registry, ArtifactStore(str(tmp_path / "store")), tmp_path / "cache")


def _folder(root: Path, name: str, weights: str) -> Path:
    folder = root / name
    (folder / "scalers").mkdir(parents=True)
    (folder / "weights.json").write_text(weights)
    (folder / "scalers" / "x.json").write_text('{"mean": 0}')
    return folder


def test_concurrent_uploads_get_distinct_versions(artifacts, registry, tmp_path):
    model = registry.register_model("churn", "classification")
    folders = [_folder(tmp_path / "src", f"a{i}", f'{{"w": {i}}}') for i in range(6)]
    made, errors = [], []

    def upload(folder: Path) -> None:
        try:
            made.append(artifacts.upload("churn", "test", folder, user="ci"))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(f,)) for f in folders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(a.version for a in made) == [1, 2, 3, 4, 5, 6]
    assert len({a.content_hash for a in made}) == 6 and len({a.uri for a in made}) == 6
    assert all(a.files == 2 and a.env == "test" for a in made)
    assert registry.list_artifacts(model.id, "prod") == []
    assert registry.find_artifact(model.id, "test").version == 6


def test_promotion_copies_a_test_version_to_the_next_prod_version(artifacts, registry,
                                                                  tmp_path):
    model = registry.register_model("churn", "classification")
    first = artifacts.upload(model.id, "test", _folder(tmp_path, "v1", '{"w": 1}'),
                             metadata={"auc": 0.91}, user="alice")
    second = artifacts.upload(model.id, "test", _folder(tmp_path, "v2", '{"w": 2}'),
                              user="bob")
    assert first.content_hash.startswith("sha256:") and first.content_hash != second.content_hash
    promoted = artifacts.promote("churn", 1, user="carol", metadata={"ticket": "OPS-1"})
    assert (promoted.label, promoted.action, promoted.created_by) == ("prod/1", "promoted",
                                                                      "carol")
    assert promoted.source_artifact_id == first.id
    assert promoted.content_hash == first.content_hash
    assert promoted.metadata == {"auc": 0.91, "ticket": "OPS-1"}
    assert promoted.uri != first.uri
    assert (Path(promoted.uri) / "weights.json").read_text() == '{"w": 1}'
    assert artifacts.promote("churn", 1, user="dave").id == promoted.id  # once only
    assert artifacts.promote("churn", 2).label == "prod/2"
    history = [(a.label, a.action, a.created_by)
               for a in registry.list_artifacts(model.id)]
    assert history == [("test/1", "uploaded", "alice"), ("test/2", "uploaded", "bob"),
                       ("prod/1", "promoted", "carol"), ("prod/2", "promoted", "")]
    with pytest.raises(NotFoundError, match="has no test artifact \\(version 9\\)"):
        artifacts.promote("churn", 9)


def test_bad_uploads_leave_nothing(artifacts, registry, tmp_path):
    model = registry.register_model("churn", "classification")
    with pytest.raises(ValidationError, match="artifact environment must be one of test, prod"):
        artifacts.upload(model.id, "staging", _folder(tmp_path, "v", "{}"))
    with pytest.raises(ValidationError, match="does not exist"):
        artifacts.upload(model.id, "test", tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match="holds no files"):
        artifacts.upload(model.id, "test", tmp_path / "empty")
    with pytest.raises(ValidationError):
        artifacts.upload_files(model.id, "test", [("../escape.txt", io.BytesIO(b"x"))])
    with pytest.raises(NotFoundError):
        artifacts.upload("nobody", "test", _folder(tmp_path, "w", "{}"))
    assert registry.list_artifacts(model.id) == []
    assert not any(p.is_file() for p in (tmp_path / "store").rglob("*"))


def test_a_prod_runtime_accepts_only_prod_artifacts(artifacts, registry, tmp_path):
    model = registry.register_model("churn", "classification")
    snapshot = registry.create_snapshot(model.id, CLASSIFIER_SOURCE)
    prod = registry.add_runtime("batch-prod", "PROD")
    dev = registry.add_runtime("batch-dev", "DEV")
    assert registry.deploy(snapshot.id, prod.id).artifact_id is None  # no artifacts: as before

    test = artifacts.upload(model.id, "test", _folder(tmp_path, "v1", "{}"))
    with pytest.raises(ArtifactRefused, match="no prod artifact: promote a test artifact"):
        registry.deploy(snapshot.id, prod.id)
    with pytest.raises(ArtifactRefused, match="accepts only prod artifacts, not test/1"):
        registry.deploy(snapshot.id, prod.id, artifact_id=test.id)
    assert registry.deploy(snapshot.id, dev.id).artifact_id == test.id

    promoted = artifacts.promote(model.id, 1)
    assert registry.deploy(snapshot.id, prod.id).artifact_id == promoted.id
    other = registry.register_model("other", "classification")
    foreign = artifacts.upload(other.id, "prod", _folder(tmp_path, "o", "{}"))
    with pytest.raises(ValidationError, match="belongs to another model"):
        registry.deploy(snapshot.id, prod.id, artifact_id=foreign.id)


def test_artifact_routes(database, tmp_path):
    app = make_wired_app(database, artifact_store=str(tmp_path / "store"),
                         model_envs=str(tmp_path / "envs"))
    client = app.test_client()
    try:
        model = client.post("/api/models", json={"name": "churn",
                                                 "methodology": "classification"}).json

        def upload(**form):
            return client.post(f"/api/models/{model['id']}/artifacts", data=form,
                               content_type="multipart/form-data")

        made = upload(env="test", metadata='{"auc": 0.9}', user="alice",
                      files=[(io.BytesIO(b'{"w": 1}'), "weights.json"),
                             (io.BytesIO(b"x"), "scalers/x.pkl")])
        assert made.status_code == 201, made.json
        assert (made.json["env"], made.json["version"], made.json["files"]) == ("test", 1, 2)
        assert made.json["metadata"] == {"auc": 0.9} and made.json["created_by"] == "alice"
        again = upload(env="test", files=[(io.BytesIO(b"2"), "weights.json")])
        assert again.json["version"] == 2 and again.json["created_by"] == "api"

        for form, status, text in (
                ({"env": "staging", "files": [(io.BytesIO(b"x"), "a")]}, 400, "test, prod"),
                ({"env": "test"}, 400, "at least one file"),
                ({"env": "test", "metadata": "[1]", "files": [(io.BytesIO(b"x"), "a")]}, 400,
                 "JSON object"),
                ({"env": "test", "files": [(io.BytesIO(b"x"), "../a")]}, 400, "")):
            answer = upload(**form)
            assert answer.status_code == status and text in answer.json["message"], answer.json
        as_json = client.post(f"/api/models/{model['id']}/artifacts", json={"env": "test"})
        assert as_json.status_code == 415
        assert client.post("/api/models/nobody/artifacts", data={
            "env": "test", "files": [(io.BytesIO(b"x"), "a")]},
            content_type="multipart/form-data").status_code == 404

        promoted = client.post(f"/api/models/{model['id']}/artifacts/promote",
                               json={"version": 1, "user": "carol"})
        assert promoted.status_code == 201 and promoted.json["env"] == "prod"
        assert promoted.json["content_hash"] == made.json["content_hash"]
        assert client.post(f"/api/models/{model['id']}/artifacts/promote",
                           json={"version": 7}).status_code == 404
        assert client.post(f"/api/models/{model['id']}/artifacts/promote",
                           json={"version": 0}).status_code == 400
        shown = client.get(f"/api/models/{model['id']}/artifacts/prod/1").json
        assert shown["source_artifact_id"] == made.json["id"]
        assert client.get(f"/api/models/{model['id']}/artifacts/prod/2").status_code == 404
        assert [(a["env"], a["version"], a["action"], a["created_by"]) for a in client.get(
            f"/api/models/{model['id']}/artifacts").json] == [
            ("test", 1, "uploaded", "alice"), ("test", 2, "uploaded", "api"),
            ("prod", 1, "promoted", "carol")]
        assert len(client.get(f"/api/models/{model['id']}/artifacts?env=test").json) == 2
        assert client.get(f"/api/models/{model['id']}/artifacts?env=qa").status_code == 400
    finally:
        app.extensions["mlc_application"].close()


def test_artifacts_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("MLC_DATABASE_URL", f"sqlite:///{tmp_path / 'mlc.db'}")
    monkeypatch.setenv("MLC_CONFIG", "/nonexistent/mlc.toml")
    monkeypatch.setenv("MLC_ARTIFACT_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("MLC_MODEL_ENVS", str(tmp_path / "envs"))
    runner = CliRunner()

    def cli(*args):
        return runner.invoke(main, list(args))

    assert cli("models", "register", "churn", "--methodology", "classification").exit_code == 0
    folder = _folder(tmp_path, "art", '{"w": 1}')
    uploaded = cli("artifacts", "upload", "churn", str(folder), "--env", "test",
                   "--metadata", "auc=0.91", "--metadata", "note=first", "--user", "alice",
                   "--json")
    assert uploaded.exit_code == 0, uploaded.output
    record = json.loads(uploaded.stdout)
    assert record["metadata"] == {"auc": 0.91, "note": "first"} and record["version"] == 1
    promoted = cli("artifacts", "promote", "churn", "1", "--user", "bob")
    assert promoted.exit_code == 0 and promoted.stdout.startswith("prod/1 sha256:")
    listed = cli("artifacts", "list", "churn")
    lines = listed.stdout.splitlines()
    assert len(lines) == 2 and "uploaded" in lines[0] and "alice" in lines[0]
    assert "promoted" in lines[1] and "bob" in lines[1] and f"from {record['id']}" in lines[1]
    shown = cli("artifacts", "show", "churn", "prod")
    assert shown.exit_code == 0 and "source_artifact_id" in shown.stdout

    bad = cli("artifacts", "upload", "churn", str(folder), "--env", "test", "--metadata", "x")
    assert bad.exit_code != 0 and "--metadata expects KEY=VALUE, not 'x'" in bad.output
    assert "Traceback" not in bad.output
    missing = cli("artifacts", "promote", "churn", "5")
    assert missing.exit_code != 0 and "has no test artifact (version 5)" in missing.output
    wrong_env = cli("artifacts", "upload", "churn", str(folder), "--env", "qa")
    assert wrong_env.exit_code == 2


def test_an_s3_store_keeps_versions_and_checks_the_hash_on_fetch(registry, tmp_path,
                                                                 monkeypatch):
    import boto3
    from moto.server import ThreadedMotoServer

    from engine.errors import MlcError

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        for name, value in (("AWS_ACCESS_KEY_ID", "testing"),
                            ("AWS_SECRET_ACCESS_KEY", "testing"),
                            ("AWS_DEFAULT_REGION", "us-east-1")):
            monkeypatch.setenv(name, value)
        client = boto3.client("s3", endpoint_url=f"http://{host}:{port}")
        client.create_bucket(Bucket="models")
        service = ArtifactService(registry, ArtifactStore("s3://models/artifacts",
                                                          s3_client=client), tmp_path / "cache")
        model = registry.register_model("churn", "classification")
        made = service.upload(model.id, "test", _folder(tmp_path, "v1", '{"w": 1}'))
        assert made.uri.startswith(f"s3://models/artifacts/{model.id}/test/")
        promoted = service.promote(model.id, 1)
        assert promoted.uri.startswith(f"s3://models/artifacts/{model.id}/prod/")
        local = service.local_dir(promoted.id)
        assert (local / "weights.json").read_text() == '{"w": 1}'
        assert (local / "scalers" / "x.json").is_file()

        key = made.uri[len("s3://models/"):] + "weights.json"
        client.put_object(Bucket="models", Key=key, Body=b'{"w": "tampered"}')
        with pytest.raises(MlcError, match="do not match its content hash"):
            service.local_dir(made.id)
        assert not (tmp_path / "cache" / made.id).exists()
    finally:
        server.stop()
