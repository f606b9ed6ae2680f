"""Tick-lock backends of ``iii-cron`` behind :class:`.base.TickLock`."""
