"""The account's billing profile: legal name, address, state, GSTIN — what invoices name."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from billing.api.deps import AdminDep
from billing.domain.gst import validate_gstin
from billing.domain.profiles import Profile as ProfileRecord
from billing.use_cases.profiles import profile_of, set_profile
from tollgate_shared.auth_upstream import AccountUserDep, account_user
from tollgate_shared.fields import RequestBody
from tollgate_shared.gst_states import STATES, state_code
from tollgate_shared.service import SessionDep

router = APIRouter(prefix="/api/billing/profile", tags=["profile"])


class ProfileUpdate(RequestBody):
    legal_name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=500)
    state: str = Field(
        min_length=2, max_length=60, description="an Indian state or union territory, by name or GST code"
    )
    gstin: str | None = Field(
        default=None, max_length=15, description="15 characters; its first two digits are the state's code"
    )

    # The use case checks these again; here they join the schema's own errors in one 422.
    @field_validator("state")
    @classmethod
    def _a_state(cls, state: str) -> str:
        state_code(state)  # a ValueError saying what is wrong
        return state

    @field_validator("gstin")
    @classmethod
    def _a_gstin(cls, gstin: str | None, info: ValidationInfo) -> str | None:
        if gstin:
            state = info.data.get("state")
            validate_gstin(gstin, state=state_code(state) if state else None)  # InvalidGstin is a ValueError
        return gstin


class Profile(BaseModel):
    account_name: str | None
    legal_name: str | None
    address: str | None
    state: str | None
    gstin: str | None
    configured: bool


class State(BaseModel):
    code: str = Field(description="the GST state code: a GSTIN's first two digits")
    name: str


def profile_view(profile: ProfileRecord | None) -> Profile:
    if profile is None:
        return Profile(account_name=None, legal_name=None, address=None, state=None, gstin=None, configured=False)
    return Profile(
        account_name=profile.account_name,
        legal_name=profile.legal_name,
        address=profile.address,
        state=profile.state,
        gstin=profile.gstin,
        configured=profile.configured,
    )


@router.get("")
async def get_profile(caller: AccountUserDep, db: SessionDep) -> Profile:
    """The account's billing profile (`configured: false` until an administrator sets it)."""
    return profile_view(await profile_of(db, caller.account_id))


@router.get("/states", dependencies=[Depends(account_user)])
async def list_states() -> list[State]:
    """The states and union territories a billing profile may name, by name (the profile form's choices)."""
    return [State(code=code, name=name) for code, name in sorted(STATES.items(), key=lambda item: item[1])]


@router.put("")
async def put_profile(body: ProfileUpdate, admin: AdminDep, db: SessionDep) -> Profile:
    """Set the billing profile (administrators); the GSTIN is checked by format, checksum and state."""
    changed = await set_profile(
        db, admin.account_id, legal_name=body.legal_name, address=body.address, state=body.state, gstin=body.gstin
    )
    return profile_view(changed)
