#!/usr/bin/env python3
"""A stand-in for Omise, for tests and scripts/dev: its API (api.omise.co), its card vault
(vault.omise.co) and Omise.js, on one loopback port, answering as Omise's API version 2019-05-29
does in the official clients' recorded fixtures (tests/fixtures/omise/, checked field by field by
tests/tests/omise). Written in Python on purpose: an implementation of Omise independent of the
Rust adapter it is tested against.

    standin.py [--port N] [--port-file F] [--log F]

What it serves (HTTP Basic auth as Omise takes it: the key as user name, no password):
- vault, public key: POST /tokens (card[name], card[number], card[expiration_month],
  card[expiration_year], card[security_code]); GET /omise.js (Omise.setPublicKey,
  Omise.createToken('card', card, callback) against this vault).
- API, secret key: POST /charges (card=tokn_… or source[type]=promptpay; amount, currency,
  description, return_uri, ip, capture, expires_at, metadata[…]), GET /charges/{id},
  POST /charges/{id}/{capture,reverse,expire,mark_as_paid,mark_as_failed},
  POST and GET /charges/{id}/refunds, GET /search?scope=charge&query=…, and the PromptPay QR
  image at the charge's download_uri (an SVG holding a script and text, which the service must
  never pass on: it redraws only the shapes).
- 3-D Secure: for an account with it on, a card charge answers `pending` with an authorize_uri
  here (a bank page with Pass and Fail), which ends the charge and sends the buyer to its
  return_uri.
- Webhooks: when a charge ends after it was made (3-D Secure, PromptPay paid, failed or
  expired), a `charge.complete` event is POSTed to the account's webhook URL, signed as Omise
  signs (Omise-Signature: hex HMAC-SHA256 of "timestamp.body" under the base64-decoded secret;
  Omise-Signature-Timestamp) when the account has a webhook secret.

Test control (no auth; loopback only), JSON in and out:
- POST /__standin/accounts {"livemode", "three_d_secure", "webhook_url", "webhook_secret"} makes
  an account and answers its {"public_key", "secret_key"}.
- POST /__standin/faults {"route": "POST /charges", "fault": F, "seconds": S} arms one fault for
  the next request to that route: "timeout" (hang S seconds, doing nothing), "error_500" (answer
  500, doing nothing), "lost_timeout" (do it, then hang: the answer is lost), "lost_500" (do it,
  then answer 500), "lost_reset" (do it, then close the connection unanswered).
- POST /__standin/webhooks {"secret_key", "mode"}: "normal", "duplicate" (every event sent
  twice) or "reorder" (each event held back and sent after the next one, or on the next flush).
- POST /__standin/scan {"charge", "paid"}: the buyer's banking app pays (or fails) a pending
  PromptPay charge, in either mode, as a bank would (the live API has no mark_as_paid); the
  account's webhook follows.
- POST /__standin/webhooks/flush sends held events. GET /__standin/charges?secret_key=…: every
  charge of the account, as stored. GET /__standin/requests: every request body received
  (paths and form fields), for the tests that no card number reached the service.
"""

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import string
import sys
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "2019-05-29"
MAX_BODY = 1 << 16

# Omise's test cards (https://docs.opn.ooo/api-testing, as ../shared/omise-fixtures/payments
# tabulates them): number -> failure code. Any other valid number succeeds.
FAILING = {
    "insufficient_fund": ["4111111111140011", "5555551111110011", "3530111111190011"],
    "stolen_or_lost_card": ["4111111111130012", "5555551111100012", "3530111111180012"],
    "failed_processing": ["4111111111120013", "5555551111190013", "3530111111170013"],
    "payment_rejected": ["4111111111110014", "5555551111180014"],
    "failed_fraud_check": ["4111111111190016", "5555551111160016", "3530111111140016"],
    "invalid_account_number": ["4111111111180017", "5555551111150017", "3530111111130017"],
    "invalid_security_code": ["4111111111160001", "5555551111130001", "3530111111110001"],
}
FAILURE_OF = {n: code for code, numbers in FAILING.items() for n in numbers}
ENROLMENT_FAILS = {"4111111111150002", "5555551111120002", "3530111111100002"}
VALIDATION_FAILS = {"4111111111140003", "5555551111110003", "3530111111190003"}
MESSAGES = {
    "insufficient_fund": "insufficient funds in the account or the card has reached the credit limit",
    "stolen_or_lost_card": "card was lost or stolen",
    "failed_processing": "the payment could not be processed",
    "payment_rejected": "the payment was rejected by the issuer or the acquirer with no specific reason",
    "failed_fraud_check": "card was marked as fraudulent",
    "invalid_account_number": "the account number is invalid",
    "invalid_security_code": "the security code was invalid or the card didn't pass preauth",
}


