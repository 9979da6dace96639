"""IP restrictions: administrators manage the ranges users may connect from.

Every change bumps the account's revision and publishes `auth.ip_rules.changed`
with the full set of enabled rules, in the change's transaction. A change that
would shut out the requesting administrator's own address needs
`confirm_self_lockout`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import account, ip_rule, user
from auth.api.deps import AdminDep, Caller
from auth.api.schemas import IpRuleCreate, IpRuleList, IpRuleRead, IpRuleUpdate
from auth.audit import record_admin_action
from auth.domain.ip_rules import InvalidRule, Rule, is_allowed, parse_ip, validated_range
from auth.ip_access import account_rules, rule_of
from tollgate_shared.errors import DomainError, InvalidField, NotFound
from tollgate_shared.events.models import IpRule, IpRulesChanged
from tollgate_shared.openapi import problems
from tollgate_shared.outbox import record_event
from tollgate_shared.pagination import PageDep
from tollgate_shared.service import EdgeDep, SessionDep

router = APIRouter(prefix="/api/account/ip-restrictions", tags=["ip-restrictions"])


class SelfLockout(DomainError):
    status, code, title = 409, "self_lockout", "This change would lock you out"


def rule_read(row: Any) -> IpRuleRead:
    return IpRuleRead(
        id=row.id,
        user_id=row.user_id,
        start_ip=row.start_ip,
        end_ip=row.end_ip,
        description=row.description,
        enabled=row.enabled,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def _refuse_self_lockout(admin: Caller, rules: list[Rule], client_ip: str, confirmed: bool) -> None:
    try:
        address = parse_ip(client_ip, field="ip")
    except InvalidRule:
        address = None
    if not confirmed and not is_allowed(rules, user_id=admin.user.id, address=address):
        raise SelfLockout(
            f"Your current address {client_ip} would no longer be allowed. "
            "Send confirm_self_lockout: true to do it anyway.",
            your_ip=client_ip,
        )


async def publish_rules(db: AsyncSession, account_id: str) -> int:
    """Bump the revision and publish the account's enabled rules."""
    revision = await db.scalar(
        update(account)
        .where(account.c.id == account_id)
        .values(ip_rules_revision=account.c.ip_rules_revision + 1)
        .returning(account.c.ip_rules_revision)
    )
    assert revision is not None
    rows = await account_rules(db, account_id)
    rules = [
        IpRule(
            id=r.id, user_id=r.user_id, start_ip=r.start_ip, end_ip=r.end_ip, description=r.description, enabled=True
        )
        for r in rows
        if r.enabled
    ]
    await record_event(db, IpRulesChanged(account_id=account_id, rules=rules, revision=revision), account_id=account_id)
    return int(revision)


async def rule_of_account(db: AsyncSession, account_id: str, rule_id: str) -> Any:
    row = (await db.execute(select(ip_rule).where(ip_rule.c.id == rule_id, ip_rule.c.account_id == account_id))).first()
    if row is None:
        raise NotFound("No such rule.")
    return row


@router.get("")
async def list_rules(admin: AdminDep, db: SessionDep, edge: EdgeDep, paging: PageDep) -> IpRuleList:
    """The account's rules, newest first, and the address this request came from."""
    rows = await account_rules(db, admin.account_id)
    page = rows[paging.offset : paging.offset + paging.page_size]
    return IpRuleList(
        items=[rule_read(r) for r in page],
        total=len(rows),
        page=paging.page,
        page_size=paging.page_size,
        your_ip=edge.client_ip,
    )


