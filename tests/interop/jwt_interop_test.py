#!/usr/bin/env python3
"""Interoperability of sessionkit's access tokens with PyJWT (Debian's python3-jwt).

Usage: jwt_interop_test.py PATH/TO/jwt_interop_tool

1. Tokens sessionkit mints (EdDSA and ES256) verify with PyJWT given only sessionkit's JWKS,
   the algorithm taken from the JWK (never the token); a tampered one does not.
2. Tokens PyJWT mints with sessionkit's private keys (exported as JWKs) verify in sessionkit.
3. sessionkit rejects, each for its own reason: HS256 signed with the public key as the HMAC
   secret (algorithm confusion), alg "none", an unknown kid, an expired token, a wrong audience.

Exit 0 when every check passed, 1 on any failure, 77 (CTest's skip) only when PyJWT is absent.
"""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time

try:
    import jwt
except ImportError as e:
    print(f"SKIP: PyJWT is not installed ({e}); install python3-jwt and python3-cryptography "
          "(scripts/install-deps.sh --test)")
    sys.exit(77)

from jwt import algorithms  # noqa: E402

if algorithms.has_crypto:
    from cryptography.hazmat.primitives import serialization

from interop_util import check, summary

ISS = "https://issuer.example"
AUD = "https://api.example"

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Tool:
    def __init__(self, path, ring):
        self.path, self.ring = path, ring

    def run(self, *args):
        p = subprocess.run([self.path, args[0], self.ring, *args[1:]], capture_output=True,
                           text=True, timeout=30)
        if p.returncode == 2:
            raise RuntimeError(f"jwt_interop_tool {args[0]} failed: {p.stderr.strip()}")
        return p.returncode, p.stdout.strip()

    def add(self, alg, kid):
        self.run("add", alg, kid)

    def mint(self, sub, sid):
        return self.run("mint", ISS, AUD, sub, sid)[1]

    def verify(self, token):
        return self.run("verify", ISS, AUD, token)[1]


