"""Organisations and API keys: stored hashed, looked up by id, revocable, validated."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.services.feeds_support import NOW
from tizim.runtime import Runtime
from tizim.services.orgs import (
    OrganisationError,
    Role,
    create_organisation,
    issue_api_key,
    operator_for_mcc_mnc,
    organisation_for_key,
    revoke_api_key,
)
from tizim.storage.tables_orgs import api_keys


def test_keys_are_stored_hashed_and_each_one_is_revocable(registry: Runtime) -> None:
    with registry.transaction() as conn:
        organisation, first = create_organisation(
            conn, code="KCELL", role="operator", mcc_mncs=["401-02"], now=NOW
        )
        second = issue_api_key(conn, code="KCELL", now=NOW)
        stored = " ".join(str(value) for row in conn.execute(select(api_keys)) for value in row)
        assert first.split("_", 2)[2] not in stored and second.split("_", 2)[2] not in stored
        assert organisation_for_key(conn, first, now=NOW) == organisation
        revoke_api_key(conn, key_or_public_id=first.split("_")[1], now=NOW)
        assert organisation_for_key(conn, first, now=NOW) is None
        assert organisation_for_key(conn, second, now=NOW) == organisation
        assert organisation_for_key(conn, "tz_nothing_here", now=NOW) is None
        assert operator_for_mcc_mnc(conn, "40102") == organisation
    assert organisation.role is Role.OPERATOR and organisation.mcc_mncs == ("40102",)


@pytest.mark.parametrize(
    ("code", "role", "mcc_mncs", "message"),
    [
        ("A B", "importer", (), "no spaces"),
        ("X", "king", (), "unknown role"),
        ("Y", "operator", ("4010",), "MCC-MNC"),
    ],
)
def test_bad_organisations_are_refused_with_a_reason(
    registry: Runtime, code: str, role: str, mcc_mncs: tuple[str, ...], message: str
) -> None:
    with registry.transaction() as conn, pytest.raises(OrganisationError, match=message):
        create_organisation(conn, code=code, role=role, mcc_mncs=mcc_mncs, now=NOW)
