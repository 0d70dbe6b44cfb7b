"""The load generator: simulated participants driving a running server through its API and /ws."""
