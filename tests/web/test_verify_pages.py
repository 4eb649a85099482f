"""The verification form with a signature made outside the portal (the applicant's own EDS
tool): the page shows the exact text to sign; a good signature passes the pre-check and is
submitted, a certificate of another person is reported next to the signature field."""

from __future__ import annotations

import re

import httpx

from tests.web.conftest import Portal
from tests.web.portal_world import NOW
from tizim.eds_test_ca import issue_test_certificate, sign_body
from tizim.services.signatures import canonical_json


def _form(portal: Portal, lang: str, token: str, action: str) -> dict[str, str]:
    owner = portal.world.owners[lang]
    return {
        "csrf_token": token,
        "iin": owner.iin,
        "imei_1": owner.imeis[0],
        "imei_2": owner.imeis[1],
        "proof_kind": "customs",
        "declaration_number": owner.declaration,
        "sign_mode": "upload",
        "action": action,
    }


def test_a_signature_made_with_the_applicants_own_tool(portal: Portal) -> None:
    owner = portal.world.owners["en"]
    body = {
        "applicant_iin": owner.iin,
        "imeis": list(owner.imeis),
        "proof": {"kind": "customs", "declaration_number": owner.declaration},
    }
    mine = issue_test_certificate(owner.iin, now=NOW)
    someone_else = issue_test_certificate(portal.world.owners["ru"].iin, now=NOW)
    with httpx.Client(base_url=portal.base, params={"lang": "en"}, timeout=30) as web:
        web.get("/verify")
        token = web.cookies["tizim_csrf"]
        unsigned = web.post("/verify", data=_form(portal, "en", token, "precheck"))
        shown = re.search(r'<pre class="panel" id="to-sign">([^<]+)</pre>', unsigned.text)
        foreign = web.post(
            "/verify",
            data=_form(portal, "en", token, "precheck"),
            files={
                "signature_file": ("app.sig", sign_body(body, someone_else.key_pem).encode()),
                "certificate_file": ("cert.pem", someone_else.certificate_pem.encode()),
            },
        )
        submitted = web.post(
            "/verify",
            data=_form(portal, "en", token, "submit"),
            files={
                "signature_file": ("app.sig", sign_body(body, mine.key_pem).encode()),
                "certificate_file": ("cert.pem", mine.certificate_pem.encode()),
            },
        )
    assert shown is not None
    assert shown.group(1).replace("&#34;", '"') == canonical_json(body).decode()
    assert 'id="precheck-result"' in unsigned.text and "notice-error" in unsigned.text
    signature_problems = re.search(
        r"<legend>Electronic digital signature</legend>(.*?)</fieldset>", foreign.text, re.S
    )
    assert signature_problems is not None and 'class="error"' in signature_problems.group(1)
    assert submitted.status_code == 200
    assert 'id="app-status" class="status-approved"' in submitted.text
