"""Request and answer bodies of auth's public API."""

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    password: str = Field(min_length=12, max_length=1024)


class AccountRead(BaseModel):
    id: str
    name: str


class UserRead(BaseModel):
    id: str
    email: str
    role: str


class AccountCreated(BaseModel):
    id: str
    account: AccountRead
    admin: UserRead
