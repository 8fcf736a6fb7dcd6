"""``mlc setup`` (what ``make run`` does before serving) and the demo's table."""

from __future__ import annotations

from click.testing import CliRunner

from mlc.cli import main
from mlc.demo import format_table


def test_setup_deploys_registers_the_sample_once_and_starts_its_deploy_process(tmp_path):
    db = f"sqlite:///{tmp_path / 'mlc.db'}"
    env = {"MLC_DATABASE_URL": db, "MLC_DATA_ROOTS": str(tmp_path / "data"),
           "MLC_TICKETS": "local"}
    runner = CliRunner()
    first = runner.invoke(main, ["setup"], env=env)
    assert first.exit_code == 0, first.output
    assert "Registered sample-classifier" in first.output
    assert "http://127.0.0.1:8080/engine-rest" in first.output
    assert "Signals_Run_Back_Test_Jira" in first.output
    assert "only then does review ticket MLC-1 open" in first.output
    assert (tmp_path / "data" / "sample" / "test.csv").exists()
    again = runner.invoke(main, ["setup"], env=env)
    assert again.exit_code == 0 and "nothing registered" in again.output

    from mlc.settings import Settings
    from mlc.wiring import build_application

    application = build_application(Settings(database_url=db, data_roots=[str(tmp_path / "data")]))
    try:
        registry = application.services.registry
        [model] = registry.list_models()
        assert [s.tags for s in registry.list_snapshots(model.id)] == [("run_test", "jira")]
        assert sorted(r.name for r in registry.list_runtimes()) == ["batch-dev", "online-dev"]
        [instance] = application.engine.list_instances(key="deploy_with_test_and_jira")
        assert instance.status == "waiting"  # its first task waits for the server's workers
    finally:
        application.close()


def test_the_restart_banner_follows_the_review_ticket(tmp_path):
    from connectors.tickets import TicketRequest
    from mlc.settings import Settings
    from mlc.wiring import build_application

    db = f"sqlite:///{tmp_path / 'mlc.db'}"
    env = {"MLC_DATABASE_URL": db, "MLC_DATA_ROOTS": str(tmp_path / "data")}
    runner = CliRunner()
    assert runner.invoke(main, ["setup", "--base-url", "http://127.0.0.1:8099"],
                         env=env).exit_code == 0
    application = build_application(Settings(database_url=db, data_roots=[str(tmp_path / "data")]))
    try:
        tickets = application.services.tickets
        review, _ = tickets.service.open_ticket(TicketRequest("review", "Review", "body",
                                                              idempotency_key="k"))
        waiting = runner.invoke(main, ["setup", "--base-url", "http://127.0.0.1:8099"], env=env)
        assert f"Review ticket {review.key} is open" in waiting.output
        assert f"8099/api/tickets/local/{review.key}/transition" in waiting.output
        tickets.transition(review.key, "Done")
        decided = runner.invoke(main, ["setup", "--base-url", "http://127.0.0.1:8099"], env=env)
    finally:
        application.close()
    assert decided.exit_code == 0
    assert "No review ticket is open" in decided.output and "/transition" not in decided.output


def test_setup_without_data_root_fails_with_one_line(tmp_path):
    env = {"MLC_DATABASE_URL": f"sqlite:///{tmp_path / 'mlc.db'}", "MLC_DATA_ROOTS": ""}
    result = CliRunner().invoke(main, ["setup"], env=env)
    assert result.exit_code == 1 and "MLC_DATA_ROOTS" in result.output


def test_demo_table_fits_100_columns_with_each_result_below_its_row():
    rows = [{"process": "run_back_test (ServiceNow)", "instance": "fcc814b6",
             "status": "completed", "outcome": "failed criteria", "ticket": "MLC-2 Open",
             "job": "9370cb3a", "result": "below the DEV/SIT thresholds: " + "x " * 80,
             "file": "/tmp/mlc-demo-1/data/backtests/drifted-results.json"}]
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["process", "instance", "status", "outcome", "ticket", "job"]
    assert lines[1].split()[-3:] == ["MLC-2", "Open", "9370cb3a"]
    assert lines[2].startswith("  -> below the DEV/SIT thresholds")
    assert all(len(line) <= 100 for line in lines) and len(lines) == 4
    assert "mlc-demo" not in "\n".join(lines)  # its folder is gone when the table prints
    kept = format_table(rows, files=True)
    assert "file: /tmp/mlc-demo-1/data/backtests/drifted-results.json" in kept
