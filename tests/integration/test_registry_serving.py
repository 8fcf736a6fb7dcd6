"""Online serving of an online-deployed sample model, loaded once."""

from __future__ import annotations

import pytest

from connectors.samples import FEATURES, sample_frame
from connectors.serving import OnlinePredictor
from engine.errors import ConflictError, NotFoundError, ValidationError
from tests.support.jobs import (  # noqa: F401 - fixtures
    data_root,
    jobs,
    model_pool,
    registry,
    sample,
    signals,
)


def test_online_deployment_predicts_and_loads_the_model_once(registry, sample, jobs):
    _, snapshot, _ = sample
    assert jobs.train(snapshot.id).succeeded
    runtime = registry.add_runtime("online-dev", "DEV", endpoints=["http://127.0.0.1:8080"])
    deployment = registry.deploy(snapshot.id, runtime.id)
    predictor = OnlinePredictor(registry)
    records = sample_frame(5, seed=3, with_label=False).to_dict(orient="records")
    first = predictor.predict(deployment.id, records)
    second = predictor.predict(deployment.id, records[:2])
    assert len(first) == 5 and set(first[0]) == {"prediction", "score"}
    assert first[0]["prediction"] in (0, 1) and 0 <= first[0]["score"] <= 1
    assert [r["prediction"] for r in second] == [r["prediction"] for r in first[:2]]
    assert second[1]["score"] == pytest.approx(first[1]["score"])
    assert predictor.loads == 1


def test_batch_and_retired_deployments_do_not_serve(registry, sample):
    model, snapshot, _ = sample
    batch = registry.deploy(snapshot.id, registry.add_runtime("batch", "DEV").id)
    online_rt = registry.add_runtime("online", "DEV", endpoints=["http://x"])
    old = registry.deploy(snapshot.id, online_rt.id)
    predictor = OnlinePredictor(registry)
    record = dict.fromkeys(FEATURES, 0.0)
    assert len(predictor.predict(old.id, [record])) == 1
    with pytest.raises(ConflictError, match="batch-only"):
        predictor.predict(batch.id, [record])
    newer = registry.create_snapshot(model.id, "sample:classifier")
    registry.deploy(newer.id, online_rt.id)
    with pytest.raises(ConflictError, match="retired"):
        predictor.predict(old.id, [record])
    with pytest.raises(NotFoundError):
        predictor.predict("nope", [record])


def test_bad_records_are_a_validation_error(registry, sample):
    _, snapshot, _ = sample
    deployment = registry.deploy(snapshot.id, registry.add_runtime(
        "o", "DEV", endpoints=["http://x"]).id)
    predictor = OnlinePredictor(registry)
    with pytest.raises(ValidationError):
        predictor.predict(deployment.id, [{"f0": 1.0}])
    with pytest.raises(ValidationError):
        predictor.predict(deployment.id, "not a list")  # type: ignore[arg-type]
