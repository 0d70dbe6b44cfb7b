"""The aiohttp server: HTTP routes, the /ws signaling socket, staff accounts, config and CLI."""
