"""businessRuleTask end to end: Camunda Modeler BPMN + DMN files deployed like Camunda does,
every ``camunda:mapDecisionResult`` mode, versions and bindings, required decisions, the
error paths, and the ``decision.evaluate`` topic through the embedded worker."""

from pathlib import Path

import pytest

from connectors.decisions import register_decision_handlers
from engine import ExecutionError
from engine.persistence import Resource
from tests.support.bpmn import bpmn, chain, external

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GRADING = (FIXTURES / "bpmn" / "grading.bpmn").read_bytes()
SCORES = (FIXTURES / "dmn" / "scores.dmn").read_bytes()
APPROVAL = (FIXTURES / "dmn" / "approval.dmn").read_bytes()
START, END = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />'


def rule_task(ref: str, mode: str | None, result: str = "out", attrs: str = "") -> str:
    mode_attr = f' camunda:mapDecisionResult="{mode}"' if mode else ""
    return (f'<bpmn:businessRuleTask id="decide" camunda:decisionRef="{ref}" '
            f'camunda:resultVariable="{result}"{mode_attr} {attrs} />')


def deploy_decider(harness, pid: str, ref: str, mode: str | None, attrs: str = "") -> None:
    harness.deploy(f"{pid}.bpmn", bpmn(pid, START, rule_task(ref, mode, attrs=attrs), END,
                                       chain("s", "decide", "e")))


def ended_at(harness, instance_id: str) -> list[str]:
    return [h.activity_id for h in harness.engine.history(instance_id)
            if h.kind == "activity.completed" and (h.activity_id or "").startswith("end")]


def test_modeler_bpmn_and_dmn_deployed_together_run_to_the_right_end(harness):
    result = harness.engine.deploy([("grading.bpmn", GRADING), ("scores.dmn", SCORES)])
    assert [p.key for p in result.processes] == ["grading"]
    assert sorted(d.key for d in result.decisions) == ["checks", "grade", "verdict"]

    top = harness.engine.start("grading", {"score": 0.93, "stage": "prod"})
    assert top.status == "completed"
    assert top.variables["grade"] == "A"                       # singleEntry
    assert top.variables["verdict"] == {"approved": True, "reason": "grade A"}  # singleResult
    assert ended_at(harness, top.id) == ["end_approved"]

    dev = harness.engine.start("grading", {"score": 0.6, "stage": "dev"})
    assert dev.variables["verdict"] == {"approved": True, "reason": "grade B is enough for dev"}

    low = harness.engine.start("grading", {"score": 0.2, "stage": "prod"})
    assert low.variables["grade"] is None                      # singleEntry, no rule matched
    assert low.variables["verdict"] == {"approved": False, "reason": "grade none"}
    assert ended_at(harness, low.id) == ["end_rejected"]


def test_diagram_interchange_is_stored_byte_for_byte(harness):
    harness.engine.deploy([("grading.bpmn", GRADING), ("scores.dmn", SCORES)])
    with harness.db.session() as s:
        stored = {r.name: r.content for r in s.query(Resource).all()}
    assert stored == {"grading.bpmn": GRADING, "scores.dmn": SCORES}


@pytest.mark.parametrize("mode, ref, variables, expected", [
    ("singleEntry", "grade", {"score": 0.85}, "A"),
    ("singleEntry", "grade", {"score": 0.1}, None),
    ("singleResult", "grade", {"score": 0.6}, {"grade": "B"}),
    ("singleResult", "grade", {"score": 0.1}, None),
    ("collectEntries", "checks", {"metric": 0.4}, ["below half", "below target"]),
    ("collectEntries", "checks", {"metric": 0.9}, []),
    ("resultList", "checks", {"metric": 0.6}, [{"check": "below target"}]),
    ("resultList", "verdict", {"score": 0.9, "stage": "uat"},
     [{"approved": True, "reason": "grade A"}]),
    (None, "checks", {"metric": 0.4}, [{"check": "below half"}, {"check": "below target"}]),
])
def test_each_map_decision_result_mode(harness, mode, ref, variables, expected):
    harness.deploy("scores.dmn", SCORES)
    deploy_decider(harness, "decider", ref, mode)
    instance = harness.engine.start("decider", variables)
    assert instance.status == "completed"
    assert instance.variables["out"] == expected


