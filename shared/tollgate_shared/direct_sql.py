"""Hot statements run straight on asyncpg, inside the session's transaction.

A statement through an `AsyncSession` costs CPU the same statement on asyncpg
does not (the ORM and engine layers, a greenlet per call, result wrapping;
docs/decisions.md, Common library). For prebuilt SQLAlchemy statements, `fetch`
and `execute_many` compile once per statement and dialect and then hand the SQL
and the bound values to the asyncpg connection the session's transaction
already holds, so the statement still commits or rolls back with everything
else the transaction did.

The statements stay SQLAlchemy's (one definition for every database): on
SQLite, or when a statement needs what only SQLAlchemy does (a result type that
converts values), they run through the session as before. Errors come out as
SQLAlchemy's (`IntegrityError`, `DBAPIError` with `connection_invalidated`), so
callers and the problem handlers see no difference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement


class DriverRow(asyncpg.Record):  # type: ignore[misc]  # asyncpg ships no types
    """An asyncpg record that also reads as SQLAlchemy's rows do: by attribute (`row.balance_minor`) and through
    `_mapping` (`row._mapping["account__id"]`)."""

    __slots__ = ()

    @property
    def _mapping(self) -> DriverRow:
        return self  # a record reads by column name already

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the bound parameters, in positional order
    processors: tuple[Callable[[Any], Any] | None, ...]  # bind processors, in the same order
    fixed: Mapping[str, Any]  # values the statement itself holds (`balance + :amount >= 0`: the 0)

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values = {**self.fixed, **params} if self.fixed else params
        return [
            values[name] if process is None else process(values[name])
            for name, process in zip(self.names, self.processors, strict=True)
        ]


# (statement, parameter names) -> the statement and its compiled form (None: it needs
# SQLAlchemy's own execution). Meant for statements built once; bounded all the same.
_COMPILED: dict[tuple[int, tuple[str, ...]], tuple[ClauseElement, _Compiled | None]] = {}
_COMPILED_LIMIT = 512


def _compiled(statement: ClauseElement, keys: tuple[str, ...], dialect: Dialect) -> _Compiled | None:
    key = (id(statement), keys)
    cached = _COMPILED.get(key)
    if cached is not None and cached[0] is statement:
        return cached[1]
    prepared = _prepare(statement.compile(dialect=dialect, column_keys=list(keys)), dialect)
    if len(_COMPILED) >= _COMPILED_LIMIT:
        _COMPILED.clear()
    # Keep the statement alive with its entry, so its id is never reused by another.
    _COMPILED[key] = (statement, prepared)
    return prepared


def _prepare(compiled: Any, dialect: Dialect) -> _Compiled | None:
    """What asyncpg needs to run `compiled` by itself, or None when it needs SQLAlchemy's execution."""
    # A result type that converts what the driver answers (none of the plain
    # column types does on asyncpg) needs SQLAlchemy's result processing.
    converts = any(
        entry.type._cached_result_processor(dialect, None) is not None
        for entry in getattr(compiled, "_result_columns", ())
    )
    # IN lists and literals are rendered per execution by SQLAlchemy.
    renders_late = any(bind.expanding or bind.literal_execute for bind in compiled.binds.values())
    if converts or renders_late:
        return None
    names = tuple(compiled.positiontup or ())
    processors = compiled._bind_processors
    fixed = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
    return _Compiled(str(compiled), names, tuple(processors.get(name) for name in names), fixed)


def _direct(session: AsyncSession, statement: Any, keys: tuple[str, ...]) -> _Compiled | None:
    """The compiled form to run on asyncpg, or None to run it through the session."""
    dialect = session.bind.dialect
    if dialect.driver != "asyncpg":
        return None
    return _compiled(statement, keys, dialect)


async def fetch(session: AsyncSession, statement: Any, params: Mapping[str, Any]) -> Sequence[Any]:
    """The rows `statement` answers (read by attribute, as SQLAlchemy's rows), in the session's transaction."""
    return await _fetch(session, statement, params, begin=True)


