"""`tollgate-finance` (or `python -m finance_approval`): the reference finance approval service."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from finance_approval import desk, service
from finance_approval.broker import BROKER_ERRORS
from finance_approval.contract import format_money
from finance_approval.held import HeldSubmissions
from finance_approval.rules import BadRules, load_rules
from finance_approval.settings import BadSettings, FinanceSettings

log = logging.getLogger("finance_approval")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="tollgate-finance",
        description="Decide Tollgate's offline payments: by a rules file, and by a person for what the rules hold.",
    )
    top.add_argument("--rules", type=Path, help="the rules file (default: $TOLLGATE_FINANCE_RULES)")
    top.add_argument("--held-file", type=Path, help="held submissions (default: $TOLLGATE_FINANCE_HELD_FILE)")
    commands = top.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="consume finance.offline-payments and decide by the rules until stopped")
    commands.add_parser("check-rules", help="read the rules file and say what it does")
    commands.add_parser("pending", help="list the held submissions nobody decided yet")
    approve = commands.add_parser("approve", help="approve a held submission")
    approve.add_argument("id", help="offline payment id (a unique prefix will do)")
    approve.add_argument("--amount", help="the amount that arrived, when not the submitted one (needs --reason)")
    approve.add_argument("--reason")
    reject = commands.add_parser("reject", help="reject a held submission")
    reject.add_argument("id", help="offline payment id (a unique prefix will do)")
    reject.add_argument("--reason", required=True, help="shown to the user")
    commands.add_parser("prompt", help="decide held submissions interactively")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = FinanceSettings.from_env(os.environ)
    except BadSettings as exc:
        print(f"tollgate-finance: {exc}", file=sys.stderr)
        return 2
    settings = replace(
        settings,
        rules_file=args.rules or settings.rules_file,
        held_file=args.held_file or settings.held_file,
    )
    logging.basicConfig(
        level=settings.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return asyncio.run(_dispatch(args, settings))
    except (BadRules, BadSettings, desk.DeskError) as exc:
        print(f"tollgate-finance: {exc}", file=sys.stderr)
        return 2
    except BROKER_ERRORS as exc:
        print(f"tollgate-finance: the broker at {settings.broker_address} failed: {exc!r}", file=sys.stderr)
        return 1


async def _dispatch(args: argparse.Namespace, settings: FinanceSettings) -> int:
    if args.command == "run":
        return await service.run(settings, load_rules(settings.rules_file))
    if args.command == "check-rules":
        print(describe_rules(settings.rules_file))
        return 0
    if args.command == "pending":
        held = await asyncio.to_thread(HeldSubmissions(settings.held_file).pending)
        print("\n".join(desk.describe(h) for h in held) or "nothing is waiting")
        return 0
    async with desk.Desk(settings) as the_desk:
        if args.command == "prompt":
            return await desk.prompt(the_desk)
        print(await the_desk.decide(args.id, args.command, amount=getattr(args, "amount", None), reason=args.reason))
        return 0


def describe_rules(path: Path) -> str:
    rules = load_rules(path)
    lines = [f"{path}: decisions are made as {rules.decided_by!r}"]
    lines += [f"  reject when {rule.describe()}: {rule.reason!r}" for rule in rules.reject]
    lines += [f"  approve {mode} up to {format_money(amount)}" for mode, amount in sorted(rules.auto_approve.items())]
    if rules.currency is not None:
        lines.append(f"  hold anything not in {rules.currency}")
    lines.append("  hold everything else for a person")
    return "\n".join(lines)
