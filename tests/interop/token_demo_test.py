#!/usr/bin/env python3
"""Token sessions end to end over the demo, with clients nobody here wrote.

Usage: token_demo_test.py PATH/TO/sessionkit-demo [STORE_URL]

Python's http.client talks to a real sessionkit-demo (memory:// unless STORE_URL is given), and
PyJWT (Debian's python3-jwt) verifies the access tokens with nothing but the demo's
/.well-known/jwks.json. The path of issue 15: sign in -> access token -> /api/me -> refresh ->
reuse of an old refresh token -> the family and its session are revoked -> 401. Also: the answer
shapes of RFC 6749 §5.1/§5.2 and RFC 6750 §3, the refresh cookie, RFC 7009 revocation, a
password change reaching token sessions, forged tokens, --token-check stateless, and a SQLite
store that cannot write in the middle of a rotation (503, nothing half-written).

Exit 0 when every check passed, 1 on any failure, 77 (CTest's skip) only when PyJWT is absent.
"""
import base64
import hashlib
import hmac
import json
import os
import shutil
import sys
import tempfile
import time

try:
    import jwt
except ImportError as e:
    print(f"SKIP: PyJWT is not installed ({e}); install python3-jwt and python3-cryptography "
          "(scripts/install-deps.sh --test)")
    sys.exit(77)

from interop_util import Demo, check, summary

ISSUER = "sessionkit-demo"
AUDIENCE = "sessionkit-demo-api"

def sign_in(demo, user="alice", password="wonderland", **extra):
    return demo.request("POST", "/api/token", {"username": user, "password": password, **extra})


def refresh(demo, token):
    return demo.request("POST", "/api/token/refresh", {"refresh_token": token})


def me(demo, access_token):
    return demo.request("GET", "/api/me", headers={"Authorization": f"Bearer {access_token}"})


def jwks_keys(demo):
    status, headers, body = demo.request("GET", "/.well-known/jwks.json")
    check(status == 200 and headers.get("Content-Type") == "application/jwk-set+json",
          "GET /.well-known/jwks.json answers a JWK Set")
    check(all("d" not in k for k in body["keys"]), "the JWKS holds no private part")
    # The algorithm comes from the JWK ("alg"), never from a token's header.
    return {k["kid"]: (jwt.PyJWK(k), k["alg"]) for k in body["keys"]}


def verify_with_pyjwt(keys, token):
    """PyJWT's verdict, the algorithm taken from the JWK named by the kid, never the token."""
    kid = jwt.get_unverified_header(token)["kid"]
    key, alg = keys[kid]
    return jwt.decode(token, key.key, algorithms=[alg], audience=AUDIENCE,
                      issuer=ISSUER, options={"require": ["exp", "iat", "sub", "jti"]})


def scenario_token_flow(demo):
    keys = jwks_keys(demo)
    status, headers, body = sign_in(demo)
    check(status == 200, "POST /api/token with alice's password answers 200")
    check(headers.get("Cache-Control") == "no-store" and headers.get("Pragma") == "no-cache",
          "the token answer is never cached (RFC 6749 §5.1)")
    check(body.get("token_type") == "Bearer" and body.get("expires_in") == 300 and
          body.get("scope") == "profile" and len(body.get("refresh_token", "")) > 100,
          "the answer has token_type Bearer, expires_in 300, scope and an opaque refresh_token")
    check(headers.get("Set-Cookie") is None, "a token sign-in sets no cookie")
    claims = verify_with_pyjwt(keys, body["access_token"])
    header = jwt.get_unverified_header(body["access_token"])
    check(claims["sub"] == "alice" and claims["exp"] - claims["iat"] == 300 and
          header["typ"] == "at+jwt" and header["alg"] == "EdDSA",
          "PyJWT verifies the access token with the JWKS (EdDSA, typ at+jwt, sub alice, 300 s)")
    check("sid" in claims and body["refresh_token"] not in json.dumps(claims),
          "the token names its session by an opaque sid")

    status, headers, who = me(demo, body["access_token"])
    check(status == 200 and who["user"]["name"] == "alice" and who["via"] == "access_token",
          "GET /api/me with the access token: alice")

    r0 = body["refresh_token"]
    status, _, second = refresh(demo, r0)
    check(status == 200 and second["refresh_token"] != r0, "a refresh rotates the refresh token")
    check(verify_with_pyjwt(keys, second["access_token"])["sid"] is not None,
          "the refreshed access token verifies with PyJWT too")
    status, _, replay = refresh(demo, r0)
    check(status == 200, "the previous refresh token within grace answers again (a retry)")
    r1 = second["refresh_token"]
    status, _, third = refresh(demo, r1)
    check(status == 200, "the current refresh token rotates again")
    status, _, _ = me(demo, third["access_token"])
    check(status == 200, "the newest access token works")

    # r0 is now two generations old: whoever presents it has a copy that should be dead.
    status, headers, err = refresh(demo, r0)
    check(status == 400 and err == {"error": "invalid_grant", "error_description":
                                    "the refresh token is invalid, expired or revoked"},
          "an old refresh token (reuse) answers 400 invalid_grant")
    check("refresh token reuse" in demo.log(), "reuse is logged as an anomaly")
    status, headers, err = me(demo, third["access_token"])
    challenge = headers.get("WWW-Authenticate", "")
    check(status == 401 and 'error="invalid_token"' in challenge and
          "the session has ended" in challenge,
          "after reuse the family's newest access token answers 401 invalid_token")
    status, _, err = refresh(demo, third["refresh_token"])
    check(status == 400 and err["error"] == "invalid_grant",
          "after reuse the family's newest refresh token is refused too")
    check(verify_with_pyjwt(keys, third["access_token"])["sub"] == "alice",
          "(the revoked token is still well signed: the server's check refused it)")


