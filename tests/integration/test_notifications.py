"""notify.send over real HTTP to a fake Slack / webhook receiver, and the local feed."""

from __future__ import annotations

import logging

import pytest

from connectors.notifications import NotificationError, NotificationFeed
from connectors.notifications.handlers import make_send_notification_handler
from engine.errors import BpmnError, ConfigurationError, ValidationError
from tests.fakes.tasks import task_context
from tests.fakes.webhooks import running_webhook_receiver

SLACK_PATH = "/services/T0001/B0002/slack-secret-token-xyz"
VARIABLES = {"MODEL_ID": "m-42", "BUILD_ID": "b-9"}


@pytest.fixture
def receiver():
    with running_webhook_receiver() as (url, state):
        yield url, state


@pytest.fixture
def feed(sqlite_database):
    return NotificationFeed(sqlite_database)


@pytest.fixture
def slack(receiver, feed):
    url, state = receiver
    return make_send_notification_handler(feed, slack_webhook=url + SLACK_PATH, timeout=5), state


def test_slack_message_has_text_and_blocks(slack, feed):
    send, state = slack
    result = send(task_context("notify.send", VARIABLES, properties={
        "status": "error", "message": "Back test failed", "automation": "nightly-backtest"}))
    [request] = state.requests
    assert request.method == "POST" and request.path == SLACK_PATH
    assert request.json["text"] == "Back test failed"
    section, grid = request.json["blocks"]
    assert section == {"type": "section",
                       "text": {"type": "mrkdwn", "text": ":x: Back test failed"}}
    texts = [f["text"] for f in grid["fields"]]
    assert "*Status*\nerror" in texts and "*Model*\nm-42" in texts
    assert "*Automation*\nnightly-backtest" in texts and "*Build*\nb-9" in texts
    [stored] = feed.list()
    assert result == {"NOTIFICATION_ID": stored.id}
    assert stored.channel == "slack" and stored.status == "error"


@pytest.mark.parametrize("status, body", [(400, "invalid_payload"), (200, "no_text"),
                                          (404, "no_service")])
def test_slack_answer_other_than_ok_is_an_error_without_the_url(slack, feed, caplog,
                                                                 status, body):
    send, state = slack
    state.answer_status, state.answer_body = status, body
    caplog.set_level(logging.DEBUG)
    with pytest.raises(NotificationError) as failure:
        send(task_context("notify.send", VARIABLES))
    assert not isinstance(failure.value, BpmnError)
    assert body in str(failure.value)
    for text in (str(failure.value), caplog.text):
        assert "slack-secret-token-xyz" not in text and "T0001" not in text
    assert feed.list() == []


def test_unreachable_slack_error_hides_the_url(feed, caplog):
    send = make_send_notification_handler(
        feed, slack_webhook="http://127.0.0.1:9" + SLACK_PATH, timeout=2)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(NotificationError, match=r"http://127\.0\.0\.1:9/\*\*\*") as failure:
        send(task_context("notify.send", VARIABLES))
    assert "slack-secret-token-xyz" not in str(failure.value) + caplog.text


def test_custom_get_webhook_puts_fields_in_the_query_string(receiver, feed):
    url, state = receiver
    send = make_send_notification_handler(feed, timeout=5)
    result = send(task_context("notify.send", {
        **VARIABLES, "WEBHOOK_URL": url + "/hook?token=query-secret",
        "WEBHOOK_DATA": {"env": "prod"}},
        properties={"channel": "webhook", "method": "GET", "status": "success"},
        process_key="build_and_deploy", instance_id="inst-3"))
    [request] = state.requests
    assert request.method == "GET" and request.body == b""
    query = request.query
    assert query["token"] == "query-secret"  # the user's own query is kept
    assert query["model_id"] == "m-42" and query["status"] == "success"
    assert "automation" not in query and query["process"] == "build_and_deploy"
    assert query["build_id"] == "b-9" and query["instance_id"] == "inst-3"
    assert query["env"] == "prod" and query["execution_date"].endswith("+00:00")
    [stored] = feed.list()
    assert result == {"NOTIFICATION_ID": stored.id}
    assert "query-secret" not in repr(stored.to_dict())


def test_custom_post_webhook_sends_json_body_and_headers(receiver, feed, caplog):
    url, state = receiver
    send = make_send_notification_handler(feed, timeout=5)
    caplog.set_level(logging.DEBUG)
    result = send(task_context("notify.send", {
        **VARIABLES, "WEBHOOK_HEADERS": {"Authorization": "Bearer header-secret"}},
        properties={"channel": "webhook", "url": url + "/hook", "data.team": "risk"}))
    [request] = state.requests
    assert request.method == "POST" and request.query == {}
    assert request.headers["Authorization"] == "Bearer header-secret"
    body = request.json
    assert body["model_id"] == "m-42" and body["team"] == "risk" and body["status"] == "success"
    assert set(body) >= {"execution_date", "model_id", "process", "status", "build_id",
                         "instance_id", "message"}
    stored = feed.list()[0].to_dict()
    assert "header-secret" not in repr(stored) + repr(result) + caplog.text


def test_failing_custom_webhook_error_hides_url_token(receiver, feed):
    url, state = receiver
    state.answer_status = 500
    send = make_send_notification_handler(feed, timeout=5)
    with pytest.raises(NotificationError, match="HTTP 500") as failure:
        send(task_context("notify.send", {"WEBHOOK_URL": url + "/hook/path-secret"},
                          properties={"channel": "webhook", "method": "PUT"}))
    assert "path-secret" not in str(failure.value)


def test_retried_task_notifies_once(slack, feed):
    send, state = slack
    ctx = task_context("notify.send", VARIABLES)
    assert send(ctx) == send(ctx)
    assert len(state.requests) == 1 and len(feed.list()) == 1


def test_feed_channel_and_default_without_slack(feed):
    send = make_send_notification_handler(feed)
    send(task_context("notify.send", VARIABLES, properties={"message": "hello"},
                      idempotency_key="k1"))
    send(task_context("notify.send", VARIABLES, properties={"channel": "feed"},
                      idempotency_key="k2", process_key="run_batch"))
    newest, oldest = feed.list()
    assert (oldest.channel, oldest.text) == ("feed", "hello")
    assert newest.text == "run_batch finished with status success for model m-42"
    assert [n.id for n in feed.list(channel="slack")] == []


def test_bad_inputs_are_refused(feed):
    send = make_send_notification_handler(feed)
    with pytest.raises(ValidationError, match="channel must be one of"):
        send(task_context("notify.send", properties={"channel": "pigeon"}))
    with pytest.raises(ValidationError, match="needs a 'url'"):
        send(task_context("notify.send", properties={"channel": "webhook"}))
    with pytest.raises(ConfigurationError, match="MLC_SLACK_WEBHOOK"):
        send(task_context("notify.send", properties={"channel": "slack"}))


def test_a_back_test_notification_has_no_automation_or_build_fields(receiver, feed):
    url, state = receiver
    send = make_send_notification_handler(feed, timeout=5)
    send(task_context("notify.send", {"MODEL_ID": "m-42", "WEBHOOK_URL": url + "/hook"},
                      properties={"channel": "webhook"}, process_key="run_back_test",
                      instance_id="inst-4"))
    [request] = state.requests
    assert "automation" not in request.json and "build_id" not in request.json
    assert request.json["process"] == "run_back_test" and request.json["instance_id"] == "inst-4"
    assert request.json["message"] == "run_back_test finished with status success for model m-42"
    [stored] = feed.list()
    assert "automation" not in stored.data and "build_id" not in stored.data
