"""Malformed input never yields a 500 (DESIGN security list): fixed cases plus a hypothesis fuzz."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.idp.helpers import secret_of
from tests.support.idp_server import ServedIdP, running_idp


def test_wrong_content_type_and_huge_body(served: ServedIdP, http: httpx.Client) -> None:
    auth = secret_of(served, "demo-service")
    json_body = http.post(
        served.endpoint("token"), json={"grant_type": "client_credentials"}, auth=auth
    )
    assert json_body.status_code == 400
    assert json_body.json() == {
        "error": "invalid_request",
        "error_description": "The request must have a Content-Type of application/x-www-form-urlencoded.",
    }
    huge = http.post(
        served.endpoint("token"),
        data={"grant_type": "client_credentials", "pad": "x" * 70_000},
        auth=auth,
    )
    assert huge.status_code == 413
    assert huge.json()["error"] == "invalid_request"
    bad_utf8 = http.post(served.endpoint("token"), content=b"grant_type=\xff\xfe", auth=auth,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert bad_utf8.status_code == 400
    assert bad_utf8.json()["error"] == "invalid_request"


def test_catch_all_answers_okta_shaped_500(
    served: ServedIdP, http: httpx.Client, monkeypatch: object
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a genuine bug")

    served.idp.validate_access_token = broken  # type: ignore[method-assign]
    response = http.post(
        served.endpoint("introspect"), data={"token": "x"}, auth=secret_of(served, "demo-service")
    )
    assert response.status_code == 500
    assert response.json()["error"] == "server_error"
    assert served.idp.request_log.records(path="/v1/introspect")[-1].status == 500


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
_FIELDS = st.sampled_from(["grant_type", "scope", "client_id", "client_secret", "client_assertion",
                           "client_assertion_type", "refresh_token", "subject_token", "subject_token_type",
                           "username", "password", "code", "code_verifier", "audience", "redirect_uri"])  # fmt: skip


def test_fuzz_token_endpoint_never_500() -> None:
    with running_idp() as served, httpx.Client(timeout=10) as http:
        auth_choices = [
            None,
            secret_of(served, "demo-service"),
            secret_of(served, "demo-native"),
            ("x", "y"),
        ]

        @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(
            form=st.dictionaries(_FIELDS, _TEXT, max_size=6),
            grant=st.sampled_from(["client_credentials", "password", "refresh_token", "authorization_code",
                                   "urn:ietf:params:oauth:grant-type:token-exchange", "junk", ""]),
            auth=st.sampled_from(range(len(auth_choices))),
            server=st.sampled_from(["default", "org"]),
            raw=st.binary(max_size=80),
            use_raw=st.booleans(),
            dpop=st.one_of(st.none(), _TEXT.filter(lambda t: t.isascii() and t.isprintable())),
        )  # fmt: skip
        def run(
            form: dict[str, str],
            grant: str,
            auth: int,
            server: str,
            raw: bytes,
            use_raw: bool,
            dpop: str | None,
        ) -> None:
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            if dpop:
                headers["DPoP"] = dpop
            url = served.endpoint("token", server)
            credentials = auth_choices[auth]
            if use_raw:
                response = http.post(url, content=raw, headers=headers, auth=credentials)
            else:
                response = http.post(
                    url, data={"grant_type": grant, **form}, headers=headers, auth=credentials
                )
            assert response.status_code < 500, response.text
            assert "error" in response.json() or response.status_code == 200

        run()
