"""``mlc notifications list``: the local notification feed."""

from __future__ import annotations

import click

from connectors.cli_context import context_service, echo_json

from .feed import NotificationFeed


@click.group("notifications")
def notifications() -> None:
    """Notifications sent by processes (Slack, webhooks, local feed)."""


@notifications.command("list")
@click.option("--channel", type=click.Choice(["slack", "webhook", "feed"]))
@click.option("--instance", "instance_id", help="Only this process instance's.")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_notifications(channel: str | None, instance_id: str | None, limit: int,
                       as_json: bool) -> None:
    """Newest first."""
    feed = context_service(lambda s: s.notifications, lambda obj: NotificationFeed(obj.db))
    found = feed.list(channel=channel, instance_id=instance_id, limit=limit)
    if as_json:
        echo_json([n.to_dict() for n in found])
        return
    for n in found:
        click.echo(f"{n.created_at:%Y-%m-%d %H:%M:%S}  {n.channel:<8} {n.status:<8} {n.title}")
