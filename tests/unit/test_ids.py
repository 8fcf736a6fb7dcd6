"""Id prefixes: one row named by a prefix is found, several are refused with the candidates."""

from __future__ import annotations

import pytest
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from engine.errors import NotFoundError
from engine.ids import AmbiguousIdError, resolve_id, row_by_id


class _Base(DeclarativeBase):
    pass


class Row(_Base):
    __tablename__ = "rows"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all(Row(id=i) for i in ("5d169d56-aaaa", "5d16ffff-bbbb", "e84ff154-cccc",
                                      "ab_c%000-dddd", "abXc0000-eeee"))
        s.commit()
        yield s


def test_a_full_id_or_a_unique_prefix_names_the_row(session):
    assert resolve_id(session, Row.id, "e84ff154-cccc", "thing") == "e84ff154-cccc"
    assert resolve_id(session, Row.id, "e84ff154", "thing") == "e84ff154-cccc"
    assert resolve_id(session, Row.id, " 5d169 ", "thing") == "5d169d56-aaaa"


def test_an_ambiguous_prefix_lists_the_matches(session):
    with pytest.raises(AmbiguousIdError) as error:
        resolve_id(session, Row.id, "5d16", "process instance")
    assert error.value.status == 400
    assert error.value.message == ("process instance id '5d16' is ambiguous: it starts "
                                   "5d169d56-aaaa, 5d16ffff-bbbb; give more characters")


def test_unknown_and_too_short_prefixes_are_not_found(session):
    for text in ("ffff", "5d1", "", "e84ff154-cccc-more"):
        with pytest.raises(NotFoundError, match="thing .* not found"):
            resolve_id(session, Row.id, text, "thing")


def test_like_wildcards_in_a_prefix_are_literal(session):
    assert resolve_id(session, Row.id, "ab_c", "thing") == "ab_c%000-dddd"  # not abXc
    assert resolve_id(session, Row.id, "ab_c%", "thing") == "ab_c%000-dddd"
    with pytest.raises(NotFoundError):
        resolve_id(session, Row.id, "ab%c", "thing")


def test_row_by_id_reads_the_row_a_prefix_names(session):
    assert row_by_id(session, Row, Row.id, "e84ff154", "thing").id == "e84ff154-cccc"
    with pytest.raises(NotFoundError, match="thing 'zzzzzzzz' not found"):
        row_by_id(session, Row, Row.id, "zzzzzzzz", "thing")


def test_row_by_id_refuses_a_row_deleted_after_its_id_was_found(session, monkeypatch):
    """A concurrent delete between the id lookup and the read: not found, never ``None``."""
    monkeypatch.setattr(session, "get", lambda model, ident: None)
    with pytest.raises(NotFoundError, match="thing 'e84ff154' not found"):
        row_by_id(session, Row, Row.id, "e84ff154", "thing")