async def _fetch(session: AsyncSession, statement: Any, params: Mapping[str, Any], *, begin: bool) -> Sequence[Any]:
    compiled = _direct(session, statement, tuple(params))
    if compiled is None:
        return (await session.execute(statement, dict(params))).all()
    arguments = compiled.arguments(params)
    rows: Sequence[Any] = await _on_driver(
        session, compiled.sql, arguments, "fetch", begin=begin, record_class=DriverRow
    )
    return rows


async def first(session: AsyncSession, statement: Any, params: Mapping[str, Any]) -> Any | None:
    """The first row `statement` answers, or None."""
    rows = await fetch(session, statement, params)
    return rows[0] if rows else None


async def read(session: AsyncSession, statement: Any, params: Mapping[str, Any]) -> Sequence[Any]:
    """The rows of a plain read (no row locks), with no transaction of its own while the session's has sent
    nothing yet.

    Under READ COMMITTED (PostgreSQL's default, which every service keeps) each statement reads a snapshot
    of its own, so a `BEGIN` before the transaction's first read changes nothing it sees but costs a round
    trip, and a `COMMIT` another when nothing follows. Once the transaction has begun, the read runs inside
    it and sees what the transaction wrote. A read that locks rows (`FOR UPDATE`) needs `fetch`.
    """
    return await _fetch(session, statement, params, begin=False)


async def atomic_alone(session: AsyncSession, statement: Any, params: Mapping[str, Any]) -> Sequence[Any]:
    """The rows of `statement`, a statement whose effects are whole by themselves (one data-modifying `WITH`
    that writes all or nothing), committed on its own when the session's transaction has sent nothing yet.

    Then it needs no `BEGIN` and no `COMMIT` (PostgreSQL runs a lone statement in a transaction of its own):
    the caller must treat it as committed when it returns. Inside a begun transaction it is part of it.
    """
    return await _fetch(session, statement, params, begin=False)


async def in_transaction(session: AsyncSession) -> bool:
    """Whether the session's transaction has begun on the database (what `atomic_alone` wrote is not yet
    committed then)."""
    if session.bind.dialect.driver != "asyncpg":
        return True  # its statements ran through the session, which began it
    return bool(_adapter(await session.connection())._started)


async def execute_many(session: AsyncSession, statement: Any, params: Sequence[Mapping[str, Any]]) -> None:
    """`statement` (no rows answered) once per mapping of `params`, all with the same keys, in one round trip."""
    if not params:
        return
    compiled = _direct(session, statement, tuple(params[0]))
    if compiled is None:
        await session.execute(statement, dict(params[0]) if len(params) == 1 else [dict(p) for p in params])
    elif len(params) == 1:
        await _on_driver(session, compiled.sql, compiled.arguments(params[0]), "execute")
    else:
        await _on_driver(session, compiled.sql, [compiled.arguments(p) for p in params], "executemany")


def _adapter(connection: Any) -> Any:
    """SQLAlchemy's asyncpg adapter of `connection`: it begins the transaction on the first statement
    (`_started`), under its lock."""
    return connection.sync_connection.connection.dbapi_connection


async def _on_driver(
    session: AsyncSession, sql: str, arguments: list[Any], method: str, *, begin: bool = True, **options: Any
) -> Any:
    """Run `sql` on the asyncpg connection of the session's transaction (beginning it if need be, or with
    `begin=False` running it alone while the transaction has sent nothing)."""
    connection = await session.connection()
    adapter = _adapter(connection)
    async with adapter._execute_mutex:
        driver = adapter._connection
        try:
            if begin and not adapter._started:
                await adapter._start_transaction()
            if method == "executemany":
                return await driver.executemany(sql, arguments, **options)
            return await getattr(driver, method)(sql, *arguments, **options)
        except Exception as error:
            await _raise_as_sqlalchemy(connection, adapter, error, sql, arguments)
            raise  # not reached: the line above raises


async def _raise_as_sqlalchemy(connection: Any, adapter: Any, error: Exception, sql: str, arguments: Any) -> None:
    """Raise `error` as SQLAlchemy would have: translated, wrapped, and the connection invalidated if it died."""
    try:
        adapter._handle_exception(error)  # raises the DB-API error SQLAlchemy's adapter maps it to
    except Exception as dbapi_error:
        translated = dbapi_error

    def handle(sync_connection: Any) -> None:
        sync_connection._handle_dbapi_exception(translated, sql, arguments, None, None)

    await connection.run_sync(handle)
