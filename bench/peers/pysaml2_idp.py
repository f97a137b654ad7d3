#!/usr/bin/env python3
"""Peer benchmark: the per-SSO work of sso-bridge done with pysaml2 as the IdP.

    python bench/peers/pysaml2_idp.py --requests N \
        --idp-key idp.pem --idp-cert idp.crt --sp-key sp.pem --sp-cert sp.crt \
        [--warmup W] [--skip-checks]

Run it with the venv made by bench/setup-peers.sh (pysaml2 7.5.5; needs the
xmlsec1 binary, pysaml2's default and only maintained crypto backend).

Untimed setup: IdP and SP metadata are written to a temporary directory, a
pysaml2 SP client creates N distinct AuthnRequests for the HTTP-Redirect
binding, each signed over the query string with rsa-sha256 (the SP key is
meant to be RSA-4096, like Huawei Cloud's), NameIDPolicy transient, ACS
HTTP-POST. Then untimed functional checks: a tampered Signature, a tampered
SAMLRequest, a missing Signature and a wrong SigAlg must all be refused; the
first real Response must carry exactly one ds:Signature, inside the Assertion,
and must be accepted by a pysaml2 SP (signature, audience, recipient,
InResponseTo) with the six attributes.

Then --warmup W more SSOs, untimed (default max(10, N/10); the bridge's
harness warms up too).

Timed part, per request (the raw query string is split here too): the IdP parses the request and verifies its
redirect-binding signature (parse_authn_request with relay_state / sigalg /
signature; want_authn_requests_signed=True), looks up the ACS in the SP
metadata, creates a Response with a signed Assertion (RSA-SHA256, SHA-256
digest, IdP key RSA-2048), transient NameID, six attributes (NameFormat uri)
and encodes it for the HTTP-POST binding (base64 in an auto-submit form).

CPU: pysaml2 signs XML by running the xmlsec1 program once per assertion, so
the CPU of the Python process alone (time.process_time()) would leave out the
signing. "cpu_seconds" therefore is process_time() plus the user+system time
of the child processes reaped during the timed loop (RUSAGE_CHILDREN); both
parts are reported too ("cpu_seconds_python", "cpu_seconds_children").

Prints ONE JSON line on stdout.
"""

import argparse
import base64
import json
import logging
import os
import resource
import shutil
import sys
import tempfile
import time
import warnings
from importlib.metadata import version as pkg_version
from urllib.parse import parse_qs, urlparse

warnings.simplefilter("ignore")
logging.basicConfig(level=logging.CRITICAL)

IDP_ENTITY = "https://idp.bench/"
IDP_SSO = "https://idp.bench/sso"
SP_ENTITY = "https://sp.bench/"
SP_ACS = "https://sp.bench/acs"
HUAWEI_ATTRIBUTES = ("xUserId", "xAccountId", "bpId", "email", "name", "mobile")


def identity_converter():
    """Attribute names are emitted exactly as given, NameFormat uri."""
    from saml2.attribute_converter import AttributeConverter
    from saml2.saml import NAME_FORMAT_URI

    conv = AttributeConverter(NAME_FORMAT_URI)
    conv.from_dict(
        {
            "identifier": NAME_FORMAT_URI,
            "fro": {n.lower(): n for n in HUAWEI_ATTRIBUTES},
            "to": {n: n for n in HUAWEI_ATTRIBUTES},
        }
    )
    return conv


def metadata_xml(conf):
    from saml2.metadata import create_metadata_string

    xml = create_metadata_string(None, config=conf, valid=None, sign=False)
    return xml.decode("utf-8") if isinstance(xml, bytes) else xml


