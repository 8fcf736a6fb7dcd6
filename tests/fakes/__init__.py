"""Test-only stand-ins for the outside world: HTTP servers for Jira, ServiceNow and webhook
receivers on 127.0.0.1, and a recording message correlator standing in for the engine.

They are real servers spoken to by the real client libraries, reusable by acceptance tests.
"""