def scenario_errors(demo):
    status, headers, err = sign_in(demo, password="not the password")
    check(status == 400 and err["error"] == "invalid_grant", "a wrong password: 400 invalid_grant")
    status, _, err = demo.request("POST", "/api/token", "{not json")
    check(status == 400 and err["error"] == "invalid_request", "malformed JSON: 400 invalid_request")
    status, _, err = sign_in(demo, scope="admin")
    check(status == 400 and err["error"] == "invalid_scope", "an unknown scope: 400 invalid_scope")
    status, _, _ = demo.request("POST", "/api/token", "username=alice&password=wonderland",
                                {"Content-Type": "application/x-www-form-urlencoded"})
    check(status == 415, "a form body: 415")
    status, headers, _ = demo.request("GET", "/api/token")
    check(status == 405 and headers.get("Allow") == "POST", "GET /api/token: 405 Allow: POST")
    status, _, err = demo.request("POST", "/api/token",
                                  {"username": "alice", "password": "wonderland"},
                                  {"Origin": "https://evil.example"})
    check(status == 403, "a sign-in from a foreign Origin: 403")
    status, _, err = refresh(demo, "A" * 171)
    check(status == 400 and err["error"] == "invalid_grant", "a made-up refresh token: 400")
    status, _, err = demo.request("POST", "/api/token/refresh", {})
    check(status == 400 and err["error"] == "invalid_request", "no refresh token: 400")

    status, headers, err = demo.request("GET", "/api/me")
    check(status == 401 and headers.get("WWW-Authenticate") == 'Bearer realm="sessionkit-demo"',
          "/api/me without any credential: 401 with a bare Bearer challenge (RFC 6750 §3.1)")
    status, headers, _ = demo.request("GET", "/api/me", headers={"Authorization": "Basic eDp5"})
    check(status == 401 and "error=" not in headers.get("WWW-Authenticate", "x"),
          "another scheme: 401, no error code")
    status, headers, _ = me(demo, "not.a.jwt")
    check(status == 401 and 'error="invalid_token"' in headers.get("WWW-Authenticate", ""),
          "a malformed access token: 401 invalid_token")

    # Tokens minted by PyJWT that must not pass.
    keys = jwks_keys(demo)
    kid = next(iter(keys))
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "sid": "x", "iat": now,
              "exp": now + 60, "jti": "j"}
    jwk = demo.request("GET", "/.well-known/jwks.json")[2]["keys"][0]
    raw_x = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    forged = [
        ("HS256 keyed with the public JWK's text (alg confusion)",
         _hs256(claims, kid, json.dumps(jwk).encode())),
        ("HS256 keyed with the raw public key (alg confusion)", _hs256(claims, kid, raw_x)),
        ('alg "none"', _unsigned(claims, kid)),
        ("an unknown kid", _hs256(claims, "no-such-kid", raw_x)),
    ]
    for what, token in forged:
        status, headers, err = me(demo, token)
        check(status == 401 and 'error="invalid_token"' in headers.get("WWW-Authenticate", ""),
              f"a PyJWT-made token, {what}: 401")

    status, _, body = sign_in(demo, user="bob", password="builder", scope="sessions")
    status, headers, _ = me(demo, body["access_token"])
    check(status == 403 and 'error="insufficient_scope"' in headers.get("WWW-Authenticate", ""),
          "a token without the profile scope: 403 insufficient_scope")


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256(claims, kid, secret):
    head = _b64(json.dumps({"alg": "HS256", "kid": kid, "typ": "at+jwt"}).encode())
    body = _b64(json.dumps(claims).encode())
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def _unsigned(claims, kid):
    head = _b64(json.dumps({"alg": "none", "kid": kid, "typ": "at+jwt"}).encode())
    return f"{head}.{_b64(json.dumps(claims).encode())}."


