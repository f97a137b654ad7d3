#!/usr/bin/env python3
"""pysaml2-based SAML 2.0 Service Provider test peer for sso-bridge.

Rust integration tests run this as a subprocess (with the venv created by
scripts/setup-peers.sh). Every invocation prints exactly ONE JSON object on
stdout; on failure it is {"ok": false, "error": "..."} and the exit code is 1.
See tests/peers/README.md for the CLI.
"""

import argparse
import base64
import json
import logging
import shutil
import sys
import traceback
import warnings
from urllib.parse import unquote, urlparse


class _LogCollector(logging.Handler):
    """Collects pysaml2 warnings/errors so they can be reported in the JSON
    (pysaml2 often logs the real reason and then returns None)."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records = []

    def emit(self, record):
        try:
            self.records.append(f"{record.levelname} {record.name}: {record.getMessage()}")
        except Exception:  # pragma: no cover - never let logging break the peer
            pass


# Keep stderr quiet (e.g. cryptography deprecation warnings from pysaml2).
warnings.simplefilter("ignore")

LOG = _LogCollector()
logging.getLogger().addHandler(LOG)
logging.getLogger().setLevel(logging.WARNING)


# Attribute names of Huawei Cloud's partner SSO (NameFormat uri).
HUAWEI_ATTRIBUTES = ("xUserId", "xAccountId", "bpId", "email", "name", "mobile")


class PeerError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # do not print usage + exit 2; we want JSON
        raise PeerError(f"usage error: {message}")


def _emit(obj, code):
    sys.stdout.write(json.dumps(obj, ensure_ascii=True) + "\n")
    sys.stdout.flush()
    sys.exit(code)


# ---------------------------------------------------------------------------
# The one relaxed pysaml2 check
# ---------------------------------------------------------------------------


def _relax_subject_locality_address():
    """Huawei Cloud's partner-SSO spec (sso-bridge docs/protocol.md R4) requires
    AuthnStatement/SubjectLocality/@Address to be the SP entityID, i.e. a URL
    such as "https://auth.huaweicloud.com/". SAML core says Address is an IP
    address and stock pysaml2 enforces that in saml2.saml.SubjectLocality.verify
    (raises ShouldValueError "Not an IPv4 or IPv6 address", which aborts the
    whole response parse). We replace exactly that method: IPv4/IPv6 addresses
    are still accepted as before, additionally an absolute http(s) URL is
    accepted; anything else is still rejected with the original error. The
    DNSName check and the generic schema verification are unchanged. Nothing
    else in pysaml2 is modified (signatures, audience, destination, recipient,
    InResponseTo and time-window checks all stay active)."""
    from saml2 import saml
    from saml2.validate import ShouldValueError, valid_domain_name, valid_ipv4, valid_ipv6

    def _is_absolute_http_url(value):
        try:
            parsed = urlparse(value)
        except ValueError:
            return False
        return parsed.scheme in ("http", "https") and bool(parsed.netloc)

    def verify(self):
        if self.address:
            if valid_ipv4(self.address) or valid_ipv6(self.address):
                pass
            elif _is_absolute_http_url(self.address):
                pass  # docs/protocol.md R4: Address carries the SP entityID (a URL)
            else:
                raise ShouldValueError("Not an IPv4 or IPv6 address (nor an SP entityID URL)")
        elif self.dns_name:
            valid_domain_name(self.dns_name)
        return saml.SubjectLocalityType_.verify(self)

    saml.SubjectLocality.verify = verify


# ---------------------------------------------------------------------------
# SP configuration
# ---------------------------------------------------------------------------


def _build_client(args, need_idp):
    import saml2
    from saml2.client import Saml2Client
    from saml2.attribute_converter import AttributeConverter
    from saml2.config import SPConfig
    from saml2.saml import NAME_FORMAT_URI
    from saml2.saml import NAMEID_FORMAT_TRANSIENT
    from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

    if need_idp and not args.idp_metadata:
        raise PeerError("--idp-metadata is required for this subcommand")

    xmlsec = shutil.which("xmlsec1")
    if not xmlsec:
        raise PeerError("xmlsec1 binary not found on PATH (apt-get install xmlsec1)")

    endpoints = {"assertion_consumer_service": [(args.acs, saml2.BINDING_HTTP_POST)]}
    if args.slo:
        endpoints["single_logout_service"] = [(args.slo, saml2.BINDING_HTTP_REDIRECT)]

    conf = {
        "entityid": args.entity_id,
        "key_file": args.sp_key,
        "cert_file": args.sp_cert,
        "xmlsec_binary": xmlsec,
        "allow_unknown_attributes": True,
        "accepted_time_diff": int(getattr(args, "allowed_skew", 0) or 0),
        "service": {
            "sp": {
                "endpoints": endpoints,
                "name_id_format": [NAMEID_FORMAT_TRANSIENT],
                "name_id_policy_format": NAMEID_FORMAT_TRANSIENT,
                "name_id_format_allow_create": False,
                "authn_requests_signed": True,
                "want_assertions_signed": True,
                "want_response_signed": False,
                "want_assertions_or_response_signed": False,
                "allow_unsolicited": False,
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
            }
        },
    }
    if args.idp_metadata:
        conf["metadata"] = {"local": [args.idp_metadata]}

    sp_conf = SPConfig()
    sp_conf.load(conf)
    # Replace pysaml2's bundled attribute maps (which would e.g. treat
    # urn:oid:... names specially and can rename attributes) with a single
    # identity map for the URI name format: the Huawei attribute names map to
    # themselves, and anything else is kept verbatim via
    # allow_unknown_attributes. Note that pysaml2's "ava" strips whitespace
    # from values; the "attributes" we report are read from the assertion.
    identity = AttributeConverter(NAME_FORMAT_URI)
    identity.from_dict(
        {
            "identifier": NAME_FORMAT_URI,
            "fro": {n.lower(): n for n in HUAWEI_ATTRIBUTES},
            "to": {n: n for n in HUAWEI_ATTRIBUTES},
        }
    )
    sp_conf.attribute_converters = [identity]
    client = Saml2Client(config=sp_conf)
    return client, sp_conf


def _idp_entity_id(client):
    idps = list(client.metadata.identity_providers())
    if len(idps) != 1:
        raise PeerError(f"expected exactly one IdP in --idp-metadata, found {len(idps)}: {idps}")
    return idps[0]


# ---------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------


def cmd_sp_metadata(args):
    from saml2.metadata import create_metadata_string

    _client, sp_conf = _build_client(args, need_idp=False)
    xml = create_metadata_string(None, config=sp_conf, valid=None, sign=False)
    if isinstance(xml, bytes):
        xml = xml.decode("utf-8")
    return {"ok": True, "metadata": xml}


def cmd_authn_request(args):
    import saml2
    from saml2.saml import NAMEID_FORMAT_TRANSIENT
    from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

    client, _ = _build_client(args, need_idp=True)
    idp = _idp_entity_id(client)
    req_id, info = client.prepare_for_authenticate(
        entityid=idp,
        relay_state=args.relay_state or "",
        binding=saml2.BINDING_HTTP_REDIRECT,
        response_binding=saml2.BINDING_HTTP_POST,
        nameid_format=NAMEID_FORMAT_TRANSIENT,
        sign=True,
        sigalg=SIG_RSA_SHA256,
        digest_alg=DIGEST_SHA256,
        assertion_consumer_service_url=args.acs,
    )
    url = dict(info["headers"]).get("Location")
    if not url:
        raise PeerError(f"pysaml2 produced no Location header: {info!r}")
    return {"ok": True, "url": url, "request_id": req_id, "idp_entity_id": idp}


def _attributes_from_assertion(assertion):
    """Attribute values exactly as the text of each <AttributeValue> (no
    stripping, no name mapping). pysaml2 7.5.5 gives text "" for an empty
    <AttributeValue xsi:type="xsd:string"/> (and synthesizes xsi:nil="true"
    on the parsed object); None is mapped to "" defensively."""
    out = {}
    for statement in assertion.attribute_statement or []:
        for attr in statement.attribute or []:
            values = out.setdefault(attr.name, [])
            for value in attr.attribute_value or []:
                values.append(value.text if value.text is not None else "")
    return out


def cmd_parse_response(args):
    import saml2

    _relax_subject_locality_address()
    client, _ = _build_client(args, need_idp=True)

    try:
        with open(args.saml_response_file, "r", encoding="ascii") as fh:
            value = fh.read().strip()
    except UnicodeDecodeError as exc:
        raise PeerError(f"--saml-response-file is not base64 text: {exc}")
    if not value:
        raise PeerError("--saml-response-file is empty")
    if "%" in value:  # tolerate a still URL-encoded form value (base64 has no '%')
        value = unquote(value)
    try:
        base64.b64decode(value, validate=False)
    except Exception as exc:
        raise PeerError(f"SAMLResponse is not valid base64: {exc}")

    # conv_info enables pysaml2's SubjectConfirmationData/@Recipient check
    # (AuthnResponse.verify_recipient returns True unconditionally when
    # conv_info is empty). Without an "entity_id" key the Recipient must be
    # one of our ACS URLs; remote_addr 0.0.0.0 = "accept any
    # SubjectConfirmationData/@Address", which is pysaml2's default anyway.
    resp = client.parse_authn_request_response(
        value,
        saml2.BINDING_HTTP_POST,
        outstanding={args.request_id: "/"},
        conv_info={"remote_addr": "0.0.0.0"},
    )
    if resp is None:
        raise PeerError("pysaml2 rejected the response (parse_authn_request_response returned None)")
    if resp.assertion is None:
        # pysaml2 signals e.g. a wrong Response/@Destination only by skipping
        # the assertion parse (and logging); session_info() would then fail
        # with an unhelpful message, so report it explicitly.
        destination = getattr(resp.response, "destination", None) if resp.response is not None else None
        acs_urls = client.service_urls(binding=saml2.BINDING_HTTP_POST) or []
        if destination and destination not in acs_urls:
            raise PeerError(f"pysaml2 rejected the response: Destination {destination!r} is not our ACS {acs_urls!r}")
        raise PeerError("pysaml2 did not accept the assertion (response verification failed; see log)")

    info = resp.session_info()

    name_id = info.get("name_id") or resp.name_id
    assertion = resp.assertion
    authn = assertion.authn_statement[0] if assertion.authn_statement else None
    locality = authn.subject_locality if authn is not None else None
    ccr = None
    if authn is not None and authn.authn_context is not None and authn.authn_context.authn_context_class_ref is not None:
        ccr = authn.authn_context.authn_context_class_ref.text

    ava = info.get("ava") or {}
    return {
        "ok": True,
        "attributes": _attributes_from_assertion(assertion),
        "ava": {k: [("" if v is None else v) for v in vs] for k, vs in ava.items()},
        "name_id": name_id.text if name_id is not None else None,
        "name_id_format": name_id.format if name_id is not None else None,
        "name_id_name_qualifier": name_id.name_qualifier if name_id is not None else None,
        "name_id_sp_name_qualifier": name_id.sp_name_qualifier if name_id is not None else None,
        "issuer": resp.issuer(),
        "assertion_issuer": assertion.issuer.text if assertion.issuer is not None else None,
        "in_response_to": resp.in_response_to,
        "response_id": resp.response.id,
        "assertion_id": assertion.id,
        "session_index": info.get("session_index"),
        "subject_locality_address": locality.address if locality is not None else None,
        "authn_context_class_ref": ccr,
        "not_on_or_after": info.get("not_on_or_after"),
    }


# ---------------------------------------------------------------------------


def _make_parser():
    common = _Parser(add_help=False)
    common.add_argument("--entity-id", required=True, help="SP entityID")
    common.add_argument("--acs", required=True, help="SP AssertionConsumerService URL (HTTP-POST)")
    common.add_argument("--sp-key", required=True, help="SP signing key (PEM)")
    common.add_argument("--sp-cert", required=True, help="SP signing certificate (PEM)")
    common.add_argument("--idp-metadata", help="IdP metadata XML file")
    common.add_argument("--slo", help="SP SingleLogoutService URL (HTTP-Redirect)")

    parser = _Parser(prog="pysaml2_sp.py", description="pysaml2 SAML SP test peer")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("sp-metadata", parents=[common])
    p.set_defaults(func=cmd_sp_metadata)

    p = sub.add_parser("authn-request", parents=[common])
    p.add_argument("--relay-state", default="")
    p.set_defaults(func=cmd_authn_request)

    p = sub.add_parser("parse-response", parents=[common])
    p.add_argument("--request-id", required=True)
    p.add_argument("--saml-response-file", required=True)
    p.add_argument("--allowed-skew", type=int, default=0, help="accepted clock skew in seconds")
    p.set_defaults(func=cmd_parse_response)
    return parser


def main(argv=None):
    try:
        args = _make_parser().parse_args(argv)
        result = args.func(args)
    except SystemExit as exc:  # e.g. --help
        if exc.code in (0, None):
            raise
        _emit({"ok": False, "error": f"exit {exc.code}"}, 1)
    except BaseException as exc:  # noqa: BLE001 - the peer must always answer in JSON
        msg = str(exc) or exc.__class__.__name__
        err = {"ok": False, "error": f"{exc.__class__.__name__}: {msg}"}
        if LOG.records:
            err["log"] = LOG.records[-20:]
        if not isinstance(exc, PeerError):
            err["traceback"] = traceback.format_exc(limit=8)
        _emit(err, 1)
    _emit(result, 0)


if __name__ == "__main__":
    main()
