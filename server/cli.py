"""The `quietroom` command: `serve` runs the server, `check-config` checks its settings,
`staff` manages staff accounts."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import ssl
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from aiohttp import web

from server import logs, staff_file, totp
from server.app import create_app
from server.cluster import ClusterError
from server.config import Config, ConfigError, add_arguments, default_staff_file, from_namespace
from server.state import STATE
from server.tls import reload_certificate, server_context

logger = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 3.0  # how long open connections get to finish when the server stops


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quietroom", description="Private video calls between staff and survivors."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the server",
        description="Run the server. Every option can also be set with its QUIETROOM_* variable.",
    )
    add_arguments(serve)

    check = commands.add_parser(
        "check-config",
        help="check the settings (and the org file) without starting anything",
        description="Check every setting as 'serve' would, the org file included, and say "
        "what is wrong; nothing is started or written.",
    )
    add_arguments(check)

    drain = commands.add_parser(
        "drain",
        help="with --redis: this node takes no new calls and lets its calls finish",
        description="With many nodes (docs/scaling.md): ask the node at --node-address to "
        "take no new calls, the others taking them; its calls go on until they end. Give it "
        "the settings the node runs with (its flags or QUIETROOM_* variables).",
    )
    add_arguments(drain)
    drain.add_argument(
        "--wait", action="store_true", help="wait until the node holds no call, then say so"
    )
    drain.add_argument("--undo", action="store_true", help="take new calls again")

    staff = commands.add_parser("staff", help="manage staff accounts")
    staff.add_argument(
        "--staff-file",
        default=None,
        help=f"[env QUIETROOM_STAFF_FILE; default: {default_staff_file()}]",
    )
    actions = staff.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a staff account, or set a new password")
    add.add_argument("name")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    role = add.add_mutually_exclusive_group()
    role.add_argument(
        "--admin",
        action="store_const",
        const=True,
        dest="admin",
        help="an admin sees how many calls run (not whose) and may end any call",
    )
    role.add_argument(
        "--no-admin", action="store_const", const=False, dest="admin", help="not an admin"
    )
    passwd = actions.add_parser("passwd", help="set a new password for a staff account")
    passwd.add_argument("name")
    passwd.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    second = actions.add_parser(
        "totp",
        help="turn on a second factor (codes from an authenticator app) for a staff account",
    )
    second.add_argument("name")
    second.add_argument("--off", action="store_true", help="turn the second factor off")
    actions.add_parser("list", help="list staff accounts")
    remove = actions.add_parser("remove", help="remove a staff account")
    remove.add_argument("name")
    return parser


def read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise staff_file.StaffFileError("the two passwords differ")
    return first


def run_staff(args: argparse.Namespace, environ: dict[str, str]) -> int:
    path = Path(args.staff_file or environ.get("QUIETROOM_STAFF_FILE") or default_staff_file())
    try:
        if args.action == "add":
            staff_file.check_name(args.name)
            staff_file.add(path, args.name, read_password(args.password_stdin), args.admin)
            role = " (admin)" if args.name in staff_file.admins(path) else ""
            print(f"staff account {args.name!r}{role} saved in {path}")
        elif args.action == "passwd":
            if args.name not in staff_file.read(path):
                print(f"no staff account named {args.name!r}", file=sys.stderr)
                return 1
            staff_file.passwd(path, args.name, read_password(args.password_stdin))
            print(f"new password saved for {args.name!r}")
        elif args.action == "totp":
            secret = None if args.off else totp.new_secret()
            if not staff_file.set_totp(path, args.name, secret):
                print(f"no staff account named {args.name!r}", file=sys.stderr)
                return 1
            if secret is None:
                print(f"second factor turned off for {args.name!r}")
            else:
                print(f"second factor on for {args.name!r}: add this to an authenticator app")
                print(f"  {totp.uri(args.name, secret)}")
                print(f"  (or type the key: {secret})")
        elif args.action == "list":
            accounts = staff_file.load(path)
            for name in sorted(accounts.hashes):
                marks = [
                    m
                    for m, on in (
                        ("admin", name in accounts.admins),
                        ("second factor", name in accounts.totp),
                    )
                    if on
                ]
                print(f"{name} ({', '.join(marks)})" if marks else name)
        elif args.action == "remove":
            if not staff_file.remove(path, args.name):
                print(f"no staff account named {args.name!r}", file=sys.stderr)
                return 1
            print(f"staff account {args.name!r} removed")
    except staff_file.StaffFileError as exc:
        print(f"quietroom staff: {exc}", file=sys.stderr)
        return 2
    return 0


def install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def run_check(config: Config) -> int:
    where = f"the settings and {config.org_file}" if config.org_file else "the settings"
    print(f"{where} are valid")
    if not config.hours.always_open:
        print(f"contact hours are set, in the time zone {config.hours.zone}")
    return 0


DRAIN_POLL_SECONDS = 2.0


async def run_drain(config: Config, wait: bool, undo: bool) -> int:
    """`quietroom drain`: through Redis, the node at --node-address takes no new calls."""
    if not config.redis:
        print("quietroom drain: give the node's --redis and --node-address", file=sys.stderr)
        return 2
    from server.cluster import ClusterUnavailable
    from server.redis_directory import Cluster

    cluster = await Cluster.connect(
        config.redis, config.redis_password, "", config.cluster_secret, True
    )
    try:
        found = await cluster.drain(config.node_address, not undo)
        if not found:
            print("quietroom drain: no node at this --node-address has reported lately")
            return 1
        if undo:
            print("this node takes new calls again")
            return 0
        print("this node takes no new calls; its calls go on")
        while wait:
            await asyncio.sleep(DRAIN_POLL_SECONDS)
            found = [n for n in await cluster.nodes() if n.address == config.node_address]
            left = found[0].calls if found else 0
            if left == 0 and (not found or found[0].draining):
                print("this node holds no call: it can be stopped")
                return 0
    except ClusterUnavailable:
        print("quietroom drain: Redis did not answer", file=sys.stderr)
        return 2
    finally:
        await cluster.close(forget_node=False)
    return 0


def run_serve(config: Config, reload: Callable[[], Config]) -> int:
    logs.setup(config.log_level)
    ssl_context = None
    if not config.plain_http:
        try:
            ssl_context = server_context(config.tls_cert, config.tls_key, config.host)
        except OSError as exc:
            print(f"quietroom serve: cannot load the TLS certificate: {exc}", file=sys.stderr)
            return 2
    scheme = "http" if config.plain_http else "https"
    install_uvloop()

    def announce(site_port: int) -> None:
        host = "localhost" if config.host in ("127.0.0.1", "::1") else config.host
        base = config.public_url or f"{scheme}://{host}:{site_port}"
        print(f"Quietroom is running. Staff sign in at {base}/staff", flush=True)

    asyncio.run(serve_forever(config, ssl_context, announce, reload))
    return 0


async def serve_forever(
    config: Config,
    ssl_context: ssl.SSLContext | None,
    announce: Callable[[int], None],
    reload: Callable[[], Config] | None = None,
) -> None:
    # Signals are handled before anything is announced, so a stop right after start is clean.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = create_app(config)
    if reload is not None:
        loop.add_signal_handler(signal.SIGHUP, reload_settings, app, reload, ssl_context)
    loop.add_signal_handler(signal.SIGUSR1, app[STATE].snapshot_metrics)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port, ssl_context=ssl_context)
        await site.start()
        port = runner.addresses[0][1] if runner.addresses else config.port
        announce(port)
        logger.info("server started")
        await stop.wait()
    finally:
        await runner.cleanup()


def reload_settings(
    app: web.Application, reload: Callable[[], Config], ssl_context: ssl.SSLContext | None
) -> None:
    """SIGHUP: read the settings again, and the TLS certificate (renewed by certbot, say);
    whatever cannot be used is refused and the previous one stays."""
    try:
        fresh = reload()
    except ConfigError as exc:
        logger.warning("settings not reloaded, the previous ones stay: %s", exc)
    else:
        app[STATE].reload(fresh)
        logger.info("settings reloaded")
    config = app[STATE].config  # the certificate's paths are read at start only
    if ssl_context is not None and config.tls_cert:
        try:
            reload_certificate(ssl_context, config.tls_cert, config.tls_key)
        except (OSError, ssl.SSLError) as exc:
            logger.warning("certificate not reloaded, the previous one stays: %s", exc)
            return
        logger.info("certificate reloaded")


def main(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> int:
    env = dict(os.environ if environ is None else environ)
    args = build_parser().parse_args(argv)
    if args.command == "staff":
        return run_staff(args, env)
    try:
        config = from_namespace(args, env)
    except ConfigError as exc:
        print(f"quietroom {args.command}: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        return run_check(config)
    if args.command == "drain":
        try:
            return asyncio.run(run_drain(config, args.wait, args.undo))
        except ClusterError as exc:
            print(f"quietroom drain: {exc}", file=sys.stderr)
            return 2
    try:
        return run_serve(config, lambda: from_namespace(args, env))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"quietroom serve: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except ClusterError as exc:
        print(f"quietroom serve: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
