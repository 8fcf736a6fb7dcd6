"""Example automations for the sample classifier (register: mlc automations register -p examples/automations).

The git repository may be local (file:// or a path) or remote (https, with
git_access_token_secret naming a secret kept in MLC_SECRET_<NAME>).
"""

from connectors.automations import (
    Automation,
    BuildAndDeploy,
    BuildMetric,
    BuildSpecifications,
    CustomWebhook,
    DeploymentSpecifications,
    MetricBasedTrigger,
    ScheduledTrigger,
    SlackNotification,
    SqlMetric,
    ThresholdDirection,
)

build = BuildSpecifications(
    git_uri="file:///srv/git/models.git#classifier",  # <repository>#<folder holding model.py>
    git_branch="main",
    tags=["automated"],
    env_vars=["C=1.0"],
)

retrain_weekly = Automation(
    name="churn-retrain-weekly",
    model_id="churn",  # a model of the registry (id or name)
    description="Retrain every Sunday at midnight UTC; deploy when accuracy > 0.65",
    trigger=ScheduledTrigger(cron="0 0 * * 0"),
    action=BuildAndDeploy(
        build_spec=build,
        deployment_condition=BuildMetric(metric_name="accuracy",
                                         direction=ThresholdDirection.ABOVE, threshold="0.65"),
        deployment_spec=DeploymentSpecifications(number_of_pods=1, cpu_fraction=0.5,
                                                 memory="1Gi", environments=["dev-batch"]),
    ),
    on_success=SlackNotification(webhook="https://hooks.slack.com/services/T000/B000/XXXX"),
    on_error=CustomWebhook(url="https://alerts.example.com/mlc", http_method="POST",
                           data={"team": "risk"}),
)

retrain_on_drift = Automation(
    name="churn-retrain-on-drift",
    model_id="churn",
    trigger=MetricBasedTrigger(
        name="accuracy_drop",
        metric=SqlMetric("SELECT avg(value) FROM analytics_job_metrics "
                         "WHERE metric = 'accuracy' AND job_type = 'metrics'"),
        direction=ThresholdDirection.BELOW,
        threshold="0.7",
        poll_seconds=600,
    ),
    action=BuildAndDeploy(
        build_spec=build,
        # a dynamic threshold: beat the best build so far
        deployment_condition=BuildMetric(
            "accuracy", ThresholdDirection.ABOVE,
            "SELECT coalesce(max(value), 0) FROM analytics_build_metrics WHERE metric = 'accuracy'"),
    ),
)
