"""The churn_v2 model's own tests: the deploy process runs them (tag ``run_test``) in the
model's environment before its metrics test; ``mlc models test models/churn_v2`` runs them
locally the same way."""

import model
import tabulate
from common.checks import check_default_weights, check_trains_and_predicts


def test_runs_with_the_pinned_tabulate():
    assert tabulate.__version__ == "0.10.0"


def test_trains_and_predicts_one_row_per_record(tmp_path):
    check_trains_and_predicts(model, str(tmp_path))


def test_default_weights_score_without_an_artifact():
    check_default_weights(model)
