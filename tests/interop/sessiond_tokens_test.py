#!/usr/bin/env python3
"""sessiond's token sessions with clients nobody here wrote.

Usage: sessiond_tokens_test.py PATH/TO/sessiond

Python's http.client talks to a real sessiond (memory store, development mode: no API key), and
PyJWT (Debian's python3-jwt) verifies its access tokens with nothing but sessiond's /v1/jwks. The
path: a session with a user -> tokens -> PyJWT verifies -> introspect -> refresh -> refresh again
-> the first refresh token presented again is reuse: the session ends, its access token is no
longer active -> revoke ends another session; plus tokens for a session without a user (409), for
an ID sessiond did not make (400), forged and tampered access tokens (inactive), a rotated key
file (old and new keys in the JWKS), regenerate leaving the old family behind, and a sessiond
without --token-keys (404).

Exit 0 when every check passed, 1 on any failure, 77 (CTest's skip) only when PyJWT is absent.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile

try:
    import jwt
except ImportError as e:
    print(f"SKIP: PyJWT is not installed ({e}); install python3-jwt and python3-cryptography "
          "(scripts/install-deps.sh --test)")
    sys.exit(77)

from interop_util import Demo, check, summary


def tokens(sd, sid):
    return sd.request("POST", f"/v1/sessions/{sid}/tokens")


def new_session(sd, user="alice"):
    status, _, body = sd.request("POST", "/v1/sessions", {"user": user} if user else {})
    check(status == 201, f"a session is created ({status})")
    return body["id"]


def jwks(sd):
    status, headers, body = sd.request("GET", "/v1/jwks")
    check(status == 200 and headers.get("Content-Type") == "application/jwk-set+json",
          f"GET /v1/jwks answers a JWK Set ({status}, {headers.get('Content-Type')})")
    check(all("d" not in k for k in body["keys"]), "the JWKS holds no private part")
    return {k["kid"]: (jwt.PyJWK(k), k["alg"]) for k in body["keys"]}


def verify(keys, token):
    """PyJWT's verdict with the algorithm of the JWK the kid names, never the token's."""
    kid = jwt.get_unverified_header(token).get("kid")
    if kid not in keys:
        raise jwt.InvalidTokenError(f"unknown kid {kid}")
    key, alg = keys[kid]
    return jwt.decode(token, key=key.key, algorithms=[alg], audience="sessiond-api",
                      issuer="sessiond-test", options={"require": ["exp", "iat", "sub"]})


def main():
    binary = sys.argv[1]
    work = tempfile.mkdtemp(prefix="sessiond-tokens-")
    keys_file = os.path.join(work, "keys.json")
    with open(keys_file, "w") as f:
        f.write(subprocess.run([binary, "token-keys"], check=True, capture_output=True,
                               text=True).stdout)
    os.chmod(keys_file, 0o600)
    secret_file = os.path.join(work, "secret")
    with open(secret_file, "w") as f:
        f.write(base64.b64encode(os.urandom(48)).decode() + "\n")
    flags = ["--mode", "development", "--token-keys", keys_file, "--secret-file", secret_file,
             "--token-issuer", "sessiond-test", "--token-audience", "sessiond-api"]

    sd = Demo(binary, "memory://", *flags)
    try:
        keys = jwks(sd)
        check(len(keys) == 1 and all(alg == "EdDSA" for _, alg in keys.values()),
              "one Ed25519 key in the JWKS")

        sid = new_session(sd)
        status, headers, body = tokens(sd, sid)
        check(status == 200, f"tokens for a session with a user ({status} {body})")
        check(body["token_type"] == "Bearer" and body["expires_in"] == 300 and
              len(body["refresh_token"]) > 100, "the answer's fields (RFC 6749 §5.1)")
        check(headers.get("Cache-Control") == "no-store", "Cache-Control: no-store")
        claims = verify(keys, body["access_token"])
        check(claims["sub"] == "alice", "PyJWT verifies the access token: sub alice")
        check(sid not in body["access_token"] and sid not in json.dumps(claims),
              "the session ID is not readable in the token (sid is sealed)")
        check(jwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt",
              "typ at+jwt (RFC 9068)")

        status, _, intro = sd.request("POST", "/v1/tokens/introspect",
                                      {"token": body["access_token"]})
        check(status == 200 and intro["active"] and intro["sub"] == "alice",
              f"introspect: active, sub alice ({intro})")

        first_refresh = body["refresh_token"]
        status, _, second = sd.request("POST", "/v1/tokens/refresh",
                                       {"refresh_token": first_refresh})
        check(status == 200 and verify(keys, second["access_token"])["sub"] == "alice",
              "refresh: a new pair, verified by PyJWT")
        status, _, third = sd.request("POST", "/v1/tokens/refresh",
                                      {"refresh_token": second["refresh_token"]})
        check(status == 200, "refresh again with the new refresh token")
        # The first token, two generations old: reuse. The session ends.
        status, _, reuse = sd.request("POST", "/v1/tokens/refresh",
                                      {"refresh_token": first_refresh})
        check(status == 400 and reuse["error"] == "invalid_grant",
              f"an old refresh token is invalid_grant ({status} {reuse})")
        status, _, _ = sd.request("GET", f"/v1/sessions/{sid}")
        check(status == 404, "reuse ended the session")
        status, _, intro = sd.request("POST", "/v1/tokens/introspect",
                                      {"token": third["access_token"]})
        check(status == 200 and not intro["active"],
              f"its latest access token is no longer active ({intro})")
        status, _, _ = sd.request("POST", "/v1/tokens/refresh",
                                  {"refresh_token": third["refresh_token"]})
        check(status == 400, "nor is its latest refresh token")

        # Revoke (RFC 7009): the session ends; revoking again still answers 200.
        sid2 = new_session(sd, "bob")
        _, _, pair = tokens(sd, sid2)
        status, _, revoked = sd.request("POST", "/v1/tokens/revoke",
                                        {"token": pair["refresh_token"]})
        check(status == 200 and revoked == {"revoked": True}, f"revoke ({revoked})")
        check(sd.request("GET", f"/v1/sessions/{sid2}")[0] == 404, "revoke ended the session")
        status, _, revoked = sd.request("POST", "/v1/tokens/revoke",
                                        {"token": pair["refresh_token"]})
        check(status == 200 and revoked == {"revoked": False}, "a second revoke: 200, false")

        # Refusals.
        status, _, err = tokens(sd, new_session(sd, user=None))
        check(status == 409 and "user" in err["error"], f"no user, no token ({status} {err})")
        status, _, err = tokens(sd, "abcdefghijklmnopqrstuvwxyz012345")
        check(status == 400, f"an ID sessiond did not make: 400 ({status})")
        status, _, err = tokens(sd, "A" * 43)
        check(status == 404, f"no such session: 404 ({status})")
        status, _, err = sd.request("POST", "/v1/tokens/refresh", {})
        check(status == 400 and err["error"] == "invalid_request", "refresh without a token")
        status, _, err = sd.request("POST", "/v1/tokens/refresh", {"refresh_token": "x" * 40})
        check(status == 400 and err["error"] == "invalid_grant", "a refresh token that is not ours")
        sid3 = new_session(sd, "carol")
        _, _, pair = tokens(sd, sid3)
        access = pair["access_token"]
        head, payload, sig = access.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["sub"] = "mallory"
        forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        for name, token in [("a tampered payload", f"{head}.{forged_payload}.{sig}"),
                            ("alg none", jwt.encode(claims, None, algorithm="none")),
                            ("HS256 with a guessed secret",
                             jwt.encode(claims, "secret" * 6, algorithm="HS256",
                                        headers={"kid": jwt.get_unverified_header(access)["kid"]})),
                            ("not a JWT", "garbage")]:
            status, _, intro = sd.request("POST", "/v1/tokens/introspect", {"token": token})
            check(status == 200 and intro["active"] is False, f"{name}: not active ({intro})")

        # Regenerate: the new ID has no family; the old family's tokens name the old ID.
        status, _, moved = sd.request("POST", f"/v1/sessions/{sid3}/regenerate")
        check(status == 201, "regenerate")
        status, _, _ = sd.request("POST", "/v1/tokens/refresh",
                                  {"refresh_token": pair["refresh_token"]})
        check(status == 400, "a refresh token of the old ID is invalid after regenerate")
        status, _, pair2 = tokens(sd, moved["id"])
        check(status == 200 and verify(keys, pair2["access_token"])["sub"] == "carol",
              "the new ID gets tokens of its own")
    finally:
        sd.stop()

    # A rotated key file: the new key signs, the old one still verifies (both in the JWKS).
    rotated = os.path.join(work, "keys2.json")
    with open(rotated, "w") as f:
        f.write(subprocess.run([binary, "token-keys", "--rotate", keys_file], check=True,
                               capture_output=True, text=True).stdout)
    sd = Demo(binary, "memory://", *[rotated if a == keys_file else a for a in flags])
    try:
        keys2 = jwks(sd)
        check(len(keys2) == 2 and set(keys) < set(keys2), "the JWKS has the old and the new key")
        _, _, pair = tokens(sd, new_session(sd))
        kid = jwt.get_unverified_header(pair["access_token"])["kid"]
        check(kid in keys2 and kid not in keys, "the new key signs")
        verify(keys2, pair["access_token"])
    finally:
        sd.stop()

    # Without --token-keys: the routes are off.
    sd = Demo(binary, "memory://", "--mode", "development")
    try:
        status, _, err = sd.request("GET", "/v1/jwks")
        check(status == 404 and "--token-keys" in err["error"], "no --token-keys: /v1/jwks 404")
        status, _, err = tokens(sd, new_session(sd))
        check(status == 404, "no --token-keys: tokens 404")
    finally:
        sd.stop()
    return summary("sessiond_tokens")


if __name__ == "__main__":
    sys.exit(main())
