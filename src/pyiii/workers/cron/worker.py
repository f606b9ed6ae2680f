"""``iii-cron`` (alias ``cron``): the ``cron`` trigger type (spec/workers.md §10).

Trigger config ``{expression, timezone?, condition_function_id?}``; the job id is the trigger
id; the handler gets ``{trigger: "cron", job_id, scheduled_time, actual_time}`` (RFC 3339 UTC).
"""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from pyiii.core import Binding, CallContext, Host, SpanKind, TriggerRegistrationError
from pyiii.cron_expressions import CronError, CronSchedule
from pyiii.workers.base import BuiltinWorker, WorkerContext
from pyiii.workers.cron import MANIFEST
from pyiii.workers.cron.adapters.base import TickLock
from pyiii.workers.cron.adapters.local import LocalTickLock
from pyiii.workers.cron.config import CronConfig, KvLockConfig, RedisLockConfig
from pyiii.workers.cron.job import CronJob, rfc3339

log = logging.getLogger("pyiii.cron")


def build_lock(config: CronConfig) -> TickLock:
    if config.adapter.name == "redis":
        from pyiii.workers.cron.adapters.redis import RedisTickLock  # redis-py only when configured

        return RedisTickLock(msgspec.convert(config.adapter.config, RedisLockConfig))
    return LocalTickLock(msgspec.convert(config.adapter.config, KvLockConfig).lock_ttl_ms)


def zone(name: Any) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise TriggerRegistrationError(f"timezone must be an IANA zone name such as 'Europe/Paris', got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TriggerRegistrationError(f"unknown timezone '{name}'") from None


class CronWorker(BuiltinWorker):
    manifest = MANIFEST
    description = "Runs functions on cron schedules (seconds first, UTC or a chosen time zone)."
    config_type = CronConfig

    def __init__(self, host: Host, config: Any, entry_id: str, context: WorkerContext) -> None:
        super().__init__(host, config, entry_id, context)
        self.lock = build_lock(config)
        self.jobs: dict[str, CronJob] = {}
        self.bindings: dict[str, Binding] = {}

    async def start(self) -> None:
        zone(self.config.default_timezone)
        await self.host.register_trigger_type(
            "cron", self, worker=self.kind,
            description="{expression: 'sec min hour dom month dow [year]', timezone?, condition_function_id?}")
        self.host.register_function("engine::cron::list_jobs", self._list_jobs, worker=self.entry_id,
                                      description="pyiii: every cron job with its next and last run")

    async def stop(self) -> None:
        for job in list(self.jobs.values()):
            await job.stop()
        self.jobs.clear()
        await self.lock.close()

    async def register_trigger(self, binding: Binding) -> None:
        config = binding.config if isinstance(binding.config, dict) else {}
        expression = config.get("expression")
        if not isinstance(expression, str) or not expression.strip():
            raise TriggerRegistrationError("Cron expression is required")
        try:
            schedule = CronSchedule.parse(expression)
        except CronError as exc:
            raise TriggerRegistrationError(f"Invalid cron expression '{expression}': {exc}") from None
        tz = zone(config.get("timezone") or self.config.default_timezone)
        condition = config.get("condition_function_id")
        if condition is not None and not isinstance(condition, str):
            raise TriggerRegistrationError("condition_function_id must be a string")
        old = self.jobs.pop(binding.id, None)
        if old is not None:
            await old.stop()
        # SDKs give every registration a fresh trigger id, so engines running the same app
        # agree on the job by what it runs and when, not by id.
        lock_id = f"{binding.function_id}|{' '.join(expression.split())}|{tz.key}"
        job = CronJob(binding.id, schedule, tz, self.lock, self._firer(binding, condition),
                      self.config.misfire_grace_ms, lock_id)
        self.jobs[binding.id] = job
        self.bindings[binding.id] = binding
        job.start()

    async def unregister_trigger(self, binding: Binding) -> None:
        job = self.jobs.pop(binding.id, None)
        self.bindings.pop(binding.id, None)
        if job is not None:
            await job.stop()

    async def _list_jobs(self, data: Any, ctx: CallContext) -> Any:
        jobs = []
        for job_id, job in self.jobs.items():
            binding = self.bindings.get(job_id)
            next_run = job.next_run()
            tz = job.tz.key if isinstance(job.tz, ZoneInfo) else str(job.tz)
            jobs.append({
                "job_id": job_id, "function_id": binding.function_id if binding else None,
                "expression": job.schedule.expression, "timezone": tz,
                "next_run": rfc3339(next_run) if next_run else None, "last_run": job.last_run,
                "fired": job.fired, "skipped_missed": job.skipped_missed,
            })
        return {"jobs": jobs}

    def _firer(self, binding: Binding, condition: str | None) -> Any:
        host = self.host
        tracer = host.tracer

        async def run(payload: dict[str, Any], traceparent: str | None) -> None:
            if condition:
                verdict = await host.call_for(binding, condition, payload, metadata=binding.metadata,
                                              traceparent=traceparent)
                if verdict is False:
                    return
            await host.fire(binding, payload, traceparent=traceparent)

        async def fire(payload: dict[str, Any]) -> None:
            if not tracer.enabled:
                await run(payload, None)
                return
            # Each tick starts a trace named after what it runs (`cron <function id>`; the
            # reference says `cron_trigger` for every job), with the condition and the call under it.
            with tracer.start_span(f"cron {binding.function_id}", SpanKind.PRODUCER, None, {
                "iii.trigger.type": "cron", "faas.trigger": "timer", "faas.cron": binding.config.get("expression"),
                "cron.job_id": payload["job_id"], "cron.scheduled_time": payload["scheduled_time"],
                "faas.invoked_name": binding.function_id,
            }) as span:
                await run(payload, span.traceparent)

        return fire
