"""The small per-automation process that the engine's timer scheduler runs.

``automation_<name>`` = start event (a cron ``timeCycle`` timer for scheduled automations
while active; a plain start event when paused or metric-triggered) -> ``automation.prepare``
(loads the automation into variables) -> call activity ``build_and_deploy``. Scheduling is
thereby the engine's own: the timer-start subscription fires exactly once per due time, also
with several schedulers and after downtime, and pausing is deploying a version without the
timer (which drops the subscription). Diagram interchange is included, so the generated file
opens in Camunda Modeler too.
"""

from __future__ import annotations

import hashlib
import re
from xml.sax.saxutils import escape

BUILD_AND_DEPLOY_KEY = "build_and_deploy"


def process_key(name: str) -> str:
    """A valid BPMN id for the automation's process, distinct even for names that differ
    only in punctuation."""
    slug = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return f"automation_{slug}_{hashlib.sha1(name.encode()).hexdigest()[:6]}"


def schedule_bpmn(name: str, cron: str | None) -> bytes:
    """The automation's process; ``cron`` None gives a start event without a timer."""
    key = process_key(name)
    if cron:
        start = ('<bpmn:startEvent id="Start_Automation" name="On schedule">'
                 '<bpmn:outgoing>Flow_ToPrepare</bpmn:outgoing>'
                 '<bpmn:timerEventDefinition id="Timer_Schedule">'
                 f'<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">{escape(cron)}</bpmn:timeCycle>'
                 '</bpmn:timerEventDefinition></bpmn:startEvent>')
    else:
        start = ('<bpmn:startEvent id="Start_Automation" name="On trigger">'
                 '<bpmn:outgoing>Flow_ToPrepare</bpmn:outgoing></bpmn:startEvent>')
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Definitions_{key}" targetNamespace="http://mlc-engine.dev/automations" exporter="MLC Engine automations" exporterVersion="1">
  <bpmn:process id="{key}" name="Automation {escape(name)}" isExecutable="true">
    {start}
    <bpmn:serviceTask id="Task_Prepare" name="Load automation" camunda:type="external" camunda:topic="automation.prepare">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="AUTOMATION">{escape(name)}</camunda:inputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_ToPrepare</bpmn:incoming>
      <bpmn:outgoing>Flow_ToBuild</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:callActivity id="Call_BuildAndDeploy" name="Build and deploy" calledElement="{BUILD_AND_DEPLOY_KEY}">
      <bpmn:extensionElements>
        <camunda:in variables="all" />
        <camunda:out variables="all" />
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_ToBuild</bpmn:incoming>
      <bpmn:outgoing>Flow_ToEnd</bpmn:outgoing>
    </bpmn:callActivity>
    <bpmn:endEvent id="End_Automation" name="Run finished">
      <bpmn:incoming>Flow_ToEnd</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_ToPrepare" sourceRef="Start_Automation" targetRef="Task_Prepare" />
    <bpmn:sequenceFlow id="Flow_ToBuild" sourceRef="Task_Prepare" targetRef="Call_BuildAndDeploy" />
    <bpmn:sequenceFlow id="Flow_ToEnd" sourceRef="Call_BuildAndDeploy" targetRef="End_Automation" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_{key}">
    <bpmndi:BPMNPlane id="Plane_{key}" bpmnElement="{key}">
      <bpmndi:BPMNShape id="Start_Automation_di" bpmnElement="Start_Automation"><dc:Bounds x="152" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Task_Prepare_di" bpmnElement="Task_Prepare"><dc:Bounds x="240" y="80" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Call_BuildAndDeploy_di" bpmnElement="Call_BuildAndDeploy"><dc:Bounds x="400" y="80" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="End_Automation_di" bpmnElement="End_Automation"><dc:Bounds x="562" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="Flow_ToPrepare_di" bpmnElement="Flow_ToPrepare"><di:waypoint x="188" y="120" /><di:waypoint x="240" y="120" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_ToBuild_di" bpmnElement="Flow_ToBuild"><di:waypoint x="340" y="120" /><di:waypoint x="400" y="120" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_ToEnd_di" bpmnElement="Flow_ToEnd"><di:waypoint x="500" y="120" /><di:waypoint x="562" y="120" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
""".encode()
