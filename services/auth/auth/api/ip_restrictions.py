"""IP restrictions: administrators manage the ranges users may connect from.

Every change bumps the account's revision and publishes `auth.ip_rules.changed`
with the full set of enabled rules, in the change's transaction. A change that
would shut out the requesting administrator's own address needs
`confirm_self_lockout`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from auth.api.deps import AdminDep
from auth.api.schemas import (
    IpRuleCreate,
    IpRuleList,
    IpRulePreview,
    IpRulePreviewRequest,
    IpRuleRead,
    IpRuleUpdate,
    LockedOutRead,
)
from auth.use_cases.change_ip_rule import IpRuleChange, change_ip_rule
from auth.use_cases.create_ip_rule import NewIpRule, create_ip_rule
from auth.use_cases.delete_ip_rule import delete_ip_rule
from auth.use_cases.preview_ip_rule_change import ProposedChange, preview_ip_rule_change
from auth.use_cases.read_ip_rules import list_ip_rules
from tollgate_shared.openapi import problems
from tollgate_shared.pagination import PageDep
from tollgate_shared.service import EdgeDep, SessionDep

router = APIRouter(prefix="/api/account/ip-restrictions", tags=["ip-restrictions"])


@router.get("")
async def list_rules(admin: AdminDep, db: SessionDep, edge: EdgeDep, paging: PageDep) -> IpRuleList:
    """The account's rules, newest first, and the address this request came from."""
    rules = await list_ip_rules(db, admin.account_id)
    page = rules[paging.offset : paging.offset + paging.page_size]
    return IpRuleList(
        items=[IpRuleRead.model_validate(rule, from_attributes=True) for rule in page],
        total=len(rules),
        page=paging.page,
        page_size=paging.page_size,
        your_ip=edge.client_ip,
    )


@router.post("", status_code=201, responses=problems(409))
async def create_rule(body: IpRuleCreate, admin: AdminDep, db: SessionDep, edge: EdgeDep) -> IpRuleRead:
    """Allow a range, for one user (`user_id`) or for all users (`null`)."""
    new = NewIpRule(
        user_id=body.user_id,
        start_ip=body.start_ip,
        end_ip=body.end_ip,
        description=body.description,
        enabled=body.enabled,
        confirm_self_lockout=body.confirm_self_lockout,
    )
    rule = await create_ip_rule(db, admin, new, ip=edge.client_ip)
    return IpRuleRead.model_validate(rule, from_attributes=True)


@router.post("/preview", responses=problems(404))
async def preview_change(body: IpRulePreviewRequest, admin: AdminDep, db: SessionDep, edge: EdgeDep) -> IpRulePreview:
    """Whom a change would lock out, judged by each active user's login addresses of the last 30 days.

    Changes nothing.
    """
    change = ProposedChange(
        action=body.action,
        given=frozenset(body.model_fields_set),
        rule_id=body.rule_id,
        start_ip=body.start_ip,
        end_ip=body.end_ip,
        user_id=body.user_id,
    )
    preview = await preview_ip_rule_change(db, admin, change, ip=edge.client_ip)
    return IpRulePreview(
        locked_out=[LockedOutRead.model_validate(user, from_attributes=True) for user in preview.locked_out],
        you_are_locked_out=preview.you_are_locked_out,
    )


@router.patch("/{rule_id}", responses=problems(409))
async def update_rule(rule_id: str, body: IpRuleUpdate, admin: AdminDep, db: SessionDep, edge: EdgeDep) -> IpRuleRead:
    """Enable, disable or describe a rule."""
    change = IpRuleChange(
        enabled=body.enabled, description=body.description, confirm_self_lockout=body.confirm_self_lockout
    )
    rule = await change_ip_rule(db, admin, rule_id, change, ip=edge.client_ip)
    return IpRuleRead.model_validate(rule, from_attributes=True)


@router.delete("/{rule_id}", status_code=204, responses=problems(409))
async def delete_rule(
    rule_id: str, admin: AdminDep, db: SessionDep, edge: EdgeDep, confirm_self_lockout: Annotated[bool, Query()] = False
) -> Response:
    """Delete a rule (a change that would lock you out needs `?confirm_self_lockout=true`)."""
    await delete_ip_rule(db, admin, rule_id, confirm_self_lockout=confirm_self_lockout, ip=edge.client_ip)
    return Response(status_code=204)
