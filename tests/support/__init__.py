"""Shared test helpers: real engine processes on real sockets."""
