#!/usr/bin/env python3
"""Self-test for tests/peers/pysaml2_sp.py, independent of the Rust code.

Run via tests/peers/selftest.sh (uses the venv from scripts/setup-peers.sh).
It drives the peer CLI as a black box (subprocess), exactly like the Rust
integration tests do, against:
  * a Response produced by pysaml2's own IdP (saml2.server.Server), and
  * hand-written Responses shaped like sso-bridge's (docs/protocol.md R4 shape), signed
    with the xmlsec1 CLI, plus a set of negative variants that must be
    rejected.
"""

import base64
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
import zlib
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape, quoteattr

warnings.simplefilter("ignore")

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "pysaml2_sp.py")

SP_ENTITY = "https://auth.huaweicloud.com/"
SP_ACS = "https://auth.huaweicloud.com/authui/saml/SAMLAssertionConsumer"
SP_SLO = "https://auth.huaweicloud.com/authui/saml/logout"
IDP_ENTITY = "https://idp.example/saml/metadata"
IDP_SSO = "https://idp.example/saml/sso"

TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
URI_FMT = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"

TRICKY = {
    "xUserId": ["u-123<&>\"'"],
    "xAccountId": ["acc]]>tail"],
    "bpId": ["bp<!---->id"],
    "email": ["a&b@example.com"],
    "name": ["张三"],
    "mobile": [""],
}

FAILS = []
PASSES = 0


def check(cond, what, detail=None):
    global PASSES
    if cond:
        PASSES += 1
        print(f"  ok   {what}")
    else:
        FAILS.append(what)
        print(f"  FAIL {what}" + (f"\n       {detail}" if detail is not None else ""))


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def gen_key_cert(d, name, cn):
    key, cert = os.path.join(d, f"{name}.key"), os.path.join(d, f"{name}.crt")
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
       "-days", "30", "-subj", f"/CN={cn}")
    return key, cert


def cert_b64(cert_path):
    lines = open(cert_path).read().strip().splitlines()
    return "".join(l for l in lines if "-----" not in l)


def peer(sub, common, *extra):
    p = subprocess.run([sys.executable, PEER, sub, *common, *extra], capture_output=True, text=True)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = {"ok": None, "raw_stdout": p.stdout, "stderr": p.stderr}
    out["_rc"] = p.returncode
    return out


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------------------
# Hand-written sso-bridge-shaped Response, signed with the xmlsec1 CLI.
# ---------------------------------------------------------------------------

def huawei_response(d, idp_key, idp_cert, request_id, *, destination=SP_ACS, recipient=SP_ACS,
                    audience=SP_ENTITY, scd_irt=None, locality=SP_ENTITY, attrs=TRICKY,
                    not_before_delta=-5, not_on_or_after_delta=300, sign=True, tamper=None):
    now = dt.datetime.now(dt.timezone.utc)
    rid, aid = "_" + uuid.uuid4().hex, "_" + uuid.uuid4().hex
    nb = iso(now + dt.timedelta(seconds=not_before_delta))
    noa = iso(now + dt.timedelta(seconds=not_on_or_after_delta))
    scd_irt = request_id if scd_irt is None else scd_irt
    attr_xml = ""
    for name, values in attrs.items():
        vals = "".join(
            '<saml2:AttributeValue xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xsd:string"'
            + ("/>" if v == "" else f">{escape(v)}</saml2:AttributeValue>")
            for v in values)
        attr_xml += f'<saml2:Attribute Name={quoteattr(name)} NameFormat="{URI_FMT}">{vals}</saml2:Attribute>'
    sig = ""
    if sign:
        sig = f"""<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{RSA_SHA256}"/><ds:Reference URI="#{aid}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="xsd"/></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate></ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"""
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<saml2p:Response xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol" Destination="{destination}" ID="{rid}" InResponseTo="{request_id}" IssueInstant="{iso(now)}" Version="2.0"><saml2:Issuer xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{IDP_ENTITY}</saml2:Issuer><saml2p:Status><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></saml2p:Status><saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xsd="http://www.w3.org/2001/XMLSchema" ID="{aid}" IssueInstant="{iso(now)}" Version="2.0"><saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{IDP_ENTITY}</saml2:Issuer>{sig}<saml2:Subject><saml2:NameID Format="{TRANSIENT}" NameQualifier="{SP_ENTITY}">_transient-abc123</saml2:NameID><saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml2:SubjectConfirmationData InResponseTo="{scd_irt}" NotOnOrAfter="{noa}" Recipient="{recipient}"/></saml2:SubjectConfirmation></saml2:Subject><saml2:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}"><saml2:AudienceRestriction><saml2:Audience>{audience}</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions><saml2:AttributeStatement>{attr_xml}</saml2:AttributeStatement><saml2:AuthnStatement AuthnInstant="{iso(now)}" SessionIndex="_sess-{uuid.uuid4().hex}"><saml2:SubjectLocality Address={quoteattr(locality)}/><saml2:AuthnContext><saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement></saml2:Assertion></saml2p:Response>"""
    src = os.path.join(d, "resp-template.xml")
    dst = os.path.join(d, "resp-signed.xml")
    with open(src, "w", encoding="utf-8") as fh:
        fh.write(xml)
    if sign:
        sh("xmlsec1", "--sign", "--privkey-pem", f"{idp_key},{idp_cert}",
           "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", "--output", dst, src)
    else:
        dst = src
    data = open(dst, "rb").read()
    if tamper:
        old, new = tamper
        assert old.encode() in data, old
        data = data.replace(old.encode(), new.encode(), 1)
    path = os.path.join(d, f"resp-{uuid.uuid4().hex}.b64")
    with open(path, "w") as fh:
        fh.write(base64.b64encode(data).decode("ascii"))
    return path