def build(args, work):
    import saml2
    from saml2.client import Saml2Client
    from saml2.config import IdPConfig, SPConfig
    from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_TRANSIENT
    from saml2.server import Server
    from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

    xmlsec = shutil.which("xmlsec1")
    if not xmlsec:
        raise SystemExit("xmlsec1 not found on PATH (apt-get install xmlsec1)")

    sp_dict = {
        "entityid": SP_ENTITY,
        "key_file": args.sp_key,
        "cert_file": args.sp_cert,
        "xmlsec_binary": xmlsec,
        "allow_unknown_attributes": True,
        "service": {
            "sp": {
                "endpoints": {"assertion_consumer_service": [(SP_ACS, saml2.BINDING_HTTP_POST)]},
                "name_id_format": [NAMEID_FORMAT_TRANSIENT],
                "name_id_policy_format": NAMEID_FORMAT_TRANSIENT,
                "name_id_format_allow_create": False,
                "authn_requests_signed": True,
                "want_assertions_signed": True,
                "want_response_signed": False,
                "allow_unsolicited": False,
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
            }
        },
    }
    idp_dict = {
        "entityid": IDP_ENTITY,
        "key_file": args.idp_key,
        "cert_file": args.idp_cert,
        "xmlsec_binary": xmlsec,
        "service": {
            "idp": {
                "endpoints": {"single_sign_on_service": [(IDP_SSO, saml2.BINDING_HTTP_REDIRECT)]},
                "name_id_format": [NAMEID_FORMAT_TRANSIENT],
                "want_authn_requests_signed": True,
                "sign_assertion": True,
                "sign_response": False,
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
                "policy": {
                    "default": {
                        "lifetime": {"minutes": 5},
                        "attribute_restrictions": None,
                        "name_form": NAME_FORMAT_URI,
                    }
                },
                # in-memory transient NameID store (the equivalent of the bridge's session store)
                "subject_data": ("dict", None),
            }
        },
    }

    # Metadata of both sides (written to files, loaded as "local" metadata).
    sp_md_conf = SPConfig()
    sp_md_conf.load(dict(sp_dict))
    idp_md_conf = IdPConfig()
    idp_md_conf.load(dict(idp_dict))
    sp_md = os.path.join(work, "sp-metadata.xml")
    idp_md = os.path.join(work, "idp-metadata.xml")
    with open(sp_md, "w", encoding="utf-8") as fh:
        fh.write(metadata_xml(sp_md_conf))
    with open(idp_md, "w", encoding="utf-8") as fh:
        fh.write(metadata_xml(idp_md_conf))

    sp_conf = SPConfig()
    sp_conf.load(dict(sp_dict, metadata={"local": [idp_md]}))
    sp_conf.attribute_converters = [identity_converter()]
    client = Saml2Client(config=sp_conf)

    idp_conf = IdPConfig()
    idp_conf.load(dict(idp_dict, metadata={"local": [sp_md]}))
    idp_conf.attribute_converters = [identity_converter()]
    idp = Server(config=idp_conf)
    return client, idp


def make_requests(client, n):
    """N distinct signed HTTP-Redirect AuthnRequests -> list of (id, raw query string)."""
    import saml2
    from saml2.saml import NAMEID_FORMAT_TRANSIENT
    from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

    out = []
    for i in range(n):
        req_id, info = client.prepare_for_authenticate(
            entityid=IDP_ENTITY,
            relay_state=f"https://console.huaweicloud.com/?r={i}",
            binding=saml2.BINDING_HTTP_REDIRECT,
            response_binding=saml2.BINDING_HTTP_POST,
            nameid_format=NAMEID_FORMAT_TRANSIENT,
            sign=True,
            sigalg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
            assertion_consumer_service_url=SP_ACS,
        )
        url = dict(info["headers"])["Location"]
        raw = urlparse(url).query
        if not {"SAMLRequest", "SigAlg", "Signature"} <= split_query(raw).keys():
            raise SystemExit(f"pysaml2 SP made an unsigned redirect: {url}")
        out.append((req_id, raw))
    return out


def split_query(raw):
    """What an HTTP server hands the IdP: the decoded query parameters."""
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def identity_for(i):
    return {
        "xUserId": [f"user-{i:08d}"],
        "xAccountId": ["account-0001"],
        "bpId": ["bp-0001"],
        "email": [f"user{i}@example.com"],
        "name": [f"User {i}"],
        "mobile": ["+86-13800000000"],
    }


