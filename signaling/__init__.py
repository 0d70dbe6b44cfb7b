"""Signaling: the message protocol, calls, lobby and invites, kept in memory (no I/O, no clock)."""