def main():
    if not algorithms.has_crypto:
        print("FAIL: PyJWT is installed without python3-cryptography: no EdDSA or ES256")
        return 1
    print(f"PyJWT {jwt.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        tool = Tool(sys.argv[1], os.path.join(tmp, "ring.json"))
        # Two keys, both active: the newest signs; both verify.
        tool.add("EdDSA", "ed-1")
        ed_token = tool.mint("alice", "session-ed")
        tool.add("ES256", "es-1")
        es_token = tool.mint("bob", "session-es")
        with open(tool.ring) as f:
            private = {k["kid"]: k for k in json.load(f)["keys"]}
        jwks = json.loads(tool.run("jwks")[1])
        check(all("d" not in k for k in jwks["keys"]), "the JWKS holds no private member")
        keyset = jwt.PyJWKSet.from_dict(jwks)
        public = {k.key_id: k for k in keyset.keys}
        check(sorted(public) == ["ed-1", "es-1"], "PyJWT reads both keys of the JWKS")

        # 1. Ours verify in PyJWT with the JWKS alone.
        for token, kid, alg, sub in ((ed_token, "ed-1", "EdDSA", "alice"),
                                     (es_token, "es-1", "ES256", "bob")):
            header = jwt.get_unverified_header(token)
            check(header == {"alg": alg, "kid": kid, "typ": "at+jwt"}, f"{alg}: our header")
            jwk_alg = next(k["alg"] for k in jwks["keys"] if k["kid"] == header["kid"])
            try:
                claims = jwt.decode(token, public[header["kid"]].key, algorithms=[jwk_alg],
                                    audience=AUD, issuer=ISS,
                                    options={"require": ["exp", "iat", "sub", "jti"]})
                check(claims["sub"] == sub and claims["exp"] - claims["iat"] == 300
                      and len(claims["jti"]) >= 22, f"{alg}: PyJWT verifies our token")
            except jwt.PyJWTError as e:
                check(False, f"{alg}: PyJWT verifies our token ({e!r})")
            h, p, s = token.split(".")
            forged = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
            forged["sub"] = "mallory"
            tampered = ".".join([h, b64url(json.dumps(forged).encode()), s])
            try:
                jwt.decode(tampered, public[kid].key, algorithms=[jwk_alg], audience=AUD)
                check(False, f"{alg}: PyJWT refuses our token with changed claims")
            except jwt.InvalidSignatureError:
                check(True, f"{alg}: PyJWT refuses our token with changed claims")
            check(tool.verify(tampered) == "rejected bad_signature",
                  f"{alg}: we refuse our token with changed claims")

        # 2. PyJWT's tokens, signed with our private keys, verify here.
        now = int(time.time())

        def claims(**over):
            c = {"iss": ISS, "aud": AUD, "sub": "carol", "sid": "session-py", "iat": now,
                 "exp": now + 300, "jti": b64url(os.urandom(16))}
            c.update(over)
            return c

        signing = {}
        for kid, alg in (("ed-1", "EdDSA"), ("es-1", "ES256")):
            signing[kid] = jwt.PyJWK.from_dict(private[kid]).key
            token = jwt.encode(claims(), signing[kid], algorithm=alg,
                               headers={"kid": kid, "typ": "at+jwt"})
            check(tool.verify(token) == f"ok carol session-py {kid}",
                  f"{alg}: PyJWT's token verifies here")
            aud_list = jwt.encode(claims(aud=["https://other.example", AUD]), signing[kid],
                                  algorithm=alg, headers={"kid": kid, "typ": "at+jwt"})
            check(tool.verify(aud_list) == f"ok carol session-py {kid}",
                  f"{alg}: PyJWT's token with an audience array verifies here")

            # 3. Attacks, each refused for its reason.
            expired = jwt.encode(claims(iat=now - 3700, exp=now - 3400), signing[kid],
                                 algorithm=alg, headers={"kid": kid, "typ": "at+jwt"})
            check(tool.verify(expired) == "rejected expired", f"{alg}: expired token refused")
            wrong_aud = jwt.encode(claims(aud="https://other.example"), signing[kid],
                                   algorithm=alg, headers={"kid": kid, "typ": "at+jwt"})
            check(tool.verify(wrong_aud) == "rejected wrong_audience",
                  f"{alg}: wrong audience refused")
            wrong_kid = jwt.encode(claims(), signing[kid], algorithm=alg,
                                   headers={"kid": "not-a-key", "typ": "at+jwt"})
            check(tool.verify(wrong_kid) == "rejected unknown_kid", f"{alg}: unknown kid refused")
            untyped = jwt.encode(claims(), signing[kid], algorithm=alg, headers={"kid": kid})
            check(tool.verify(untyped) == "rejected wrong_typ", f"{alg}: typ JWT refused")

            # Algorithm confusion: HS256 keyed with the public key as published (the JWK text)
            # and as PEM (PyJWT itself refuses a PEM HMAC key, so that one is made by hand).
            jwk_text = json.dumps(next(k for k in jwks["keys"] if k["kid"] == kid))
            hs = jwt.encode(claims(), jwk_text, algorithm="HS256",
                            headers={"kid": kid, "typ": "at+jwt"})
            check(tool.verify(hs) == "rejected alg_mismatch",
                  f"{alg}: HS256 keyed with the public JWK refused")
            pem = public[kid].key.public_bytes(
                encoding=serialization.Encoding.PEM,
                format=serialization.PublicFormat.SubjectPublicKeyInfo)
            head = b64url(json.dumps({"alg": "HS256", "kid": kid, "typ": "at+jwt"}).encode())
            body = b64url(json.dumps(claims()).encode())
            mac = hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
            check(tool.verify(f"{head}.{body}.{b64url(mac)}") == "rejected alg_mismatch",
                  f"{alg}: HS256 keyed with the public key's PEM refused")

            none = jwt.encode(claims(), None, algorithm="none",
                              headers={"kid": kid, "typ": "at+jwt"})
            check(tool.verify(none) == "rejected alg_none", f"{alg}: alg none refused")

    return summary("interop: ")


if __name__ == "__main__":
    sys.exit(main())
