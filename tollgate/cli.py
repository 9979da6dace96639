"""The `tollgate` command (DESIGN.md §6)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from tollgate_shared.settings import SettingsError, configuration_problem

SERVICE_NAMES = ("auth", "billing", "invoicing", "gateway")
# tollgate.broker_users.ROLES, without importing every service's handlers to draw the command line.
BROKER_ROLES = ("auth", "billing", "invoicing", "gateway", "finance", "operator", "keda")
USAGE_ERROR = 2  # what argparse exits with for a wrong command line; a wrong configuration is the same kind


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tollgate", description="Run and operate Tollgate.")
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="the embedded default: one process, SQLite, in-process bus")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument("--data-dir", type=Path, default=Path(os.environ.get("TOLLGATE_DATA_DIR", "data")))
    dev.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="port of every service's /metrics on 127.0.0.1 (default: TOLLGATE_METRICS_PORT, else 9464)",
    )

    serve = commands.add_parser("serve", help="one service as its own process (PostgreSQL, RabbitMQ)")
    serve.add_argument("service", choices=SERVICE_NAMES)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--instance", help="name of this replica (connection name on the broker)")
    serve.add_argument(
        "--metrics-port",
        type=int,
        help="management port serving /metrics (default: TOLLGATE_METRICS_PORT; unset: none)",
    )
    serve.add_argument("--metrics-host", help="address of the management port (default: TOLLGATE_METRICS_HOST)")

    stack = commands.add_parser("stack", help="the distributed system on this machine")
    stack.add_argument("--port", type=int, default=8000)
    stack.add_argument(
        "--base-port", type=int, default=8101, help="auth's port; the billing replicas and invoicing take the next ones"
    )
    stack.add_argument("--billing-replicas", type=_positive, default=2, metavar="N", help="billing processes")
    stack.add_argument(
        "--metrics-base-port", type=int, default=9464, help="first of the loopback metrics ports, one per process"
    )

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("service", nargs="?", choices=("auth", "billing", "invoicing"))
    migrate.add_argument("--data-dir", type=Path, help="the embedded data folder (default: TOLLGATE_DATA_DIR)")

    staff = commands.add_parser("staff", help="platform staff users")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True)
    staff_create = staff_commands.add_parser(
        "create", help="create a staff user (password: TOLLGATE_STAFF_PASSWORD or a prompt)"
    )
    staff_create.add_argument("--email", required=True)
    staff_create.add_argument("--role", required=True, choices=("finance",))
    staff_create.add_argument("--data-dir", type=Path, help="the embedded data folder (default: TOLLGATE_DATA_DIR)")

    auth = commands.add_parser("auth", help="auth operations")
    auth_commands = auth.add_subparsers(dest="auth_command", required=True)
    rotate = auth_commands.add_parser("rotate-keys", help="sign access tokens with a new key from now on")
    rotate.add_argument("--data-dir", type=Path, help="the embedded data folder (default: TOLLGATE_DATA_DIR)")

    billing = commands.add_parser("billing", help="billing operations")
    billing_commands = billing.add_subparsers(dest="billing_command", required=True)
    reconcile = billing_commands.add_parser("reconcile", help="prove every balance equals the sum of its ledger")
    reconcile.add_argument("--data-dir", type=Path, help="the embedded data folder (default: TOLLGATE_DATA_DIR)")

    asyncapi = commands.add_parser("asyncapi", help="write the AsyncAPI document of the event contract")
    asyncapi.add_argument("--output", type=Path, default=Path("docs/asyncapi.yaml"))

    broker = commands.add_parser("broker", help="RabbitMQ logins")
    broker_commands = broker.add_subparsers(dest="broker_command", required=True)
    definitions = broker_commands.add_parser(
        "definitions",
        help="write RabbitMQ definitions: the vhost and a least-privilege login per role "
        "(passwords: TOLLGATE_BROKER_<ROLE>_PASSWORD)",
    )
    definitions.add_argument("--output", type=Path, required=True)
    definitions.add_argument("--vhost", default="/")
    definitions.add_argument(
        "--role",
        dest="roles",
        action="append",
        choices=BROKER_ROLES,
        help="a login to create (repeat it; default: every role but keda, which is for Kubernetes)",
    )
    definitions.add_argument(
        "--administrator", metavar="NAME", help="also a login for people (password: TOLLGATE_BROKER_ADMIN_PASSWORD)"
    )

    dlq = commands.add_parser("dlq", help="dead-lettered messages")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True)
    dlq_list = dlq_commands.add_parser("list", help="list parked messages")
    dlq_list.add_argument("--queue", help="one work queue, e.g. billing.auth-events")
    dlq_replay = dlq_commands.add_parser("replay", help="move parked messages back to their queue")
    dlq_replay.add_argument("--queue")
    dlq_replay.add_argument("--id", dest="message_id", help="only this message")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not 1 or more")
    return value


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "data_dir", None) is not None:
        os.environ["TOLLGATE_DATA_DIR"] = str(args.data_dir)
    try:
        return _run(args)
    except (SettingsError, ValidationError) as error:
        # A configuration mistake is the operator's to fix: one line saying what to set, not a traceback.
        problem = configuration_problem(error)
        if problem is None:
            raise
        print(f"tollgate: {problem}", file=sys.stderr)
        return USAGE_ERROR


def _run(args: argparse.Namespace) -> int:
    if args.command == "dev":
        from tollgate.dev import run_dev

        run_dev(args.port, args.data_dir, metrics_port=args.metrics_port)
        return 0
    if args.command == "serve":
        from tollgate.serve import run_service

        run_service(
            args.service,
            args.host,
            args.port,
            args.instance,
            metrics_port=args.metrics_port,
            metrics_host=args.metrics_host,
        )
        return 0
    if args.command == "stack":
        from tollgate.stack import run_stack

        return run_stack(args.port, args.base_port, args.billing_replicas, metrics_base_port=args.metrics_base_port)
    if args.command == "migrate":
        from tollgate.migrate import migrate

        migrate([args.service] if args.service else None)
        return 0
    if args.command == "staff":
        from tollgate.auth_admin import create_staff

        return create_staff(args.email, args.role)
    if args.command == "auth":
        from tollgate.auth_admin import rotate_keys

        return rotate_keys()
    if args.command == "billing":
        from tollgate.reconcile import reconcile

        return reconcile()
    if args.command == "asyncapi":
        from tollgate_shared.events.asyncapi import render

        args.output.write_text(render())
        print(f"wrote {args.output}")
        return 0
    if args.command == "broker":
        from tollgate.broker_users import COMPOSE_ROLES, write_definitions

        roles = tuple(args.roles or COMPOSE_ROLES)
        write_definitions(args.output, vhost=args.vhost, roles=roles, administrator=args.administrator, env=os.environ)
        people = f" and {args.administrator}" if args.administrator else ""
        print(f"wrote {args.output}: logins {', '.join(roles)}{people}")
        return 0
    if args.command == "dlq":
        from tollgate.dlq import dlq_list, dlq_replay

        return dlq_list(args.queue) if args.dlq_command == "list" else dlq_replay(args.queue, args.message_id)
    return 2


if __name__ == "__main__":
    sys.exit(main())