def sso(idp, raw_query, i):
    """One SSO: verify the signed redirect AuthnRequest, answer with a signed
    assertion, encoded for HTTP-POST. Returns (base64 SAMLResponse, html)."""
    import saml2
    from saml2.saml import AUTHN_PASSWORD_PROTECTED
    from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

    query = split_query(raw_query)
    req = idp.parse_authn_request(
        query["SAMLRequest"],
        saml2.BINDING_HTTP_REDIRECT,
        relay_state=query.get("RelayState"),
        sigalg=query["SigAlg"],
        signature=query["Signature"],
    )
    if req is None:
        raise ValueError("request refused")
    msg = req.message
    # binding/destination/in_response_to/sp_entity_id, ACS checked against SP metadata
    resp_args = idp.response_args(msg, [saml2.BINDING_HTTP_POST])
    response = idp.create_authn_response(
        identity_for(i),
        userid=f"user-{i:08d}",
        name_id_policy=msg.name_id_policy,
        authn={"class_ref": AUTHN_PASSWORD_PROTECTED, "authn_auth": IDP_ENTITY},
        sign_assertion=True,
        sign_response=False,
        sign_alg=SIG_RSA_SHA256,
        digest_alg=DIGEST_SHA256,
        in_response_to=resp_args["in_response_to"],
        destination=resp_args["destination"],
        sp_entity_id=resp_args["sp_entity_id"],
    )
    xml = str(response)
    http = idp.apply_binding(
        resp_args["binding"], xml, resp_args["destination"], query.get("RelayState", ""), response=True
    )
    return base64.b64encode(xml.encode("utf-8")).decode("ascii"), http["data"]