def test_required_decision_and_input_variable_of_a_modeler_dmn(harness):
    harness.deploy("approval.dmn", APPROVAL)
    deploy_decider(harness, "approver", "approve", "singleResult")
    ok = harness.engine.start("approver", {"Test Score": 0.91, "environment": "prod",
                                           "drift": 0.1})
    assert ok.variables["out"] == {"approved": True, "reason": "score 0.91 in prod"}
    # risk_band (required decision) says "high" when drift > 0.3, which rule 1 excludes
    risky = harness.engine.start("approver", {"Test Score": 0.91, "environment": "prod",
                                              "drift": 0.5})
    assert risky.variables["out"] == {"approved": False, "reason": "rejected"}


def test_bpmn_deployed_before_its_dmn_and_latest_version_wins(harness):
    deploy_decider(harness, "decider", "grade", "singleEntry")
    with pytest.raises(ExecutionError, match="grade"):          # no decision deployed yet
        harness.engine.start("decider", {"score": 0.75})
    assert harness.engine.list_instances() == []

    first = harness.deploy("scores.dmn", SCORES)
    assert {d.key: d.version for d in first.decisions}["grade"] == 1
    assert harness.engine.start("decider", {"score": 0.75}).variables["out"] == "B"

    again = harness.deploy("scores.dmn", SCORES)
    assert "grade" in again.filtered
    lowered = SCORES.replace(b"<text>&gt;= 0.8</text>", b"<text>&gt;= 0.7</text>").replace(
        b"<text>[0.5..0.8[</text>", b"<text>[0.5..0.7[</text>")
    second = harness.deploy("scores.dmn", lowered)
    assert {d.key: d.version for d in second.decisions}["grade"] == 2
    assert harness.engine.start("decider", {"score": 0.75}).variables["out"] == "A"


def test_version_binding_pins_the_decision_version(harness):
    harness.deploy("scores.dmn", SCORES)
    harness.deploy("scores.dmn", SCORES.replace(b'"A"', b'"A+"'))
    deploy_decider(harness, "pinned", "grade", "singleEntry",
                   'camunda:decisionRefBinding="version" camunda:decisionRefVersion="1"')
    deploy_decider(harness, "latest", "grade", "singleEntry")
    assert harness.engine.start("pinned", {"score": 0.9}).variables["out"] == "A"
    assert harness.engine.start("latest", {"score": 0.9}).variables["out"] == "A+"

    deploy_decider(harness, "missing", "grade", "singleEntry",
                   'camunda:decisionRefBinding="version" camunda:decisionRefVersion="7"')
    with pytest.raises(ExecutionError, match="version 7"):
        harness.engine.start("missing", {"score": 0.9})


def test_deployment_and_version_tag_bindings(harness):
    def scores(tag: str, grade: str) -> bytes:
        return SCORES.replace(b'<decision id="grade" name="grade">',
                              f'<decision id="grade" name="grade" camunda:versionTag="{tag}">'
                              .encode()).replace(b'"A"', f'"{grade}"'.encode())

    same = bpmn("same", START, rule_task("grade", "singleEntry",
                                         attrs='camunda:decisionRefBinding="deployment"'),
                END, chain("s", "decide", "e"))
    harness.engine.deploy([("scores.dmn", scores("2024", "A")), ("same.bpmn", same)])
    harness.deploy("scores.dmn", scores("2025", "A+"))
    deploy_decider(harness, "by_tag", "grade", "singleEntry",
                   'camunda:decisionRefBinding="versionTag" camunda:decisionRefVersionTag="2024"')
    deploy_decider(harness, "latest", "grade", "singleEntry")
    assert harness.engine.start("same", {"score": 0.9}).variables["out"] == "A"
    assert harness.engine.start("by_tag", {"score": 0.9}).variables["out"] == "A"
    assert harness.engine.start("latest", {"score": 0.9}).variables["out"] == "A+"

    deploy_decider(harness, "missing", "grade", "singleEntry",
                   'camunda:decisionRefBinding="versionTag" camunda:decisionRefVersionTag="2030"')
    with pytest.raises(ExecutionError, match="'grade' with camunda:versionTag '2030'"):
        harness.engine.start("missing", {"score": 0.9})


def test_feel_type_mismatch_matches_no_rule_and_yields_null(harness):
    harness.deploy("scores.dmn", SCORES)
    deploy_decider(harness, "decider", "grade", "singleEntry")
    instance = harness.engine.start("decider", {"score": "high"})  # string vs number: null
    assert instance.status == "completed"
    assert instance.variables["out"] is None


