"""Auth's signing keys (Ed25519): sealed at rest, published as a JWKS.

The newest unretired key signs; every key not yet removed verifies, so a
rotation never invalidates tokens already issued. Keys live in auth's database,
so every replica signs with the same key and publishes the same set.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.adapters.secret_box import SecretBox
from auth.adapters.tables import signing_key
from tollgate_shared.access_tokens import ALGORITHM


class SigningKeys:
    def __init__(self, box: SecretBox) -> None:
        self.box = box
        self._signing: tuple[str, Ed25519PrivateKey] | None = None
        self._jwks: list[dict[str, Any]] = []

    async def load(self, factory: async_sessionmaker[AsyncSession]) -> None:
        """Read the keys (making the first one when there is none)."""
        async with factory() as session, session.begin():
            rows = (await session.execute(select(signing_key).order_by(signing_key.c.created_at))).all()
            if not any(row.retired_at is None for row in rows):
                await self._create(session)
                rows = (await session.execute(select(signing_key).order_by(signing_key.c.created_at))).all()
        jwks = []
        signing = None
        for row in rows:
            jwks.append(json.loads(row.public_jwk))
            if row.retired_at is None:
                signing = row  # the newest active key wins
        assert signing is not None
        pem = self.box.open(signing.private_key, context=signing.kid.encode())
        private = serialization.load_pem_private_key(pem, password=None)
        assert isinstance(private, Ed25519PrivateKey)
        self._signing, self._jwks = (signing.kid, private), jwks

    async def _create(self, session: AsyncSession) -> str:
        private = Ed25519PrivateKey.generate()
        kid = uuid.uuid4().hex
        jwk = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
        jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        await session.execute(
            signing_key.insert().values(
                kid=kid,
                algorithm=ALGORITHM,
                private_key=self.box.seal(pem, context=kid.encode()),
                public_jwk=json.dumps(jwk),
                created_at=datetime.now(UTC),
            )
        )
        return kid

    async def rotate(self, factory: async_sessionmaker[AsyncSession], *, remove_retired_before: timedelta) -> str:
        """Sign with a new key from now on; drop keys retired longer ago than any token lives."""
        now = datetime.now(UTC)
        async with factory() as session, session.begin():
            await session.execute(delete(signing_key).where(signing_key.c.retired_at < now - remove_retired_before))
            await session.execute(update(signing_key).where(signing_key.c.retired_at.is_(None)).values(retired_at=now))
            kid = await self._create(session)
        await self.load(factory)
        return kid

    def sign(self, claims: dict[str, Any]) -> str:
        assert self._signing is not None, "load() first"
        kid, private = self._signing
        return jwt.encode(claims, private, algorithm=ALGORITHM, headers={"kid": kid})

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        return {"keys": list(self._jwks)}