def now():
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if t else None


def new_id(kind, livemode):
    alphabet = string.digits + string.ascii_lowercase
    tail = "".join(secrets.choice(alphabet) for _ in range(19))
    return f"{kind}_{'' if livemode else 'test_'}{tail}"


def luhn(number):
    digits = [int(d) for d in number]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def brand(number):
    if number.startswith("4"):
        return "Visa"
    if number[:2] in ("51", "52", "53", "54", "55") or number.startswith("2"):
        return "MasterCard"
    if number.startswith("35"):
        return "JCB"
    if number[:2] in ("34", "37"):
        return "American Express"
    if number.startswith("62"):
        return "UnionPay"
    return "Unknown"


class OmiseError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self):
        return {"object": "error", "location": f"https://www.omise.co/api-errors#{self.code}",
                "code": self.code, "message": self.message}


class Hang(Exception):
    """Answer nothing for `seconds`, then close."""

    def __init__(self, seconds):
        super().__init__("hang")
        self.seconds = seconds


class Reset(Exception):
    """Close the connection unanswered."""


class State:
    def __init__(self, base_url):
        self.base_url = base_url
        self.lock = threading.RLock()
        self.accounts = {}      # secret key -> account
        self.public = {}        # public key -> secret key
        self.tokens = {}        # id -> {"account", "object", "number"}
        self.charges = {}       # id -> {"account", "object", "number", "refunds": [...]}
        self.faults = {}        # route -> [fault, ...]
        self.requests = []      # every request's path and body, as received
        self.held = []          # events held back (reorder)

    # -- accounts and faults --------------------------------------------------------------------

    def new_account(self, spec):
        livemode = bool(spec.get("livemode", False))
        mode = "" if livemode else "test_"
        tail = "".join(secrets.choice(string.digits + string.ascii_lowercase) for _ in range(19))
        account = {
            "secret_key": f"skey_{mode}{tail}", "public_key": f"pkey_{mode}{tail}",
            "livemode": livemode, "three_d_secure": bool(spec.get("three_d_secure", False)),
            "webhook_url": spec.get("webhook_url"), "webhook_secret": spec.get("webhook_secret"),
            "webhook_mode": "normal", "salt": secrets.token_bytes(16),
        }
        with self.lock:
            self.accounts[account["secret_key"]] = account
            self.public[account["public_key"]] = account["secret_key"]
        return {"public_key": account["public_key"], "secret_key": account["secret_key"]}

    def arm(self, spec):
        fault = spec["fault"]
        if fault not in ("timeout", "error_500", "lost_timeout", "lost_500", "lost_reset"):
            raise OmiseError(400, "bad_request", f"unknown fault {fault}")
        with self.lock:
            self.faults.setdefault(spec["route"], []).append(
                {"fault": fault, "seconds": float(spec.get("seconds", 30))})

    def take_fault(self, route):
        with self.lock:
            armed = self.faults.get(route) or []
            return armed.pop(0) if armed else None

    # -- objects --------------------------------------------------------------------------------

    def card_object(self, account, card, number, created):
        fingerprint = base64.b64encode(
            hashlib.sha256(account["salt"] + number.encode()).digest()).decode()
        return {
            "object": "card", "id": new_id("card", account["livemode"]),
            "livemode": account["livemode"], "location": None, "deleted": False,
            "street1": None, "street2": None, "city": card.get("city"), "state": None,
            "phone_number": None, "postal_code": card.get("postal_code"), "country": "",
            "financing": "", "bank": "", "brand": brand(number), "fingerprint": fingerprint,
            "first_digits": None, "last_digits": number[-4:], "name": card.get("name"),
            "expiration_month": card["expiration_month"], "expiration_year": card["expiration_year"],
            "security_code_check": FAILURE_OF.get(number) != "invalid_security_code",
            "tokenization_method": None, "created_at": iso(created),
        }

    def create_token(self, account, form):
        card = {k[5:-1]: v for k, v in form.items() if k.startswith("card[") and k.endswith("]")}
        number = "".join(c for c in card.get("number", "") if c.isdigit())
        if not card.get("name"):
            raise OmiseError(400, "invalid_card", "name can't be blank")
        if not (12 <= len(number) <= 19) or not luhn(number):
            raise OmiseError(400, "invalid_card", "number is invalid")
        try:
            month, year = int(card.get("expiration_month", "")), int(card.get("expiration_year", ""))
        except ValueError:
            raise OmiseError(400, "invalid_card", "expiration date is invalid")
        today = now()
        if not 1 <= month <= 12 or (year, month) < (today.year, today.month):
            raise OmiseError(400, "invalid_card", "expiration date cannot be in the past")
        if not (card.get("security_code", "").isdigit() and 3 <= len(card["security_code"]) <= 4):
            raise OmiseError(400, "invalid_card", "security code is invalid")
        card["expiration_month"], card["expiration_year"] = month, year
        created = now()
        token = {
            "object": "token", "id": new_id("tokn", account["livemode"]),
            "livemode": account["livemode"], "location": None, "used": False,
            "charge_status": "unknown",
            "card": self.card_object(account, card, number, created), "created_at": iso(created),
        }
        token["location"] = f"{self.base_url}/tokens/{token['id']}"
        with self.lock:
            self.tokens[token["id"]] = {"account": account["secret_key"], "object": token,
                                        "number": number}
        return token

    def charge_object(self, account, form, created):
        cid = new_id("chrg", account["livemode"])
        amount = int(form["amount"])
        metadata = {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[") and k.endswith("]")}
        return {
            "object": "charge", "id": cid, "location": f"/charges/{cid}", "amount": amount,
            "acquirer_reference_number": None, "net": amount, "fee": 0, "fee_vat": 0,
            "interest": 0, "interest_vat": 0, "funding_amount": amount, "refunded_amount": 0,
            "transaction_fees": {"fee_flat": "0.0", "fee_rate": "0.0", "vat_rate": "7.0"},
            "platform_fee": {"fixed": None, "amount": None, "percentage": None},
            "currency": form["currency"].upper(), "funding_currency": form["currency"].upper(),
            "ip": form.get("ip"),
            "refunds": {"object": "list", "data": [], "limit": 20, "offset": 0, "total": 0,
                        "location": f"/charges/{cid}/refunds", "order": "chronological",
                        "from": "1970-01-01T00:00:00Z", "to": iso(created)},
            "link": None, "description": form.get("description"), "metadata": metadata,
            "card": None, "source": None, "schedule": None, "linked_account": None,
            "customer": None, "dispute": None, "transaction": None, "failure_code": None,
            "failure_message": None, "merchant_advice": None, "merchant_advice_code": None,
            "status": "pending", "authorize_uri": None, "return_uri": form.get("return_uri"),
            "created_at": iso(created), "paid_at": None, "authorized_at": None,
            "expires_at": iso(created + timedelta(days=7)), "expired_at": None,
            "reversed_at": None, "multi_capture": False, "zero_interest_installments": False,
            "branch": None, "terminal": None, "device": None, "authorized": False,
            "capturable": False, "capture": form.get("capture", "true") != "false",
            "disputable": False, "livemode": account["livemode"], "refundable": False,
            "partially_refundable": False, "reversed": False, "reversible": False,
            "voided": False, "paid": False, "expired": False, "can_perform_void": False,
            "approval_code": None,
        }

    def create_charge(self, account, form):
        for field in ("amount", "currency"):
            if not form.get(field):
                raise OmiseError(400, "bad_request", f"{field} is required")
        minimum = 2000 if form["currency"].upper() == "THB" else 1
        if not form["amount"].isdigit() or int(form["amount"]) < minimum:
            raise OmiseError(400, "invalid_amount", f"amount must be at least {minimum}")
        created = now()
        charge = self.charge_object(account, form, created)
        number = None
        if form.get("card"):
            with self.lock:
                token = self.tokens.get(form["card"])
                if not token or token["account"] != account["secret_key"]:
                    raise OmiseError(404, "not_found", "token was not found")
                if token["object"]["used"]:
                    raise OmiseError(400, "used_token", "token was already used")
                token["object"]["used"] = True
            number = token["number"]
            charge["card"] = dict(token["object"]["card"])
            charge["card"]["location"] = None
            if account["three_d_secure"] and number not in ENROLMENT_FAILS:
                charge["authorize_uri"] = f"{self.base_url}/authorize/{charge['id']}"
                charge["authorized"] = False
            elif account["three_d_secure"]:
                self.end(charge, "payment_rejected")
            else:
                self.end(charge, FAILURE_OF.get(number))
        elif form.get("source[type]") == "promptpay":
            if charge["currency"] != "THB":
                raise OmiseError(400, "invalid_charge", "currency must be THB for PromptPay")
            sid, did = new_id("src", account["livemode"]), new_id("docu", account["livemode"])
            charge["source"] = {
                "object": "source", "id": sid, "livemode": account["livemode"],
                "location": f"/sources/{sid}", "amount": charge["amount"], "barcode": None,
                "created_at": iso(created), "currency": charge["currency"], "email": None,
                "flow": "offline", "installment_term": None, "name": None, "mobile_number": None,
                "phone_number": None,
                "scannable_code": {"object": "barcode", "type": "qr", "image": {
                    "object": "document", "livemode": account["livemode"], "id": did,
                    "deleted": False, "filename": "qrcode.svg",
                    "location": f"/charges/{charge['id']}/documents/{did}",
                    "download_uri": f"{self.base_url}/charges/{charge['id']}/documents/{did}/downloads/{secrets.token_hex(8).upper()}",
                    "created_at": iso(created)}},
                "references": None, "store_id": None, "store_name": None, "terminal_id": None,
                "type": "promptpay", "zero_interest_installments": None,
            }
            if form.get("expires_at"):
                charge["expires_at"] = form["expires_at"]
        else:
            raise OmiseError(400, "bad_request", "card, customer or source is required")
        with self.lock:
            self.charges[charge["id"]] = {"account": account["secret_key"], "object": charge,
                                          "number": number}
        return charge

    def end(self, charge, failure, at=None):
        """A charge's final state: paid (failure None) or failed."""
        at = at or now()
        if failure is None:
            charge.update(status="successful", paid=True, authorized=True, paid_at=iso(at),
                          authorized_at=iso(at), transaction=new_id("trxn", charge["livemode"]),
                          refundable=True, partially_refundable=True, disputable=True,
                          capturable=False, can_perform_void=True,
                          approval_code="".join(secrets.choice(string.digits) for _ in range(6)))
            if not charge["capture"]:
                charge.update(paid=False, paid_at=None, transaction=None, capturable=True,
                              reversible=True, refundable=False, partially_refundable=False,
                              status="pending")
        else:
            charge.update(status="failed", failure_code=failure,
                          failure_message=MESSAGES.get(failure, failure))

    def charge_of(self, account, cid):
        with self.lock:
            stored = self.charges.get(cid)
        if not stored or stored["account"] != account["secret_key"]:
            raise OmiseError(404, "not_found", "charge was not found")
        return stored

    def action(self, account, cid, action, form):
        stored = self.charge_of(account, cid)
        charge = stored["object"]
        with self.lock:
            pending = charge["status"] == "pending"
            promptpay = charge["source"] is not None
            if action == "expire":
                if not pending or charge["authorized"]:
                    raise OmiseError(400, "failed_expire", "charge cannot be expired")
                charge.update(status="expired", expired=True, expired_at=iso(now()))
                notify = True
            elif action == "reverse":
                if not charge["reversible"]:
                    raise OmiseError(400, "failed_reverse", "charge cannot be reversed")
                charge.update(status="reversed", reversed=True, reversible=False,
                              capturable=False, reversed_at=iso(now()))
                notify = False
            elif action == "capture":
                if not charge["capturable"]:
                    raise OmiseError(400, "failed_capture", "charge cannot be captured")
                charge.update(status="successful", paid=True, paid_at=iso(now()), capture=True,
                              capturable=False, reversible=False, refundable=True,
                              partially_refundable=True,
                              transaction=new_id("trxn", charge["livemode"]))
                notify = False
            elif action in ("mark_as_paid", "mark_as_failed"):
                if account["livemode"]:
                    raise OmiseError(403, "forbidden", "not available in live mode")
                if not (pending and promptpay):
                    raise OmiseError(400, "invalid_charge", "charge is not a pending source charge")
                self.end(charge, None if action == "mark_as_paid" else "failed_processing")
                notify = True
            else:
                raise OmiseError(404, "not_found", "not found")
        if notify:
            self.notify(account, charge)
        return charge

    def scan(self, cid, paid):
        """A banking app answering a PromptPay QR code."""
        with self.lock:
            stored = self.charges.get(cid)
            if not stored:
                raise OmiseError(404, "not_found", "charge was not found")
            charge, account = stored["object"], self.accounts[stored["account"]]
            if charge["status"] != "pending" or charge["source"] is None:
                raise OmiseError(400, "invalid_charge", "charge is not a pending source charge")
            self.end(charge, None if paid else "failed_processing")
        self.notify(account, charge)
        return charge

    def authenticate(self, cid, passed):
        with self.lock:
            stored = self.charges.get(cid)
            if not stored:
                raise OmiseError(404, "not_found", "charge was not found")
            charge = stored["object"]
            if charge["status"] == "pending" and charge["authorize_uri"] and not charge["authorized"]:
                number = stored["number"]
                failure = ("payment_rejected" if not passed or number in VALIDATION_FAILS
                           else FAILURE_OF.get(number))
                self.end(charge, failure)
                ended = True
            else:
                ended = False
            account = self.accounts[stored["account"]]
        if ended:
            self.notify(account, charge)
        return charge

    def refund(self, account, cid, form):
        stored = self.charge_of(account, cid)
        charge = stored["object"]
        with self.lock:
            try:
                amount = int(form.get("amount", ""))
            except ValueError:
                raise OmiseError(400, "bad_request", "amount is invalid")
            if charge["status"] != "successful":
                raise OmiseError(400, "failed_refund", "charge is not refundable")
            if amount <= 0 or charge["refunded_amount"] + amount > charge["amount"]:
                raise OmiseError(400, "invalid_amount", "amount exceeds the refundable amount")
            if charge["refunds"]["total"] >= 15:
                raise OmiseError(400, "failed_refund", "too many refunds for this charge")
            rid = new_id("rfnd", account["livemode"])
            metadata = {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[") and k.endswith("]")}
            refund = {
                "object": "refund", "id": rid, "location": f"/charges/{cid}/refunds/{rid}",
                "livemode": account["livemode"], "voided": False,
                "currency": charge["currency"], "amount": amount, "metadata": metadata,
                "charge": cid, "capture": None, "terminal": None,
                "transaction": new_id("trxn", account["livemode"]), "status": "closed",
                "funding_amount": amount, "funding_currency": charge["currency"],
                "created_at": iso(now()), "acquirer_reference_number": None,
                "approval_code": None,
            }
            charge["refunds"]["data"].append(refund)
            charge["refunds"]["total"] += 1
            charge["refunded_amount"] += amount
            charge["partially_refundable"] = charge["refunded_amount"] < charge["amount"]
            charge["refundable"] = charge["partially_refundable"]
            if charge["refunded_amount"] == charge["amount"]:
                charge["voided"] = True
        return refund

    def search(self, account, query):
        terms = query.get("query", "")
        filters = {k[8:-1]: v for k, v in query.items() if k.startswith("filters[") and k.endswith("]")}
        if set(filters) - {"captured"}:
            raise OmiseError(400, "bad_request", "the stand-in filters by captured only")
        with self.lock:
            found = [s["object"] for s in self.charges.values()
                     if s["account"] == account["secret_key"] and (
                         not terms or terms in s["object"]["id"]
                         or terms in (s["object"]["description"] or "")
                         or any(terms == v for v in s["object"]["metadata"].values()))
                     and ("captured" not in filters
                          or s["object"]["paid"] == (filters["captured"] == "true"))]
            # A search result carries three fields more than the charge itself does.
            found = [dict(c, authorization_type=None,
                          authorized_amount=c["amount"] if c["authorized"] else 0,
                          captured_amount=c["amount"] if c["paid"] else 0) for c in found]
        found.sort(key=lambda c: c["created_at"], reverse=True)
        per_page = min(int(query.get("per_page", "30") or 30), 100)
        return {
            "object": "search", "export": None, "page": 1, "per_page": per_page,
            "total": len(found), "total_pages": 1, "filters": filters, "location": "/search",
            "order": "reverse_chronological", "query": terms,
            "scope": query.get("scope", "charge"), "aggregate_level": None,
            "data": found[:per_page],
        }

    # -- webhooks -------------------------------------------------------------------------------

    def notify(self, account, charge):
        if not account.get("webhook_url"):
            return
        event = {
            "object": "event", "id": new_id("evnt", account["livemode"]),
            "livemode": account["livemode"], "location": None, "key": "charge.complete",
            "created_at": iso(now()), "data": json.loads(json.dumps(charge)),
            "webhook_deliveries": [], "team_uid": None,
        }
        event["location"] = f"/events/{event['id']}"
        mode = account.get("webhook_mode", "normal")
        if mode == "reorder":
            with self.lock:
                self.held.append((account, event))
                if len(self.held) < 2:
                    return
                batch, self.held = self.held[::-1], []
        else:
            batch = [(account, event)] * (2 if mode == "duplicate" else 1)
        threading.Thread(target=self.send_all, args=(batch,), daemon=True).start()

    def flush(self):
        with self.lock:
            batch, self.held = self.held, []
        self.send_all(batch)
        return len(batch)

    def send_all(self, batch):
        for account, event in batch:
            body = json.dumps(event).encode()
            headers = {"Content-Type": "application/json", "User-Agent": "Omise/2015 (stand-in)"}
            if account.get("webhook_secret"):
                stamp = str(int(time.time()))
                key = base64.b64decode(account["webhook_secret"])
                headers["Omise-Signature"] = hmac.new(
                    key, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
                headers["Omise-Signature-Timestamp"] = stamp
            request = urllib.request.Request(account["webhook_url"], data=body, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    answer.read()
            except Exception as err:  # a receiver's failure is Omise's to retry, not ours
                print(f"stand-in: webhook to {account['webhook_url']}: {err}", file=sys.stderr)


OMISE_JS = """/* Omise.js stand-in: the calls a payment page makes, against this stand-in's vault. */
(function () {
  var vault = %s;
  var publicKey = null;
  function encode(card) {
    var parts = [];
    for (var name in card) {
      if (Object.prototype.hasOwnProperty.call(card, name)) {
        parts.push(encodeURIComponent("card[" + name + "]") + "=" + encodeURIComponent(card[name]));
      }
    }
    return parts.join("&");
  }
  window.Omise = {
    setPublicKey: function (key) { publicKey = key; },
    createToken: function (type, card, callback) {
      if (type !== "card") { callback(400, {object: "error", code: "bad_request", message: "type must be card"}); return; }
      fetch(vault + "/tokens", {
        method: "POST",
        headers: {"Authorization": "Basic " + btoa(publicKey + ":"),
                  "Content-Type": "application/x-www-form-urlencoded"},
        body: encode(card)
      }).then(function (response) {
        return response.json().then(function (body) { callback(response.status, body); });
      }).catch(function (error) {
        callback(0, {object: "error", code: "network_error", message: String(error)});
      });
    }
  };
})();
"""

BANK_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stand-in bank: 3-D Secure</title></head><body>
<main><h1>Stand-in bank</h1><p>Authenticate the payment of %s %s?</p>
<form method="post"><button name="result" value="pass">Pass</button>
<button name="result" value="fail">Fail</button></form></main></body></html>"""

# A real QR code (it says "STAND-IN PROMPTPAY: NOT A PAYMENT", so no banking app pays it), with
# what a QR image must never bring into a page: a script, and text.
QR_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 33 33" width="330" height="330">'
          '<rect width="33" height="33" fill="#fff"/>'
          '<g transform="translate(0 0)"><path fill="#000" d="'
          'M4 4h7v1h-7zM12 4h7v1h-7zM22 4h7v1h-7zM4 5h1v1h-1zM10 5h1v1h-1zM14 5h2v1h-2zM17 '
          '5h4v1h-4zM22 5h1v1h-1zM28 5h1v1h-1zM4 6h1v1h-1zM6 6h3v1h-3zM10 6h1v1h-1zM12 6h4v'
          '1h-4zM18 6h3v1h-3zM22 6h1v1h-1zM24 6h3v1h-3zM28 6h1v1h-1zM4 7h1v1h-1zM6 7h3v1h-3'
          'zM10 7h1v1h-1zM15 7h2v1h-2zM19 7h1v1h-1zM22 7h1v1h-1zM24 7h3v1h-3zM28 7h1v1h-1zM'
          '4 8h1v1h-1zM6 8h3v1h-3zM10 8h1v1h-1zM15 8h1v1h-1zM18 8h1v1h-1zM22 8h1v1h-1zM24 8'
          'h3v1h-3zM28 8h1v1h-1zM4 9h1v1h-1zM10 9h1v1h-1zM12 9h2v1h-2zM16 9h1v1h-1zM18 9h3v'
          '1h-3zM22 9h1v1h-1zM28 9h1v1h-1zM4 10h7v1h-7zM12 10h1v1h-1zM14 10h1v1h-1zM16 10h1'
          'v1h-1zM18 10h1v1h-1zM20 10h1v1h-1zM22 10h7v1h-7zM13 11h1v1h-1zM15 11h1v1h-1zM17 '
          '11h2v1h-2zM4 12h1v1h-1zM6 12h1v1h-1zM10 12h2v1h-2zM14 12h1v1h-1zM16 12h1v1h-1zM2'
          '0 12h1v1h-1zM23 12h1v1h-1zM26 12h1v1h-1zM28 12h1v1h-1zM4 13h6v1h-6zM11 13h2v1h-2'
          'zM15 13h7v1h-7zM23 13h2v1h-2zM27 13h2v1h-2zM8 14h1v1h-1zM10 14h2v1h-2zM13 14h1v1'
          'h-1zM15 14h4v1h-4zM20 14h1v1h-1zM25 14h1v1h-1zM27 14h1v1h-1zM5 15h1v1h-1zM8 15h2'
          'v1h-2zM11 15h1v1h-1zM15 15h1v1h-1zM22 15h3v1h-3zM26 15h3v1h-3zM4 16h1v1h-1zM8 16'
          'h1v1h-1zM10 16h1v1h-1zM12 16h1v1h-1zM15 16h3v1h-3zM20 16h2v1h-2zM23 16h1v1h-1zM2'
          '6 16h3v1h-3zM5 17h1v1h-1zM7 17h1v1h-1zM12 17h2v1h-2zM16 17h1v1h-1zM21 17h1v1h-1z'
          'M23 17h5v1h-5zM4 18h2v1h-2zM8 18h4v1h-4zM13 18h2v1h-2zM16 18h4v1h-4zM21 18h1v1h-'
          '1zM23 18h1v1h-1zM25 18h3v1h-3zM7 19h2v1h-2zM13 19h4v1h-4zM18 19h1v1h-1zM21 19h1v'
          '1h-1zM24 19h1v1h-1zM26 19h1v1h-1zM4 20h4v1h-4zM10 20h2v1h-2zM13 20h2v1h-2zM17 20'
          'h1v1h-1zM19 20h6v1h-6zM26 20h3v1h-3zM12 21h1v1h-1zM14 21h1v1h-1zM20 21h1v1h-1zM2'
          '4 21h1v1h-1zM26 21h2v1h-2zM4 22h7v1h-7zM12 22h2v1h-2zM15 22h1v1h-1zM19 22h2v1h-2'
          'zM22 22h1v1h-1zM24 22h2v1h-2zM4 23h1v1h-1zM10 23h1v1h-1zM14 23h1v1h-1zM17 23h1v1'
          'h-1zM19 23h2v1h-2zM24 23h1v1h-1zM4 24h1v1h-1zM6 24h3v1h-3zM10 24h1v1h-1zM15 24h2'
          'v1h-2zM18 24h1v1h-1zM20 24h9v1h-9zM4 25h1v1h-1zM6 25h3v1h-3zM10 25h1v1h-1zM14 25'
          'h1v1h-1zM16 25h5v1h-5zM23 25h1v1h-1zM25 25h3v1h-3zM4 26h1v1h-1zM6 26h3v1h-3zM10 '
          '26h1v1h-1zM12 26h2v1h-2zM16 26h1v1h-1zM18 26h1v1h-1zM22 26h2v1h-2zM25 26h1v1h-1z'
          'M27 26h2v1h-2zM4 27h1v1h-1zM10 27h1v1h-1zM13 27h1v1h-1zM15 27h2v1h-2zM21 27h3v1h'
          '-3zM25 27h1v1h-1zM28 27h1v1h-1zM4 28h7v1h-7zM12 28h1v1h-1zM16 28h3v1h-3zM20 28h2'
          'v1h-2zM25 28h1v1h-1zM27 28h2v1h-2z'
          '"/></g>'
          '<script>alert("a QR image must never run code")</script>'
          '<text x="2" y="2" font-size="2">STAND-IN %s</text></svg>')


def make_handler(state, log):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            if log:
                log.write((self.address_string() + " " + (args[0] % args[1:]) + "\n"))
                log.flush()

        def answer(self, status, body, content_type="application/json", extra=None):
            data = body if isinstance(body, bytes) else (
                body.encode() if isinstance(body, str) else json.dumps(body).encode())
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Access-Control-Allow-Origin", "*")
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def body(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise OmiseError(413, "bad_request", "body too large")
            return self.rfile.read(length) if length else b""

        def key(self):
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Basic "):
                return None
            try:
                return base64.b64decode(auth[6:]).decode().split(":", 1)[0]
            except Exception:
                return None

        def account(self, public=False):
            key = self.key()
            with state.lock:
                if public:
                    key = state.public.get(key)
                account = state.accounts.get(key)
            if not account:
                raise OmiseError(401, "authentication_failure", "authentication failed")
            return account

        def do_OPTIONS(self):
            self.send_response(204)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "POST, GET")
            self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            self.route("GET")

        def do_POST(self):
            self.route("POST")

        def route(self, method):
            url = urllib.parse.urlsplit(self.path)
            parts = [p for p in url.path.split("/") if p]
            query = dict(urllib.parse.parse_qsl(url.query))
            try:
                raw = self.body() if method == "POST" else b""
                with state.lock:
                    state.requests.append({"method": method, "path": url.path,
                                           "body": raw.decode("utf-8", "replace")})
                route = f"{method} /{parts[0]}" if parts else f"{method} /"
                if len(parts) >= 3 and parts[0] == "charges":
                    route = f"{method} /charges/*/{parts[2]}"
                elif len(parts) == 2 and parts[0] == "charges":
                    route = f"{method} /charges/*"
                fault = None if parts[:1] == ["__standin"] else state.take_fault(route)
                if fault and fault["fault"] in ("timeout", "error_500"):
                    if fault["fault"] == "timeout":
                        raise Hang(fault["seconds"])
                    return self.answer(500, {"object": "error", "code": "internal_error",
                                             "message": "stand-in fault"})
                status, body, content_type = self.dispatch(method, parts, query, raw)
                if fault:
                    if fault["fault"] == "lost_timeout":
                        raise Hang(fault["seconds"])
                    if fault["fault"] == "lost_reset":
                        raise Reset()
                    return self.answer(500, {"object": "error", "code": "internal_error",
                                             "message": "stand-in fault"})
                if status in (301, 302, 303):
                    return self.answer(status, b"", "text/plain", {"Location": body})
                self.answer(status, body, content_type)
            except OmiseError as err:
                self.answer(err.status, err.body())
            except Hang as hang:
                time.sleep(hang.seconds)
                self.close_connection = True
            except Reset:
                self.close_connection = True

        def dispatch(self, method, parts, query, raw):
            form = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
            json_type = "application/json"
            if parts[:1] == ["__standin"]:
                return self.control(method, parts[1:], query, raw)
            if method == "GET" and parts == ["omise.js"]:
                return 200, OMISE_JS % json.dumps(state.base_url), "application/javascript"
            if method == "POST" and parts == ["tokens"]:
                return 200, state.create_token(self.account(public=True), form), json_type
            if parts[:1] == ["authorize"] and len(parts) == 2:
                with state.lock:
                    stored = state.charges.get(parts[1])
                if not stored:
                    raise OmiseError(404, "not_found", "charge was not found")
                charge = stored["object"]
                if method == "GET":
                    page = BANK_PAGE % (charge["amount"] / 100, charge["currency"])
                    return 200, page, "text/html; charset=utf-8"
                charge = state.authenticate(parts[1], form.get("result") == "pass")
                return 303, charge["return_uri"] or state.base_url, None
            account = self.account()
            if (method == "GET" and len(parts) == 6 and parts[0] == "charges"
                    and parts[2] == "documents" and parts[4] == "downloads"):
                # Behind the secret key, as Omise's documents are: the buyer's browser cannot
                # load it, the service fetches it.
                charge = state.charge_of(account, parts[1])["object"]
                return 200, QR_SVG % charge["id"], "image/svg+xml"
            if method == "POST" and parts == ["charges"]:
                return 200, state.create_charge(account, form), json_type
            if method == "GET" and len(parts) == 2 and parts[0] == "charges":
                return 200, state.charge_of(account, parts[1])["object"], json_type
            if len(parts) == 3 and parts[0] == "charges" and parts[2] == "refunds":
                if method == "POST":
                    return 200, state.refund(account, parts[1], form), json_type
                charge = state.charge_of(account, parts[1])["object"]
                return 200, charge["refunds"], json_type
            if method == "POST" and len(parts) == 3 and parts[0] == "charges":
                return 200, state.action(account, parts[1], parts[2], form), json_type
            if method == "GET" and parts == ["search"]:
                return 200, state.search(account, query), json_type
            raise OmiseError(404, "not_found", "not found")

        def control(self, method, parts, query, raw):
            spec = json.loads(raw or b"{}") if method == "POST" else {}
            json_type = "application/json"
            if method == "POST" and parts == ["accounts"]:
                return 200, state.new_account(spec), json_type
            if method == "POST" and parts == ["faults"]:
                state.arm(spec)
                return 200, {"armed": spec}, json_type
            if method == "POST" and parts == ["webhooks"]:
                with state.lock:
                    account = state.accounts[spec["secret_key"]]
                    for name in ("mode", "url", "secret"):
                        if name in spec:
                            account["webhook_" + name] = spec[name]
                return 200, {"ok": True}, json_type
            if method == "POST" and parts == ["scan"]:
                return 200, state.scan(spec["charge"], spec.get("paid", True)), json_type
            if method == "POST" and parts == ["webhooks", "flush"]:
                return 200, {"sent": state.flush()}, json_type
            if method == "GET" and parts == ["charges"]:
                with state.lock:
                    found = [s["object"] for s in state.charges.values()
                             if s["account"] == query.get("secret_key")]
                return 200, {"data": found}, json_type
            if method == "GET" and parts == ["requests"]:
                with state.lock:
                    return 200, {"data": list(state.requests)}, json_type
            raise OmiseError(404, "not_found", "no such control")

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--log")
    args = parser.parse_args()
    log = open(args.log, "a", encoding="utf-8") if args.log else None
    server = ThreadingHTTPServer(("127.0.0.1", args.port), None)
    server.daemon_threads = True
    port = server.server_address[1]
    state = State(f"http://127.0.0.1:{port}")
    server.RequestHandlerClass = make_handler(state, log)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"Omise stand-in on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