def functional_checks(client, idp, reqs):
    """Untimed: the redirect signature really is verified, the assertion
    really is signed (and verifiable by an SP). Raises on any failure."""
    import saml2
    from saml2.xmldsig import SIG_RSA_SHA1

    req_id, good_raw = reqs[0]
    good = split_query(good_raw)
    other = split_query(reqs[1][1])

    def refusal(query):
        """None if accepted, else why pysaml2 refused it."""
        try:
            req = idp.parse_authn_request(
                query["SAMLRequest"],
                saml2.BINDING_HTTP_REDIRECT,
                relay_state=query.get("RelayState"),
                sigalg=query.get("SigAlg"),
                signature=query.get("Signature"),
            )
        except Exception as exc:
            return f"{exc.__class__.__name__}: {exc}"
        return None if req is not None else "parse_authn_request returned None"

    sig = bytearray(base64.b64decode(good["Signature"]))
    sig[len(sig) // 2] ^= 0x01
    cases = {
        "tampered Signature": dict(good, Signature=base64.b64encode(bytes(sig)).decode()),
        "tampered RelayState": dict(good, RelayState=good.get("RelayState", "") + "x"),
        "SAMLRequest of another request": dict(good, SAMLRequest=other["SAMLRequest"]),
        "no Signature": {k: v for k, v in good.items() if k != "Signature"},
        "other SigAlg": dict(good, SigAlg=SIG_RSA_SHA1),
    }
    refusals = {}
    for name, query in cases.items():
        refusals[name] = refusal(query)
        if refusals[name] is None:
            raise SystemExit(f"functional check failed: {name} was accepted")
    why = refusal(good)
    if why is not None:
        raise SystemExit(f"functional check failed: the untampered request was refused: {why}")

    b64, html = sso(idp, good_raw, 0)
    xml = base64.b64decode(b64).decode("utf-8")
    import xml.etree.ElementTree as ET

    ds, sa = "{http://www.w3.org/2000/09/xmldsig#}", "{urn:oasis:names:tc:SAML:2.0:assertion}"
    root = ET.fromstring(xml)
    sigs = list(root.iter(ds + "Signature"))
    assertion = root.find(sa + "Assertion")
    if len(sigs) != 1 or assertion is None or assertion.find(ds + "Signature") is None:
        raise SystemExit(f"functional check failed: expected one ds:Signature, in the Assertion (got {len(sigs)})")
    algs = {e.get("Algorithm") for e in sigs[0].iter() if e.get("Algorithm")}
    if not {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2001/04/xmlenc#sha256"} <= algs:
        raise SystemExit(f"functional check failed: the Assertion is not signed with RSA-SHA256/SHA-256: {algs}")
    if b64 not in html:
        raise SystemExit("functional check failed: the POST form does not carry the SAMLResponse")
    parsed = client.parse_authn_request_response(
        b64, saml2.BINDING_HTTP_POST, outstanding={req_id: "/"}, conv_info={"remote_addr": "0.0.0.0"}
    )
    if parsed is None or parsed.assertion is None:
        raise SystemExit("functional check failed: the pysaml2 SP did not accept the Response")
    got = {a.name: a.name_format for st in parsed.assertion.attribute_statement for a in st.attribute}
    if set(got) != set(HUAWEI_ATTRIBUTES) or set(got.values()) != {saml2.saml.NAME_FORMAT_URI}:
        raise SystemExit(f"functional check failed: attributes {got}")
    if parsed.assertion.subject.name_id.format != saml2.saml.NAMEID_FORMAT_TRANSIENT:
        raise SystemExit("functional check failed: NameID is not transient")
    # a tampered assertion must fail the SP's signature check
    bad = base64.b64encode(xml.replace("user-00000000", "user-99999999").encode()).decode()
    try:
        bad_parsed = client.parse_authn_request_response(
            bad, saml2.BINDING_HTTP_POST, outstanding={req_id: "/"}, conv_info={"remote_addr": "0.0.0.0"}
        )
        if bad_parsed is not None and bad_parsed.assertion is not None:
            raise SystemExit("functional check failed: a tampered assertion was accepted by the SP")
        refusals["SP: tampered assertion"] = "parse_authn_request_response gave no assertion"
    except SystemExit:
        raise
    except Exception as exc:
        refusals["SP: tampered assertion"] = f"{exc.__class__.__name__}: {exc}"[:200]
    return refusals


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, required=True)
    p.add_argument("--idp-key", required=True)
    p.add_argument("--idp-cert", required=True)
    p.add_argument("--sp-key", required=True)
    p.add_argument("--sp-cert", required=True)
    p.add_argument("--warmup", type=int, default=None, help="untimed SSOs before the timed ones (default max(10, N/10))")
    p.add_argument("--skip-checks", action="store_true", help="skip the untimed functional checks")
    args = p.parse_args()
    if args.requests < 1:
        p.error("--requests must be >= 1")
    warmup = max(10, args.requests // 10) if args.warmup is None else max(0, args.warmup)

    with tempfile.TemporaryDirectory(prefix="pysaml2-idp-") as work:
        client, idp = build(args, work)
        reqs = make_requests(client, args.requests + warmup + (0 if args.skip_checks else 2))
        checks = {}
        if not args.skip_checks:
            checks = functional_checks(client, idp, reqs[-2:])
            reqs = reqs[:-2]
        for i, (_, raw_query) in enumerate(reqs[args.requests :]):
            sso(idp, raw_query, args.requests + 1 + i)  # untimed warm-up
        reqs = reqs[: args.requests]

        responses = 0
        total_b64 = 0
        c0 = time.process_time()
        ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        w0 = time.perf_counter()
        for i, (_, raw_query) in enumerate(reqs, start=1):
            b64, _html = sso(idp, raw_query, i)
            total_b64 += len(b64)
            responses += 1
        wall = time.perf_counter() - w0
        ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_py = time.process_time() - c0
        cpu_ch = (ch1.ru_utime - ch0.ru_utime) + (ch1.ru_stime - ch0.ru_stime)

    cpu = cpu_py + cpu_ch
    out = {
        "peer": "pysaml2",
        "version": pkg_version("pysaml2"),
        "responses": responses,
        "warmup_responses": warmup,
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "cpu_ms_per_response": 1000.0 * cpu / responses,
        "cpu_seconds_python": cpu_py,
        "cpu_seconds_children": cpu_ch,
        "avg_saml_response_b64_bytes": total_b64 / responses,
        "refused_in_checks": checks,  # check name -> pysaml2's error
        "notes": "XML signing runs the xmlsec1 program per assertion (pysaml2's default backend); "
        "cpu_seconds includes those child processes",
    }
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
