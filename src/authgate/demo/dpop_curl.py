"""``python -m authgate.demo.dpop_curl``: a DPoP-bound token and proof as curl config (RFC 9449 §4, §7).

Why: curl cannot sign a DPoP proof. This helper fetches a DPoP-bound access token with the
client-credentials grant (``private_key_jwt`` client authentication, answering the IdP's
``use_dpop_nonce`` challenge), signs a proof for ``METHOD URL`` with the same key (``ath`` bound
to the token) and prints both headers in curl's config syntax, so the demo line reads::

    python -m authgate.demo.dpop_curl --issuer I --client-id C --key-file K GET URL | curl -K - URL

The key never leaves this process; the token and proof are single-use by design (``jti``).
"""

from __future__ import annotations

import argparse
import sys

from authgate.errors import AuthgateError
from authgate.okta.client_assertion import load_signing_key
from authgate.okta.dpop import DPoPSigner
from authgate.okta.token_client import OktaTokenClient

__all__ = ["curl_config", "main"]


def curl_config(
    issuer: str, client_id: str, key_file: str, method: str, url: str, scopes: list[str]
) -> str:
    """``header = "…"`` lines for ``Authorization: DPoP`` and ``DPoP`` (curl ``-K`` syntax)."""
    signer = DPoPSigner.generate()
    client = OktaTokenClient(
        issuer=issuer,
        client_id=client_id,
        auth_method="private_key_jwt",
        signing_key=load_signing_key(pem_file=key_file),
        dpop=signer,
    )
    try:
        token = client.client_credentials(scopes)
    finally:
        client.close()
    proof = signer.proof(method, url, access_token=token.access_token)
    return f'header = "Authorization: DPoP {token.access_token}"\nheader = "DPoP: {proof}"\n'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m authgate.demo.dpop_curl")
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--key-file", required=True, help="the app's private key (PEM or JWK)")
    parser.add_argument("--scope", action="append", default=[], help="scope (repeatable)")
    parser.add_argument("method")
    parser.add_argument("url")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(
            curl_config(
                args.issuer, args.client_id, args.key_file, args.method, args.url, args.scope
            )
        )
    except AuthgateError as error:
        print(f"{error.code}: {error.detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
