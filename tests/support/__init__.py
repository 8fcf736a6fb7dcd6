"""What tests share and that holds no tests: engine harnesses, BPMN snippets, app and server
fixtures, the whole-MLC world, automation and chaos building blocks. Fakes of outside systems
(Jira, ServiceNow, webhooks) are in ``tests/fakes``."""
