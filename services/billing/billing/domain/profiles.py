"""Billing profiles' rules, with no I/O: what a profile may say, and how invoices name the buyer."""

from __future__ import annotations

from dataclasses import dataclass

from billing.domain.gst import InvalidGstin, validate_gstin
from tollgate_shared.errors import DomainError, FieldChecks, InvalidField
from tollgate_shared.events.models import BuyerSnapshot
from tollgate_shared.gst_states import STATES, state_code


@dataclass(frozen=True)
class Profile:
    account_id: str
    account_name: str | None  # from auth.account.created: what invoices name until a legal name is set
    legal_name: str | None
    address: str | None
    state: str | None
    state_code: str | None
    gstin: str | None

    @property
    def configured(self) -> bool:
        return self.legal_name is not None


@dataclass(frozen=True)
class ProfileDetails:
    """What an administrator sets, checked: the state by its canonical name and code, the GSTIN upper-cased."""

    legal_name: str
    address: str
    state: str
    state_code: str
    gstin: str | None


def check_profile(*, legal_name: str, address: str, state: str, gstin: str | None) -> ProfileDetails:
    """The details, checked (one `InvalidFields` on `state` and `gstin`): the GSTIN by format, checksum and state."""
    checks = FieldChecks()
    code = checks.run(known_state, state)
    checked = checks.run(checked_gstin, gstin, code) if gstin else None
    checks.raise_if_any()
    assert code is not None
    return ProfileDetails(legal_name.strip(), address.strip(), STATES[code], code, checked)


def known_state(state: str) -> str:
    """The state's GST code, or `InvalidField` on `state`."""
    try:
        return state_code(state)
    except ValueError as exc:
        raise InvalidField("state", str(exc)) from None


def checked_gstin(gstin: str, code: str | None) -> str:
    """The GSTIN upper-cased, or `InvalidField` on `gstin`; its state is checked when `code` is known."""
    try:
        return validate_gstin(gstin, state=code)
    except InvalidGstin as exc:
        raise InvalidField("gstin", str(exc)) from None


def buyer(profile: Profile | None, account_id: str, *, seller_state: str) -> tuple[BuyerSnapshot, str]:
    """The buyer as invoices name them, and the place of supply.

    Without a profile: the account's name, and a supply within the seller's
    state (the place of supply when the recipient's address is not on record).
    """
    if profile is None or profile.legal_name is None:
        name = (profile.account_name if profile is not None else None) or f"Account {account_id}"
        return BuyerSnapshot(legal_name=name, address="", state=seller_state, gstin=None), seller_state
    assert profile.address is not None and profile.state is not None  # set with the legal name
    snapshot = BuyerSnapshot(
        legal_name=profile.legal_name, address=profile.address, state=profile.state, gstin=profile.gstin
    )
    return snapshot, profile.state


# What an order needs of the profile, and the words a person uses for each.
ORDER_NEEDS = (("legal_name", "legal name"), ("address", "address"), ("state", "state"))


class BillingProfileRequired(DomainError):
    """An order was refused because the billing profile lacks what its invoice must name (422)."""

    status, code, title = 422, "billing_profile_required", "Billing profile required"


def missing_for_order(profile: Profile | None) -> list[str]:
    """The profile's fields an order needs that are not set, in the order invoices print them."""
    if profile is None:
        return [name for name, _ in ORDER_NEEDS]
    return [name for name, _ in ORDER_NEEDS if not (getattr(profile, name) or "").strip()]


def require_for_order(profile: Profile | None) -> None:
    """Refuse an order (`BillingProfileRequired`) while its invoice could not name the buyer's legal name,
    address and state: the place of supply and so the tax depend on them."""
    missing = missing_for_order(profile)
    if not missing:
        return
    words = [text for name, text in ORDER_NEEDS if name in missing]
    listed = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
    verb = "is" if len(words) == 1 else "are"
    raise BillingProfileRequired(
        f"An order needs the account's billing profile: its {listed} {verb} missing. "
        "An administrator adds them under Account Configuration, Billing profile.",
        errors=[
            {"field": f"billing_profile.{name}", "message": f"the billing profile has no {text}"}
            for name, text in ORDER_NEEDS
            if name in missing
        ],
        missing=missing,
    )
