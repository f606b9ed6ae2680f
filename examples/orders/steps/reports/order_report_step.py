"""Every 5 minutes: count orders by status into state ``reports/latest``."""

from collections import Counter
from datetime import UTC, datetime

from pyiii.steps import FlowContext, cron

config = {"name": "OrderReport", "triggers": [cron("0 */5 * * * *")], "flows": ["orders"]}


async def handler(_input: None, ctx: FlowContext) -> None:
    orders = await ctx.state.list("orders")
    counts = Counter(order.get("status", "unknown") for order in orders)
    report = {"at": datetime.now(UTC).isoformat(), "total": len(orders), "by_status": dict(counts)}
    await ctx.state.set("reports", "latest", report)
    ctx.logger.info("order report", report)
