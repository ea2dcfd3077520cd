"""A remote MCP server over Streamable HTTP, protected by its own OAuth 2.1 authorization
server, both on the official Python SDK, for Warden's tests.

The authorization server publishes its metadata, registers clients dynamically, issues
authorization codes with PKCE (the consent is granted at once: a test's scripted browser
just follows the redirect), access tokens that last `--access-ttl` seconds, and refresh
tokens that rotate on every use (the old one stops working). Test-only routes:
`POST /test/revoke` revokes every grant (an admin pulling access), `GET /test/stats`
counts what happened.

A client registered in advance, `warden-preregistered`, accepts any loopback redirect port.

Tools: `whoami` (the client the token was issued to), `echo`, `search` (annotated
read-only) and `delete_all` (annotated destructive).

A token without every `--required-scopes` scope gets 403 insufficient_scope (a step-up).

Usage: oauth_server.py --port PORT [--access-ttl SECONDS] [--required-scopes a,b]
"""

import argparse
import base64
import json
import secrets
import time

from starlette.requests import Request
from starlette.responses import JSONResponse

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from mcp.types import ToolAnnotations

SCOPE = "mcp:tools"
PREREGISTERED = "warden-preregistered"


class OidcToken(OAuthToken):
    """A token response with an OpenID Connect ID token saying who signed in."""

    id_token: str | None = None


def id_token(issuer: str, client_id: str) -> str:
    """An unsigned ID token (alg none): the client reads it only to show who signed in."""
    part = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    claims = {"iss": issuer, "aud": client_id, "sub": "alice", "email": "alice@corp.example"}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


class LoopbackClient(OAuthClientInformationFull):
    """A client registered in advance for a native app: any loopback port may receive the
    redirect (RFC 8252, section 7.3), since the app picks a free one at each sign-in."""

    def validate_redirect_uri(self, redirect_uri):
        if redirect_uri is not None and str(redirect_uri).startswith("http://127.0.0.1:"):
            return redirect_uri
        return super().validate_redirect_uri(redirect_uri)


class Provider:
    """Clients, codes and tokens in memory."""

    def __init__(self, access_ttl: int, issuer: str):
        self.access_ttl = access_ttl
        self.issuer = issuer
        # One client registered in advance (`client_id = "warden-preregistered"` in Warden's
        # config); others register themselves.
        self.clients: dict[str, OAuthClientInformationFull] = {
            PREREGISTERED: LoopbackClient(
                client_id=PREREGISTERED,
                redirect_uris=["http://127.0.0.1:1/callback"],
                token_endpoint_auth_method="none",
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                scope=f"{SCOPE} mcp:admin",
            )
        }
        self.codes: dict[str, AuthorizationCode] = {}
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.stats = {"registrations": 0, "authorizations": 0, "code_exchanges": 0, "refreshes": 0, "refused_refreshes": 0}

    async def get_client(self, client_id: str):
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull):
        self.stats["registrations"] += 1
        self.clients[client_info.client_id] = client_info

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        self.stats["authorizations"] += 1
        code = secrets.token_urlsafe(24)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [SCOPE],
            expires_at=time.time() + 300,
            client_id=client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject="alice@corp.example",
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(self, client, authorization_code: str):
        return self.codes.get(authorization_code)

    def _issue(self, client_id: str, scopes: list[str], resource: str | None, subject: str | None) -> OAuthToken:
        access = secrets.token_urlsafe(24)
        refresh = secrets.token_urlsafe(24)
        self.access[access] = AccessToken(
            token=access,
            client_id=client_id,
            scopes=scopes,
            expires_at=int(time.time()) + self.access_ttl,
            resource=resource,
            subject=subject,
        )
        self.refresh[refresh] = RefreshToken(
            token=refresh, client_id=client_id, scopes=scopes, resource=resource, subject=subject
        )
        return OidcToken(
            access_token=access,
            token_type="Bearer",
            expires_in=self.access_ttl,
            refresh_token=refresh,
            scope=" ".join(scopes),
            id_token=id_token(self.issuer, client_id),
        )

    async def exchange_authorization_code(self, client, authorization_code: AuthorizationCode) -> OAuthToken:
        self.stats["code_exchanges"] += 1
        self.codes.pop(authorization_code.code, None)
        return self._issue(
            client.client_id, authorization_code.scopes, authorization_code.resource, authorization_code.subject
        )

    async def load_refresh_token(self, client, refresh_token: str):
        found = self.refresh.get(refresh_token)
        if found is None:
            self.stats["refused_refreshes"] += 1
        return found

    async def exchange_refresh_token(self, client, refresh_token: RefreshToken, scopes: list[str]) -> OAuthToken:
        if refresh_token.token not in self.refresh:
            self.stats["refused_refreshes"] += 1
            raise TokenError("invalid_grant", "refresh token already used or revoked")
        self.stats["refreshes"] += 1
        # Rotation: the refresh token just used stops working.
        del self.refresh[refresh_token.token]
        return self._issue(client.client_id, scopes or refresh_token.scopes, refresh_token.resource, refresh_token.subject)

    async def load_access_token(self, token: str):
        found = self.access.get(token)
        if found is None or (found.expires_at is not None and found.expires_at < time.time()):
            return None
        return found

    async def revoke_token(self, token):
        self.access.pop(token.token, None)
        self.refresh.pop(token.token, None)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--access-ttl", type=int, default=3600)
    parser.add_argument(
        "--required-scopes",
        default=SCOPE,
        help="comma-separated scopes every MCP request's token must carry (advertised as the resource's)",
    )
    args = parser.parse_args()
    required = args.required_scopes.split(",")
    base = f"http://127.0.0.1:{args.port}"
    provider = Provider(args.access_ttl, base)
    server = MCPServer(
        "warden-oauth-test",
        auth_server_provider=provider,
        auth=AuthSettings(
            issuer_url=base,
            resource_server_url=f"{base}/mcp",
            client_registration_options=ClientRegistrationOptions(
                enabled=True, valid_scopes=[SCOPE, "mcp:admin"], default_scopes=required
            ),
            revocation_options=RevocationOptions(enabled=True),
            required_scopes=required,
        ),
    )

    @server.tool()
    def whoami(ctx: Context) -> str:
        """Who the server sees: the OAuth client the token was issued to."""
        return "signed in as alice@corp.example"

    @server.tool()
    def echo(text: str) -> str:
        """Answer with the text."""
        return "remote echo: " + text

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def search(query: str) -> str:
        """Search the documents (read-only)."""
        return f"3 documents match {query}"

    @server.tool(annotations=ToolAnnotations(destructive_hint=True))
    def delete_all(confirm: str) -> str:
        """Delete every document."""
        return "deleted everything"

    @server.custom_route("/test/revoke", methods=["POST"])
    async def revoke(request: Request):
        provider.access.clear()
        provider.refresh.clear()
        return JSONResponse({"revoked": True})

    @server.custom_route("/test/stats", methods=["GET"])
    async def stats(request: Request):
        return JSONResponse(provider.stats)

    server.run(transport="streamable-http", host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