def main():
    for tool in ("openssl", "xmlsec1"):
        subprocess.run(["which", tool], check=True, capture_output=True)
    d = tempfile.mkdtemp(prefix="pysaml2-peer-selftest-")
    idp_key, idp_cert = gen_key_cert(d, "idp", "idp.example")
    other_key, other_cert = gen_key_cert(d, "other", "evil.example")
    sp_key, sp_cert = gen_key_cert(d, "sp", "auth.huaweicloud.com")

    idp_md = os.path.join(d, "idp-metadata.xml")
    with open(idp_md, "w") as fh:
        fh.write(f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{IDP_ENTITY}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_b64(idp_cert)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>{TRANSIENT}</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{IDP_SSO}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
""")
    common = ["--entity-id", SP_ENTITY, "--acs", SP_ACS, "--sp-key", sp_key, "--sp-cert", sp_cert,
              "--idp-metadata", idp_md, "--slo", SP_SLO]

    # ---------------------------------------------------------------- sp-metadata
    print("sp-metadata")
    r = peer("sp-metadata", common[:8] + ["--slo", SP_SLO])  # without --idp-metadata
    check(r.get("ok") is True and r["_rc"] == 0, "sp-metadata ok", r)
    md = r.get("metadata", "")
    for frag in ('AuthnRequestsSigned="true"', 'WantAssertionsSigned="true"',
                 f'entityID="{SP_ENTITY}"', f'Location="{SP_ACS}"',
                 'Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"', TRANSIENT, f'Location="{SP_SLO}"', 'use="signing"',
                 cert_b64(sp_cert)[:60]):
        check(frag in md, f"sp metadata contains {frag[:70]}")
    sp_md = os.path.join(d, "sp-metadata.xml")
    with open(sp_md, "w") as fh:
        fh.write(md)

    # ---------------------------------------------------------------- authn-request
    print("authn-request")
    t0 = time.time()
    r = peer("authn-request", common, "--relay-state", "rs/ä&x=1")
    check(r.get("ok") is True and r["_rc"] == 0, f"authn-request ok ({time.time() - t0:.2f}s)", r)
    url = r.get("url", "")
    req_id = r.get("request_id", "")
    u = urlparse(url)
    q = parse_qs(u.query)
    check(f"{u.scheme}://{u.netloc}{u.path}" == IDP_SSO, "redirect goes to IdP SSO (HTTP-Redirect)", url)
    check(q.get("SigAlg") == [RSA_SHA256], "SigAlg=rsa-sha256", q.get("SigAlg"))
    check(len(q.get("Signature", [""])[0]) > 100, "Signature param present")
    check(q.get("RelayState") == ["rs/ä&x=1"], "RelayState round-trips", q.get("RelayState"))
    req_xml = zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15).decode()
    for frag in (f'ID="{req_id}"', f'AssertionConsumerServiceURL="{SP_ACS}"',
                 'ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"',
                 f'Destination="{IDP_SSO}"', f'Format="{TRANSIENT}"', f">{SP_ENTITY}</"):
        check(frag in req_xml, f"AuthnRequest has {frag[:70]}", req_xml)
    check("<ds:Signature" not in req_xml and "Signature>" not in req_xml, "no embedded XML signature in redirect request")
    # Verify the query-string signature (SAML bindings 3.4.4.1) with the SP cert.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    raw = dict(p.split("=", 1) for p in u.query.split("&"))
    signed = "&".join(f"{k}={raw[k]}" for k in ("SAMLRequest", "RelayState", "SigAlg") if k in raw)
    pub = x509.load_pem_x509_certificate(open(sp_cert, "rb").read()).public_key()
    try:
        pub.verify(base64.b64decode(q["Signature"][0]), signed.encode(), padding.PKCS1v15(), hashes.SHA256())
        check(True, "redirect signature verifies with SP cert over SAMLRequest&RelayState&SigAlg")
    except Exception as exc:  # noqa: BLE001
        check(False, "redirect signature verifies", exc)

    # ---------------------------------------------------------------- pysaml2 IdP
    print("parse-response: response produced by pysaml2's own IdP (saml2.server.Server)")
    from saml2 import BINDING_HTTP_REDIRECT, BINDING_HTTP_POST
    from saml2.config import IdPConfig
    from saml2.saml import NAMEID_FORMAT_TRANSIENT, NameID
    from saml2.samlp import NameIDPolicy
    from saml2.server import Server
    from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256
    amap = os.path.join(d, "idp-attrmap")
    os.mkdir(amap)
    with open(os.path.join(amap, "identity_uri.py"), "w") as fh:
        names = list(TRICKY)
        fh.write("MAP = " + repr({"identifier": URI_FMT, "fro": {n.lower(): n for n in names},
                                  "to": {n: n for n in names}}) + "\n")
    idp_conf = IdPConfig()
    idp_conf.load({
        "entityid": IDP_ENTITY, "key_file": idp_key, "cert_file": idp_cert,
        "metadata": {"local": [sp_md]}, "attribute_map_dir": amap,
        "service": {"idp": {
            "endpoints": {"single_sign_on_service": [(IDP_SSO, BINDING_HTTP_REDIRECT)]},
            "name_id_format": [NAMEID_FORMAT_TRANSIENT],
            "policy": {"default": {"name_form": URI_FMT, "lifetime": {"minutes": 5},
                                   "attribute_restrictions": None}},
        }},
    })
    idp = Server(config=idp_conf)
    ident = {k: v for k, v in TRICKY.items() if k != "mobile"}
    ident["mobile"] = ["+86 138 0000 0000"]
    resp = idp.create_authn_response(
        ident, req_id, SP_ACS, SP_ENTITY,
        name_id=NameID(format=NAMEID_FORMAT_TRANSIENT, text="_tid-1", name_qualifier=SP_ENTITY),
        authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified", "authn_auth": IDP_ENTITY},
        sign_assertion=True, sign_response=False, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256,
    )
    f = os.path.join(d, "pysaml2-idp.b64")
    with open(f, "w") as fh:
        fh.write(base64.b64encode(str(resp).encode()).decode())
    t0 = time.time()
    r = peer("parse-response", common, "--request-id", req_id, "--saml-response-file", f)
    el = time.time() - t0
    check(r.get("ok") is True, f"pysaml2-IdP response accepted ({el:.2f}s)", r)
    check(r.get("attributes") == ident, "attributes exact", r.get("attributes"))
    check(r.get("name_id") == "_tid-1" and r.get("name_id_format") == TRANSIENT, "name_id/format")
    check(r.get("issuer") == IDP_ENTITY and r.get("in_response_to") == req_id, "issuer/in_response_to")

    # ---------------------------------------------------------------- sso-bridge shape
    print("parse-response: sso-bridge / Huawei-shaped responses (signed with xmlsec1 CLI)")

    def parse(path, rid=req_id, *extra):
        t = time.time()
        res = peer("parse-response", common, "--request-id", rid, "--saml-response-file", path, *extra)
        res["_secs"] = time.time() - t
        return res

    r = parse(huawei_response(d, idp_key, idp_cert, req_id))
    check(r.get("ok") is True, f"Huawei-shaped response accepted ({r['_secs']:.2f}s)", r)
    check(r.get("attributes") == TRICKY, "tricky attribute values exact (<, &, ]]>, <!---->, 张三, empty)",
          r.get("attributes"))
    check(r.get("ava") == TRICKY, "pysaml2 ava has same names/values (no converter renaming)", r.get("ava"))
    check(r.get("name_id") == "_transient-abc123" and r.get("name_id_format") == TRANSIENT
          and r.get("name_id_name_qualifier") == SP_ENTITY, "NameID transient + NameQualifier")
    check(r.get("subject_locality_address") == SP_ENTITY, "SubjectLocality Address=SP entityID accepted")
    check(r.get("in_response_to") == req_id and r.get("issuer") == IDP_ENTITY, "in_response_to/issuer")

    ws = dict(TRICKY, name=["  padded value \n"])
    r = parse(huawei_response(d, idp_key, idp_cert, req_id, attrs=ws))
    check(r.get("ok") is True and r["attributes"]["name"] == ["  padded value \n"],
          "whitespace preserved in 'attributes' (pysaml2's 'ava' strips it)", r.get("attributes"))

    r = parse(huawei_response(d, idp_key, idp_cert, req_id, not_before_delta=60), req_id, "--allowed-skew", "120")
    check(r.get("ok") is True, "NotBefore 60s in future accepted with --allowed-skew 120", r)

    negatives = [
        ("wrong Destination", dict(destination="https://evil.example/acs")),
        ("wrong Recipient", dict(recipient="https://evil.example/acs")),
        ("wrong Audience", dict(audience="https://evil.example/")),
        ("SubjectConfirmationData InResponseTo mismatch", dict(scd_irt="_other")),
        ("expired (NotOnOrAfter in the past)", dict(not_before_delta=-600, not_on_or_after_delta=-300)),
        ("NotBefore 60s in future (no skew)", dict(not_before_delta=60)),
        ("unsigned assertion", dict(sign=False)),
        ("tampered attribute value", dict(tamper=("a&amp;b@example.com", "x&amp;b@example.com"))),
        ("SubjectLocality Address neither IP nor URL", dict(locality="not an address")),
    ]
    for what, kw in negatives:
        r = parse(huawei_response(d, idp_key, idp_cert, req_id, **kw))
        check(r.get("ok") is False and r["_rc"] == 1 and r.get("error"), f"rejects {what}: {r.get('error')}", r)
    r = parse(huawei_response(d, other_key, other_cert, req_id))
    check(r.get("ok") is False and r["_rc"] == 1, f"rejects assertion signed by a key not in metadata: {r.get('error')}")
    r = parse(huawei_response(d, idp_key, idp_cert, req_id), "_not-the-request-id")
    check(r.get("ok") is False and r["_rc"] == 1, f"rejects unexpected InResponseTo: {r.get('error')}")
    r = parse(os.path.join(d, "does-not-exist.b64"))
    check(r.get("ok") is False and r["_rc"] == 1, f"missing file -> JSON error: {r.get('error')}")
    r = peer("parse-response", ["--entity-id", SP_ENTITY])
    check(r.get("ok") is False and r["_rc"] == 1, f"usage error -> JSON error: {r.get('error')}")

    print(f"\n{PASSES} passed, {len(FAILS)} failed" + (f"  (workdir kept: {d})" if FAILS else ""))
    if not FAILS:
        shutil.rmtree(d, ignore_errors=True)
    if FAILS:
        for f in FAILS:
            print(f"FAILED: {f}")
        sys.exit(1)


if __name__ == "__main__":
    main()
