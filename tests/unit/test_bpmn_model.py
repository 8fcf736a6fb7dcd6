"""What the model promises the runner: fields the parser guarantees per element kind read
through accessors that name the element when the promise is broken (an engine bug), instead
of an AttributeError on None deep in the runner."""

import pytest

from engine.bpmn.model import (
    CallMapping,
    EventDefinition,
    Kind,
    Listener,
    MultiInstance,
    Node,
    Trigger,
)
from engine.bpmn.state import InstanceState, ScopeKind
from engine.errors import ExecutionFault


def test_an_event_node_gives_its_definition_and_another_node_names_itself():
    event = EventDefinition(Trigger.SIGNAL, name="go")
    assert Node("Catch_1", Kind.CATCH, event=event).event_definition is event
    with pytest.raises(ExecutionFault, match="'Task_1'"):
        _ = Node("Task_1", Kind.TASK).event_definition


def test_a_multi_instance_activity_gives_its_loop_and_a_plain_one_names_itself():
    loop = MultiInstance(sequential=True)
    assert Node("Task_1", Kind.TASK, multi=loop).loop is loop
    with pytest.raises(ExecutionFault, match="'Task_2'"):
        _ = Node("Task_2", Kind.TASK).loop


def test_timer_target_and_timeout_accessors_name_what_lacks_them():
    with pytest.raises(ExecutionFault, match="'Timer_1'"):
        EventDefinition(Trigger.TIMER).timer_of("Timer_1")
    with pytest.raises(ExecutionFault, match="'remind'"):
        _ = Listener("timeout", listener_id="remind").timer
    with pytest.raises(ExecutionFault, match="'score'"):
        _ = CallMapping(source="score").target_name
    assert CallMapping(source="score", target="s").target_name == "s"


def test_owner_and_local_scope_of_the_instance_state():
    state = InstanceState()
    root = state.new_scope(None, ScopeKind.PROCESS, "p")
    token = state.new_token("Sub_1", root.id)
    child = state.new_scope(root.id, ScopeKind.SUB, "Sub_1", owner=token.id)
    assert state.owner_of(child) is token
    with pytest.raises(ExecutionFault, match="'p'"):
        state.owner_of(root)
    with pytest.raises(ExecutionFault, match="'Sub_1'"):
        state.local_of(token)
    token.local = child.id
    assert state.local_of(token) is child
