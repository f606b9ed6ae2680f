"""Kept for bench/qbench.py's raw websockets client until it moves to :mod:`pyiii.wsio`;
pyiii itself batches through ``wsio.Connection.post_text``."""

from pyiii.wsio.websockets_batch import can_write_now, wait_writable, write_text_frames

__all__ = ["can_write_now", "wait_writable", "write_text_frames"]
