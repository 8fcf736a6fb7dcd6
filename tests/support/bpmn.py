"""Tiny helpers to write test processes as readable BPMN snippets."""

from __future__ import annotations

HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
          'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
          'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs" '
          'targetNamespace="http://bpmn.io/schema/bpmn">\n')


def flow(source: str, target: str, condition: str | None = None, fid: str | None = None) -> str:
    fid = fid or f"f_{source}_{target}"
    if condition is None:
        return f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}" />'
    cond = condition.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}">'
            f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{cond}'
            '</bpmn:conditionExpression></bpmn:sequenceFlow>')


def chain(*ids: str) -> str:
    return "\n".join(flow(a, b) for a, b in zip(ids, ids[1:]))


def external(tid: str, topic: str, extra: str = "", attrs: str = "") -> str:
    return (f'<bpmn:serviceTask id="{tid}" camunda:type="external" camunda:topic="{topic}" {attrs}>'
            f'{extra}</bpmn:serviceTask>')


def definitions(*processes: str, extra: str = "") -> bytes:
    return (HEADER + extra + "\n".join(processes) + "\n</bpmn:definitions>\n").encode()


def process(pid: str, *body: str, executable: bool = True) -> str:
    return (f'<bpmn:process id="{pid}" isExecutable="{"true" if executable else "false"}">\n'
            + "\n".join(body) + "\n</bpmn:process>")


def bpmn(pid: str, *body: str, extra: str = "") -> bytes:
    """A one-process BPMN document."""
    return definitions(process(pid, *body), extra=extra)