@router.post("", status_code=201, responses=problems(409))
async def create_rule(body: IpRuleCreate, admin: AdminDep, db: SessionDep, edge: EdgeDep) -> IpRuleRead:
    """Allow a range, for one user (`user_id`) or for all users (`null`)."""
    try:
        start, end = validated_range(body.start_ip, body.end_ip)
    except InvalidRule as exc:
        raise InvalidField(exc.field, str(exc)) from None
    if body.user_id is not None:
        member = await db.execute(
            select(user.c.id).where(user.c.id == body.user_id, user.c.account_id == admin.account_id)
        )
        if member.first() is None:
            raise InvalidField("user_id", "is not a user of this account")
    rule_id, now = str(uuid.uuid4()), datetime.now(UTC)
    new_rule = Rule(id=rule_id, user_id=body.user_id, start=start, end=end, enabled=body.enabled)
    existing = [rule_of(r) for r in await account_rules(db, admin.account_id)]
    _refuse_self_lockout(admin, [*existing, new_rule], edge.client_ip, body.confirm_self_lockout)
    await db.execute(
        ip_rule.insert().values(
            id=rule_id,
            account_id=admin.account_id,
            user_id=body.user_id,
            start_ip=str(start),
            end_ip=str(end),
            description=body.description,
            enabled=body.enabled,
            created_at=now,
            created_by=admin.user.id,
            updated_at=now,
        )
    )
    revision = await publish_rules(db, admin.account_id)
    await record_admin_action(
        db,
        admin,
        action="ip_rule.created",
        target_user_id=body.user_id,
        target=f"{start}-{end}",
        ip=edge.client_ip,
        details={"rule_id": rule_id, "revision": revision},
    )
    return rule_read(await rule_of_account(db, admin.account_id, rule_id))


@router.patch("/{rule_id}", responses=problems(409))
async def update_rule(rule_id: str, body: IpRuleUpdate, admin: AdminDep, db: SessionDep, edge: EdgeDep) -> IpRuleRead:
    """Enable, disable or describe a rule."""
    row = await rule_of_account(db, admin.account_id, rule_id)
    changes: dict[str, Any] = {}
    if body.enabled is not None and body.enabled != row.enabled:
        changes["enabled"] = body.enabled
    if body.description is not None and body.description != row.description:
        changes["description"] = body.description
    if changes:
        after = [
            rule_of(r)
            if r.id != rule_id
            else Rule(r.id, r.user_id, rule_of(r).start, rule_of(r).end, changes.get("enabled", r.enabled))
            for r in await account_rules(db, admin.account_id)
        ]
        _refuse_self_lockout(admin, after, edge.client_ip, body.confirm_self_lockout)
        await db.execute(update(ip_rule).where(ip_rule.c.id == rule_id).values(**changes, updated_at=datetime.now(UTC)))
        revision = await publish_rules(db, admin.account_id)
        await record_admin_action(
            db,
            admin,
            action="ip_rule.changed",
            target_user_id=row.user_id,
            target=f"{row.start_ip}-{row.end_ip}",
            ip=edge.client_ip,
            details={"rule_id": rule_id, "revision": revision, **changes},
        )
    return rule_read(await rule_of_account(db, admin.account_id, rule_id))


@router.delete("/{rule_id}", status_code=204, responses=problems(409))
async def delete_rule(
    rule_id: str, admin: AdminDep, db: SessionDep, edge: EdgeDep, confirm_self_lockout: Annotated[bool, Query()] = False
) -> Response:
    """Delete a rule (a change that would lock you out needs `?confirm_self_lockout=true`)."""
    row = await rule_of_account(db, admin.account_id, rule_id)
    after = [rule_of(r) for r in await account_rules(db, admin.account_id) if r.id != rule_id]
    _refuse_self_lockout(admin, after, edge.client_ip, confirm_self_lockout)
    await db.execute(delete(ip_rule).where(ip_rule.c.id == rule_id))
    revision = await publish_rules(db, admin.account_id)
    await record_admin_action(
        db,
        admin,
        action="ip_rule.deleted",
        target_user_id=row.user_id,
        target=f"{row.start_ip}-{row.end_ip}",
        ip=edge.client_ip,
        details={"rule_id": rule_id, "revision": revision},
    )
    return Response(status_code=204)
