"""Prometheus figures per notification target: sent, given up, failed tries, pending, last latency."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from tortoise.functions import Count

from appliance.db.models.notify import DeliveryState, NotificationDelivery, NotificationTarget
from appliance.notify.delivery import DeliveryQueue

PREFIX = "wardcam_notification"


async def metric_families(queue: DeliveryQueue) -> list[Metric]:
    """Read the figures of every target now."""
    names = {row.id: row.name for row in await NotificationTarget.all()}
    pending_rows = (
        await NotificationDelivery.filter(state=DeliveryState.PENDING, target_id__isnull=False)
        .annotate(count=Count("id"))
        .group_by("target_id")
        .values("target_id", "count")
    )
    pending = {int(r["target_id"]): int(r["count"]) for r in pending_rows}
    labels = ["target"]
    sent = CounterMetricFamily(f"{PREFIX}_sent", "Notifications delivered, per target, since the start.", labels=labels)
    failed = CounterMetricFamily(f"{PREFIX}_failed", "Notifications given up after every try, per target.",
                                 labels=labels)  # fmt: skip
    tries = CounterMetricFamily(f"{PREFIX}_failed_attempts", "Tries that failed (retried or not), per target.",
                                labels=labels)  # fmt: skip
    waiting = GaugeMetricFamily(f"{PREFIX}_pending", "Notifications waiting for a try, per target.", labels=labels)
    latency = GaugeMetricFamily(f"{PREFIX}_last_latency_seconds",
                                "Seconds from the event to its delivery, last delivery, per target.",
                                labels=labels)  # fmt: skip
    for target_id, name in sorted(names.items()):
        figures = queue.figures.get(target_id)
        sent.add_metric([name], figures.sent if figures else 0)
        failed.add_metric([name], figures.failed if figures else 0)
        tries.add_metric([name], figures.failed_attempts if figures else 0)
        waiting.add_metric([name], pending.get(target_id, 0))
        if figures is not None and figures.last_latency_s is not None:
            latency.add_metric([name], figures.last_latency_s)
    return [sent, failed, tries, waiting, latency]
