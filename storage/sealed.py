"""Chat ids sealed at rest: a column type that stores a platform's chat or user id encrypted
(deterministic AES-SIV, storage.crypto.Cipher.seal_id), so a dump of the database names nobody.

Code reads and writes plain ids: the type seals on the way in and opens on the way out.
`column == chat_id` matches the id sealed under *every* key of the ring (one parameter holding
the list: `IN (SELECT value FROM json_each(?))` on SQLite, `= ANY(?)` on PostgreSQL), so rows
written before a key rotation are still found; `python -m bot keys rotate` re-seals them with the
newest key, after which the old key can go.

The key ring is the engine's: `use_cipher(engine, cipher)` (storage.db.migrate does it). An engine
with no ring bound refuses to read or write a chat id rather than store it in plain text.
"""

from __future__ import annotations

import json
import weakref

from sqlalchemy import String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import BindParameter, ColumnElement, literal
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean, TypeDecorator

_rings: weakref.WeakKeyDictionary[object, object] = weakref.WeakKeyDictionary()


def use_cipher(engine, cipher) -> None:
    """Chat ids read and written through this engine are sealed with this cipher's key ring."""
    _rings[engine.dialect] = cipher


def cipher_of(engine):
    return _rings.get(engine.dialect)


def _ring(dialect):
    cipher = _rings.get(dialect)
    if cipher is None:
        raise RuntimeError("no key ring bound to this database engine: chat ids are never stored in plain text "
                           "(storage.db.migrate(engine, cipher) or storage.sealed.use_cipher binds one)")
    return cipher


class SealedId(TypeDecorator):
    """A chat id, sealed with the newest key; read back with whichever key of the ring sealed it.
    The empty string (an erased stub's chat) stays empty."""

    impl = String(255)
    cache_ok = True

    class comparator_factory(TypeDecorator.Comparator):
        def __eq__(self, other):
            if other is None or isinstance(other, ColumnElement) and not isinstance(other, BindParameter):
                return super().__eq__(other)
            bind = other._with_binary_element_type(AnyKey()) if isinstance(other, BindParameter) else literal(other, AnyKey())
            return MatchesAnyKey(self.expr, bind)

        def __hash__(self):  # comparators are hashed by the ORM
            return id(self)

    def process_bind_param(self, value, dialect):
        if value is None or value == "":
            return value
        return _ring(dialect).seal_id(str(value))

    def process_result_value(self, value, dialect):
        if not value:
            return value
        return _ring(dialect).open_id(value)


class AnyKey(TypeDecorator):
    """The bound side of `SealedId == value`: the value sealed under every key of the ring, as
    one parameter (a JSON array on SQLite, an array on PostgreSQL)."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(ARRAY(String) if dialect.name == "postgresql" else String())

    def process_bind_param(self, value, dialect):
        sealed = [""] if value == "" else _ring(dialect).seal_ids(str(value))
        return sealed if dialect.name == "postgresql" else json.dumps(sealed)


class MatchesAnyKey(ColumnElement[bool]):
    """`column` equals one of the sealed forms in `value` (an AnyKey parameter)."""

    __visit_name__ = "matches_any_key"
    inherit_cache = True
    type = Boolean()
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement), ("value", InternalTraversal.dp_clauseelement)]

    def __init__(self, column, value) -> None:
        self.column, self.value = column, value

    def self_group(self, against=None):
        return self

    @property
    def _from_objects(self):
        return self.column._from_objects


@compiles(MatchesAnyKey)
def _sqlite(element, compiler, **kw):
    column, value = compiler.process(element.column, **kw), compiler.process(element.value, **kw)
    return f"{column} IN (SELECT value FROM json_each({value}))"


@compiles(MatchesAnyKey, "postgresql")
def _postgresql(element, compiler, **kw):
    column, value = compiler.process(element.column, **kw), compiler.process(element.value, **kw)
    return f"{column} = ANY({value})"