def scenario_cookie(demo):
    status, headers, body = sign_in(demo, user="bob", password="builder", refresh_cookie=True)
    cookie = headers.get("Set-Cookie", "")
    check(status == 200 and "refresh_token" not in body, "refresh_cookie: no token in the body")
    check(cookie.startswith("refresh=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
          and "Path=/" in cookie, "the refresh cookie is HttpOnly, SameSite=Strict, Path=/")
    pair = cookie.split(";")[0]
    status, headers, second = demo.request("POST", "/api/token/refresh",
                                           headers={"Cookie": pair})
    rotated = headers.get("Set-Cookie", "")
    check(status == 200 and rotated.startswith("refresh=") and rotated.split(";")[0] != pair,
          "a refresh with the cookie answers a new cookie")
    status, _, err = demo.request("POST", "/api/token/refresh", {"refresh_token": "x"},
                                  {"Cookie": rotated.split(";")[0]})
    check(status == 400 and err["error"] == "invalid_request",
          "a token in both the body and the cookie: 400")
    status, headers, body = demo.request("POST", "/api/token/revoke",
                                         headers={"Cookie": rotated.split(";")[0]})
    check(status == 200 and body == {"revoked": True} and
          "Max-Age=0" in headers.get("Set-Cookie", ""),
          "POST /api/token/revoke with the cookie: revoked, cookie cleared")
    status, _, _ = me(demo, second["access_token"])
    check(status == 401, "the revoked session's access token answers 401 at once")
    status, _, body = demo.request("POST", "/api/token/revoke", {"token": "garbage"})
    check(status == 200 and body == {"revoked": False},
          "revoking a token that is not ours: 200 (RFC 7009 §2.2)")


def scenario_password_change(demo):
    status, _, tokens = sign_in(demo)
    check(status == 200, "alice signs in for tokens")
    status, _, _ = me(demo, tokens["access_token"])
    check(status == 200, "her access token works (and its answer is now cached)")
    # Alice changes her password through the cookie API (GET /api/session for a CSRF token,
    # sign in, change): every other session of hers ends, token sessions included.
    jar = {}

    def call(method, path, body=None, csrf=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}
        if csrf:
            headers["X-CSRF-Token"] = csrf
        status, res_headers, answer = demo.request(method, path, body, headers)
        for line in res_headers.get_all("Set-Cookie") or []:
            name, value = line.split(";")[0].split("=", 1)
            jar[name] = value
        return status, answer

    _, answer = call("GET", "/api/session")
    status, answer = call("POST", "/api/login", {"username": "alice", "password": "wonderland"},
                          answer["csrf_token"])
    check(status == 200, "alice signs in with a cookie session too")
    cookie_header = "; ".join(f"{k}={v}" for k, v in jar.items())
    status, _, who = demo.request("GET", "/api/me", headers={
        "Authorization": f"Bearer {tokens['access_token']}", "Cookie": cookie_header})
    check(status == 200 and who["via"] == "access_token",
          "a browser with a cookie session too: the explicit access token is what /api/me reads")
    status, _ = call("POST", "/api/password",
                     {"current": "wonderland", "new": "through the looking-glass"},
                     answer["csrf_token"])
    check(status == 200, "alice changes her password")
    status, _, _ = me(demo, tokens["access_token"])
    check(status == 401, "after the password change her access token answers 401 at once")
    status, _, _ = refresh(demo, tokens["refresh_token"])
    check(status == 400, "and her refresh token is refused")


def scenario_stateless(binary, store):
    demo = Demo(binary, store, "--token-check", "stateless")
    try:
        _, _, tokens = sign_in(demo)
        status, _, _ = demo.request("POST", "/api/token/revoke",
                                    {"token": tokens["refresh_token"]})
        status, _, who = me(demo, tokens["access_token"])
        check(status == 200 and who["via"] == "access_token",
              "--token-check stateless: a revoked session's access token works until exp")
    finally:
        demo.stop()


def scenario_store_down_mid_rotation(binary):
    """SQLite (WAL): another process holds the write lock, so the refresh's load works and its
    compare-and-swap cannot write. 503 with Retry-After, nothing half-written: afterwards the
    same refresh token rotates."""
    import sqlite3
    directory = tempfile.mkdtemp(prefix="token-demo-sqlite-")
    path = os.path.join(directory, "sessions.db")
    demo = Demo(binary, f"sqlite://{path}")
    try:
        _, _, tokens = sign_in(demo)
        holder = sqlite3.connect(path, timeout=10, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            status, headers, err = refresh(demo, tokens["refresh_token"])
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        check(status == 503 and headers.get("Retry-After") is not None and
              headers.get("Set-Cookie") is None,
              "SQLite locked mid-rotation: 503 with Retry-After, no cookie")
        status, _, body = refresh(demo, tokens["refresh_token"])
        check(status == 200 and body["refresh_token"] != tokens["refresh_token"],
              "nothing was half-written: the same refresh token rotates afterwards")
        status, _, _ = me(demo, body["access_token"])
        check(status == 200, "and the new access token works")
    finally:
        demo.stop()
        shutil.rmtree(directory, ignore_errors=True)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    binary = sys.argv[1]
    store = sys.argv[2] if len(sys.argv) > 2 else "memory://"
    demo = Demo(binary, store)
    try:
        scenario_token_flow(demo)
        scenario_errors(demo)
        scenario_cookie(demo)
        scenario_password_change(demo)
    finally:
        demo.stop()
    scenario_stateless(binary, store)
    scenario_store_down_mid_rotation(binary)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