def test_single_result_with_two_matches_fails_the_start_naming_the_decision(harness):
    harness.deploy("scores.dmn", SCORES)
    deploy_decider(harness, "decider", "checks", "singleResult")
    with pytest.raises(ExecutionError) as info:
        harness.engine.start("decider", {"metric": 0.4})
    assert "'Checks'" in info.value.message and "singleResult" in info.value.message
    assert harness.engine.list_instances() == []                 # rolled back, nothing stored


def test_single_entry_with_two_outputs_is_an_error(harness):
    harness.deploy("scores.dmn", SCORES)
    deploy_decider(harness, "decider", "verdict", "singleEntry")
    with pytest.raises(ExecutionError, match="exactly one entry"):
        harness.engine.start("decider", {"score": 0.9, "stage": "prod"})


def test_decision_error_after_a_wait_state_opens_an_incident(harness):
    harness.deploy("scores.dmn", SCORES)
    harness.deploy("p.bpmn", bpmn("late", START, external("prep", "prep"),
                                  rule_task("checks", "singleResult"), END,
                                  chain("s", "prep", "decide", "e")))
    harness.handle("prep", lambda ctx: {"metric": 0.4})
    instance = harness.engine.start("late")
    harness.drain()
    state = harness.engine.get_instance(instance.id)
    assert state.status == "incident"
    [incident] = state.incidents
    assert "'Checks'" in incident.message and "singleResult" in incident.message
    assert state.active_activities == ["prep"]                # still before the rule task

    # the operator fixes the cause (a table that no longer double-matches) and retries
    harness.deploy("scores.dmn", SCORES.replace(b"<text>&lt; 0.7</text>",
                                                b"<text>[0.5..0.7[</text>"))
    harness.tasks.retry_incident(incident.id)
    done = harness.engine.get_instance(instance.id)
    assert done.status == "completed"
    assert done.variables["out"] == {"check": "below half"}


def test_decision_evaluate_topic_through_the_worker(harness):
    register_decision_handlers(harness.handlers, harness.engine)
    harness.deploy("approval.dmn", APPROVAL)
    harness.deploy("p.bpmn", bpmn(
        "judge", START, external("judge_task", "decision.evaluate"),
        '<bpmn:exclusiveGateway id="g" default="f_no" />', END, '<bpmn:endEvent id="e_no" />',
        '<bpmn:sequenceFlow id="f_s" sourceRef="s" targetRef="judge_task" />',
        '<bpmn:sequenceFlow id="f_j" sourceRef="judge_task" targetRef="g" />',
        '<bpmn:sequenceFlow id="f_yes" sourceRef="g" targetRef="e"><bpmn:conditionExpression '
        'xsi:type="bpmn:tFormalExpression">${DECISION_PASSED}</bpmn:conditionExpression>'
        '</bpmn:sequenceFlow>',
        '<bpmn:sequenceFlow id="f_no" sourceRef="g" targetRef="e_no" />'))
    base = {"DECISION_KEY": "approve", "environment": "prod", "drift": 0.1}
    passed = harness.engine.start("judge", {**base, "TEST_RESULTS": {"Test Score": 0.95}})
    failed = harness.engine.start("judge", {**base, "TEST_RESULTS": {"Test Score": 0.3}})
    assert harness.drain() == 2
    good = harness.engine.get_instance(passed.id)
    assert good.status == "completed" and good.variables["DECISION_PASSED"] is True
    assert good.variables["DECISION_RULES"] == ["r_high_prod"]
    assert good.variables["DECISION_RESULT"] == [{"approved": True,
                                                     "reason": "score 0.95 in prod"}]
    bad = harness.engine.get_instance(failed.id)
    assert bad.variables["DECISION_PASSED"] is False
    assert bad.variables["DECISION_RULES"] == ["r_other"]
    assert ended_at(harness, failed.id) == [] and "e_no" in [
        h.activity_id for h in harness.engine.history(failed.id)]


def test_decision_evaluate_without_a_key_is_an_uncaught_bpmn_error(harness):
    register_decision_handlers(harness.handlers, harness.engine)
    harness.deploy("p.bpmn", bpmn("judge", START, external("judge_task", "decision.evaluate"),
                                  END, chain("s", "judge_task", "e")))
    instance = harness.engine.start("judge", {})
    harness.drain()
    state = harness.engine.get_instance(instance.id)
    assert state.status == "incident"
    assert "NO_DECISION" in state.incidents[0].message
