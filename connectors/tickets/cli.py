"""``mlc tickets ...``: list, show and transition tickets (the local back end's review UI).

Collaborators come from ``click.get_current_context().obj``: an object with ``db``,
``settings`` and ``engine`` (the facade, used to resume processes on a decision). Failures
propagate to ``mlc``'s root group, which reports them in one line.
"""

from __future__ import annotations

import click

from connectors.cli_context import context_service, echo_json
from engine.errors import ValidationError

from .factory import TicketComponents, build_ticket_components


def _components() -> TicketComponents:
    return context_service(lambda s: s.tickets, lambda obj: build_ticket_components(
        obj.settings, obj.db, obj.engine))


def _parse_fields(pairs: tuple[str, ...]) -> dict[str, str]:
    fields = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValidationError(f"--field expects \"Name=value\", not {pair!r}")
        fields[name.strip()] = value.strip()
    return fields


@click.group("tickets")
def tickets() -> None:
    """Tickets opened by processes (local, Jira, ServiceNow)."""


@tickets.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include decided tickets.")
@click.option("--system", type=click.Choice(["local", "jira", "servicenow"]))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_tickets(show_all: bool, system: str | None, as_json: bool) -> None:
    """List open tickets (or all with --all)."""
    parts = _components()
    found = parts.store.list(system=system)
    if not show_all:
        found = [t for t in found if not parts.resolver.is_terminal(t.system, t.status)]
    if as_json:
        echo_json([t.to_dict() for t in found])
        return
    for t in found:
        click.echo(f"{t.key:<14} {t.system:<10} {t.status:<12} {t.kind:<12} {t.summary}")


@tickets.command("show")
@click.argument("key")
@click.option("--system", type=click.Choice(["local", "jira", "servicenow"]),
              help="The ticket's system; needed when the key exists on several.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_ticket(key: str, system: str | None, as_json: bool) -> None:
    """Show one ticket with its history."""
    parts = _components()
    ticket = parts.store.get(key, system)
    events = parts.store.events(key, ticket.system)
    if as_json:
        echo_json({**ticket.to_dict(), "events": events})
        return
    click.echo(f"{ticket.key}  [{ticket.system}]  {ticket.status}\n{ticket.summary}\n")
    for name, value in ticket.fields.items():
        click.echo(f"{name}: {value}")
    if ticket.description:
        click.echo("\n" + ticket.description.rstrip())
    for event in events:
        change = f"{event['from_status'] or ''} -> {event['to_status']}" if event["to_status"] \
            else ""
        click.echo(f"{event['created_at']}  {event['event']:<10} {change} {event['body']}")


@tickets.command("transition")
@click.argument("key")
@click.argument("status")
@click.option("--field", "field_pairs", multiple=True, metavar="NAME=VALUE",
              help='Set a field on the way, e.g. --field "Expiration Date=2027-06-30".')
@click.option("--system", type=click.Choice(["local", "jira", "servicenow"]),
              help="The ticket's system; needed when the key exists on several.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def transition_ticket(key: str, status: str, field_pairs: tuple[str, ...], system: str | None,
                      as_json: bool) -> None:
    """Move a ticket to STATUS; a decision (Done, Rejected...) resumes the waiting process."""
    ticket, resolution = _components().transition(key, status, _parse_fields(field_pairs),
                                                  system)
    outcome = resolution.to_dict() if resolution else None
    if as_json:
        echo_json({"ticket": ticket.to_dict(), "resolution": outcome})
        return
    click.echo(f"{ticket.key} is now {ticket.status}"
               + (f" ({resolution.outcome}" + (f": {', '.join(resolution.instance_ids)}"
                                               if resolution.instance_ids else "") + ")"
                  if resolution else ""))
