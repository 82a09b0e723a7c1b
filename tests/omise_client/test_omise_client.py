"""End-to-end tests that drive the running Links API with the official Omise Python client.

The client (PyPI ``omise``) is used unmodified. It is pointed at the API under test
through its own module-level settings, which every request reads at call time:

- ``omise.api_main``    base URL of the API (the library's default is the real Omise host)
- ``omise.api_secret``  secret key sent as the HTTP Basic user name (empty password)
- ``omise.api_version`` sent as the ``Omise-Version`` header when not None

Environment (the API must already be running):

- ``LINKS_API_URL``         e.g. ``http://127.0.0.1:3000``
- ``LINKS_TEST_KEY``        a test secret key of one account
- ``LINKS_OTHER_TEST_KEY``  a test secret key of a different account
- ``LINKS_LIVE_KEY``, ``OMISE_STANDIN_URL``  (optional) a live key of an account whose live
  gateway is the Omise stand-in, and the stand-in: the live tests run only with both (scripts/test
  sets them; the sam local run, whose functions have no gateway but the built-in one, does not)

Run: ``.venv/bin/python -m pytest -q tests/omise_client``
"""

import base64
import contextlib
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import omise
import omise.errors
import pytest

THAI_TITLE = "ชำระค่าอาหาร 🍜"
THAI_DESCRIPTION = "ข้าวผัดกะเพราไก่ไข่ดาว 2 จาน — ส่งถึงบ้าน ✓"
CREATED_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
UNKNOWN_LINK_ID = "link_test_doesnotexist0000000000000"
WRONG_KEY = "skey_test_wrongwrongwrongwrongwrong0"
# More than one page of the client's lazy listing, which always asks for limit=100.
PAGED_LINK_COUNT = 105


def _required_env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail("environment variable %s must be set (see module docstring)" % name)
    return value


@pytest.fixture(scope="session")
def api_url():
    url = _required_env("LINKS_API_URL")
    # The client builds URLs with urljoin(api_main, "links/..."): a trailing slash keeps any
    # path prefix of the base URL instead of replacing its last segment.
    return url if url.endswith("/") else url + "/"


@pytest.fixture(scope="session")
def test_key():
    return _required_env("LINKS_TEST_KEY")


@pytest.fixture(scope="session")
def other_test_key():
    key = _required_env("LINKS_OTHER_TEST_KEY")
    assert key != _required_env("LINKS_TEST_KEY"), "the two test keys must belong to different accounts"
    return key


@pytest.fixture(autouse=True)
def client_config(api_url, test_key):
    """Configure the client for one test, and restore the library's settings afterwards."""
    saved = (omise.api_main, omise.api_secret, omise.api_version)
    omise.api_main = api_url
    omise.api_secret = test_key
    omise.api_version = None
    try:
        yield
    finally:
        omise.api_main, omise.api_secret, omise.api_version = saved


@contextlib.contextmanager
def using_key(key):
    """Send the requests made inside the block with another secret key."""
    saved = omise.api_secret
    omise.api_secret = key
    try:
        yield
    finally:
        omise.api_secret = saved


def create_link(**overrides):
    params = dict(amount=150000, currency="thb", title=THAI_TITLE, description=THAI_DESCRIPTION)
    params.update(overrides)
    return omise.Link.create(**params)


def all_listed_links():
    """Every link of the current account, through the client's lazy paging collection."""
    return [link for link in omise.Link.list()]


def assert_is_new_link(link, amount, multiple):
    assert isinstance(link, omise.Link)
    assert link.object == "link"
    assert link.id.startswith("link_test_")
    assert len(link.id) > len("link_test_")
    assert link.livemode is False
    assert link.location == "/links/" + link.id
    assert link.amount == amount
    assert link.currency == "thb"
    assert link.title == THAI_TITLE
    assert link.description == THAI_DESCRIPTION
    assert link.multiple is multiple
    assert link.used is False
    assert link.used_at is None
    assert link.deleted is False
    assert link.deleted_at is None
    assert link.destroyed is False
    assert link.payment_uri.startswith("http")
    assert CREATED_FORMAT.match(link.created), link.created
    assert isinstance(link.charges, omise.Collection)
    assert link.charges.object == "list"
    assert len(link.charges) == 0
    assert list(link.charges) == []


def test_create_single_use_link_returns_the_link_with_the_given_values():
    link = create_link(amount=150000)

    assert_is_new_link(link, amount=150000, multiple=False)


def test_create_multiple_use_link_sets_the_multiple_flag():
    link = create_link(amount=2500, multiple=True)

    assert_is_new_link(link, amount=2500, multiple=True)


def test_create_accepts_the_thb_minimum_amount_and_rejects_one_satang_less():
    assert create_link(amount=2000).amount == 2000

    with pytest.raises(omise.errors.BaseError):
        create_link(amount=1999)


def test_create_and_retrieve_work_with_the_api_version_header_set():
    omise.api_version = "2015-11-17"

    link = create_link(amount=4200)
    again = omise.Link.retrieve(link.id)

    assert_is_new_link(link, amount=4200, multiple=False)
    assert again.id == link.id


def test_retrieve_by_id_returns_the_same_values_as_create():
    created = create_link(amount=99900, multiple=True)

    link = omise.Link.retrieve(created.id)

    assert_is_new_link(link, amount=99900, multiple=True)
    for field in ("id", "location", "amount", "currency", "title", "description", "multiple",
                  "payment_uri", "created", "used", "deleted", "livemode"):
        assert getattr(link, field) == getattr(created, field), field


def test_reload_refreshes_a_link_from_the_server():
    link = create_link(amount=3000)

    assert link.reload() is link
    assert link.amount == 3000
    assert link.title == THAI_TITLE


def test_retrieve_without_id_returns_the_first_page_of_links_as_a_list_collection():
    created_ids = [create_link(amount=2000 + i).id for i in range(3)]

    page = omise.Link.retrieve()

    assert isinstance(page, omise.Collection)
    assert page.object == "list"
    assert page.location == "/links"
    assert page.offset == 0
    assert page.limit == 20  # the API's default page size
    assert page.total >= len(created_ids)
    assert len(page) == min(page.total, 20)
    assert all(isinstance(item, omise.Link) for item in page)
    page_ids = [item.id for item in page]
    assert len(set(page_ids)) == len(page_ids)
    # The default order is chronological, so the page holds the account's oldest links:
    # the same ones, in the same order, as the start of the full lazy listing.
    assert page_ids == [link.id for link in all_listed_links()][:20]
    if page.total <= 20:
        assert set(created_ids) <= set(page_ids)
    # Collection.retrieve(id) looks the id up within the page.
    assert page.retrieve(page_ids[0]).id == page_ids[0]


def test_list_yields_every_link_of_the_account_once_and_len_matches():
    created_ids = {create_link(amount=5000 + i).id for i in range(3)}

    links = all_listed_links()
    listed_ids = [link.id for link in links]

    assert created_ids <= set(listed_ids)
    assert len(listed_ids) == len(set(listed_ids))
    assert len(omise.Link.list()) == len(listed_ids)
    assert all(isinstance(link, omise.Link) for link in links)
    # Default order is chronological: creation times never go backwards.
    created_times = [link.created for link in links]
    assert created_times == sorted(created_times)


def test_list_pages_through_more_than_one_hundred_links(other_test_key):
    with using_key(other_test_key):
        before = len(omise.Link.list())

        def create(i):
            return create_link(amount=2000 + i, title="ลิงก์ที่ %d" % i).id

        with ThreadPoolExecutor(max_workers=8) as pool:
            created_ids = list(pool.map(create, range(PAGED_LINK_COUNT)))
        assert len(set(created_ids)) == PAGED_LINK_COUNT

        links = all_listed_links()
        listed_ids = [link.id for link in links]
        total = len(omise.Link.list())
        # list() of the lazy collection also works (it asks len() for a size hint first).
        listed_again = [link.id for link in list(omise.Link.list())]

    assert len(listed_ids) == len(set(listed_ids)), "a link was yielded more than once"
    assert set(created_ids) <= set(listed_ids), "a created link was never yielded"
    assert len(listed_ids) == before + PAGED_LINK_COUNT
    assert total == len(listed_ids)
    assert listed_again == listed_ids
    by_id = {link.id: link for link in links}
    for i, link_id in enumerate(created_ids):
        assert by_id[link_id].amount == 2000 + i
        assert by_id[link_id].title == "ลิงก์ที่ %d" % i
    created_times = [link.created for link in links]
    assert created_times == sorted(created_times)


def test_destroy_marks_the_link_deleted_and_it_stays_retrievable_and_listed():
    link = create_link(amount=7700)

    returned = link.destroy()

    assert returned is link
    assert link.destroyed is True
    assert link.deleted is True
    assert CREATED_FORMAT.match(link.deleted_at), link.deleted_at
    assert link.id == returned.id

    again = omise.Link.retrieve(link.id)
    assert again.deleted is True
    assert again.destroyed is True
    assert again.deleted_at == link.deleted_at
    assert again.amount == 7700

    listed = [item for item in all_listed_links() if item.id == link.id]
    assert len(listed) == 1
    assert listed[0].deleted is True


def test_retrieve_of_an_unknown_link_raises_not_found():
    with pytest.raises(omise.errors.NotFoundError):
        omise.Link.retrieve(UNKNOWN_LINK_ID)


def test_destroy_of_an_unknown_link_raises_not_found():
    ghost = omise.Link.from_data({"object": "link", "id": UNKNOWN_LINK_ID})

    with pytest.raises(omise.errors.NotFoundError):
        ghost.destroy()


def test_a_wrong_key_raises_authentication_failure_for_every_operation():
    link = create_link()

    with using_key(WRONG_KEY):
        with pytest.raises(omise.errors.AuthenticationFailureError):
            create_link()
        with pytest.raises(omise.errors.AuthenticationFailureError):
            omise.Link.retrieve(link.id)
        with pytest.raises(omise.errors.AuthenticationFailureError):
            omise.Link.retrieve()
        with pytest.raises(omise.errors.AuthenticationFailureError):
            len(omise.Link.list())
        with pytest.raises(omise.errors.AuthenticationFailureError):
            all_listed_links()
        with pytest.raises(omise.errors.AuthenticationFailureError):
            link.destroy()

    # The failed destroy changed nothing.
    assert omise.Link.retrieve(link.id).deleted is False


def test_a_link_of_one_account_is_not_found_with_the_other_accounts_key(test_key, other_test_key):
    mine = create_link(amount=12300)
    with using_key(other_test_key):
        theirs = create_link(amount=32100)

    with using_key(other_test_key):
        with pytest.raises(omise.errors.NotFoundError):
            omise.Link.retrieve(mine.id)
        with pytest.raises(omise.errors.NotFoundError):
            mine.destroy()
        assert mine.id not in {link.id for link in all_listed_links()}

    with using_key(test_key):
        with pytest.raises(omise.errors.NotFoundError):
            omise.Link.retrieve(theirs.id)
        assert theirs.id not in {link.id for link in all_listed_links()}

    # Each key still sees its own link, undeleted.
    assert omise.Link.retrieve(mine.id).deleted is False
    with using_key(other_test_key):
        assert omise.Link.retrieve(theirs.id).deleted is False


def attempt_key(page, form="card"):
    """The attempt key the payment page issued its ``form`` (``card`` or ``promptpay``)."""
    rest = page[page.index('<form id="%s"' % form):]
    marker = 'name="attempt" value="'
    start = rest.index(marker) + len(marker)
    return rest[start:rest.index('"', start)]


def pay(link, number="4242424242424242"):
    """Pays ``link`` as a buyer's browser does: the payment page opened, its card form posted from
    the page's own origin. Returns the HTTP status and the page."""
    parts = urllib.parse.urlsplit(link.payment_uri)
    with urllib.request.urlopen(link.payment_uri) as response:
        page = response.read().decode()
    form = urllib.parse.urlencode({
        "attempt": attempt_key(page),
        "lang": "en",
        "name": "Somchai Jaidee",
        "number": number,
        "expiration_month": "12",
        "expiration_year": "2031",
        "security_code": "123",
    }).encode()
    request = urllib.request.Request(link.payment_uri, data=form, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": "%s://%s" % (parts.scheme, parts.netloc),
    })
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_paid_link_shows_its_charge_through_the_client():
    link = create_link(amount=150000)
    status, page = pay(link)
    assert status == 200, page

    link.reload()
    assert link.used is True
    assert len(link.charges) == 1
    charge = list(link.charges)[0]
    assert isinstance(charge, omise.Charge)
    assert charge.id.startswith("chrg_test_")
    assert charge.status == "successful"
    assert charge.paid is True
    assert charge.amount == 150000
    assert charge.currency == "thb"
    assert charge.description == THAI_TITLE + "\n\n" + THAI_DESCRIPTION
    assert charge.card.last_digits == "4242"
    assert charge.card.brand == "Visa"
    # Where the buyer comes back to from a bank: the link's page, /complete, for this attempt.
    assert charge.return_uri.startswith(link.payment_uri + "/complete?attempt="), charge.return_uri

    retrieved = omise.Charge.retrieve(charge.id)
    assert retrieved.id == charge.id
    assert retrieved.transaction == charge.transaction
    assert retrieved.card.name == "Somchai Jaidee"
    listed = omise.Charge.retrieve()
    assert charge.id in [c.id for c in listed]


def test_a_declined_card_is_a_failed_charge_and_another_account_cannot_see_it(other_test_key):
    link = create_link(amount=150000)
    status, _ = pay(link, number="4111111111140011")
    assert status == 402

    link.reload()
    assert link.used is False
    charge = list(link.charges)[0]
    assert charge.status == "failed"
    assert charge.failure_code == "insufficient_fund"
    assert charge.paid is False
    with using_key(other_test_key):
        with pytest.raises(omise.errors.NotFoundError):
            omise.Charge.retrieve(charge.id)


def start_promptpay(link):
    """Starts a PromptPay payment of ``link`` as a buyer does: its page opened, its PromptPay form
    posted. Returns the page the buyer is sent to (where the QR code waits)."""
    parts = urllib.parse.urlsplit(link.payment_uri)
    with urllib.request.urlopen(link.payment_uri) as response:
        page = response.read().decode()
    form = urllib.parse.urlencode({
        "attempt": attempt_key(page, "promptpay"), "lang": "en", "source_type": "promptpay",
    }).encode()
    request = urllib.request.Request(link.payment_uri, data=form, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": "%s://%s" % (parts.scheme, parts.netloc),
    })
    with urllib.request.urlopen(request) as response:
        return response.url


def mark_as_paid(charge_id):
    """Test mode's POST /charges/{id}/mark_as_paid (the Python client has no method for it)."""
    request = urllib.request.Request(
        urllib.parse.urljoin(omise.api_main, "charges/%s/mark_as_paid" % charge_id), data=b"",
        headers={"Authorization": "Basic " + base64.b64encode((omise.api_secret + ":").encode()).decode()},
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def test_a_pending_charge_and_its_resolution_are_retrieved_through_the_client():
    link = create_link(amount=20000)
    waiting_page = start_promptpay(link)
    assert "/complete?attempt=" in waiting_page, waiting_page
    link.reload()
    pending = omise.Charge.retrieve(list(link.charges)[0].id)
    assert isinstance(pending, omise.Charge)
    assert (pending.status, pending.paid, pending.authorized) == ("pending", False, False)
    assert pending.card is None
    assert pending.source.type == "promptpay"
    assert pending.source.scannable_code.image.download_uri.startswith(link.payment_uri + "/qr.svg?")
    assert pending.transaction is None

    assert mark_as_paid(pending.id)["status"] == "successful"
    resolved = omise.Charge.retrieve(pending.id)
    assert (resolved.status, resolved.paid) == ("successful", True)
    assert resolved.transaction.startswith("trxn_test_")
    assert pending.reload() is pending and pending.status == "successful"
    link.reload()
    assert link.used is True


def test_a_refund_is_made_and_read_back_through_the_client():
    link = create_link(amount=100000)
    status, page = pay(link)
    assert status == 200, page
    link.reload()
    charge = omise.Charge.retrieve(list(link.charges)[0].id)

    refund = charge.refund(amount=10000)
    assert isinstance(refund, omise.Refund)
    assert refund.id.startswith("rfnd_test_")
    assert (refund.amount, refund.currency, refund.charge) == (10000, "thb", charge.id)
    assert refund.location == "/charges/%s/refunds/%s" % (charge.id, refund.id)
    # The client reloaded the charge: it shows the refund.
    assert charge.refunded == 10000
    assert charge.refunds.retrieve(refund.id).amount == 10000
    # Read back from the service: the refund itself, the charge's list of refunds.
    assert refund.reload().id == refund.id and refund.amount == 10000
    listed = charge.list_refunds()
    assert [r.id for r in listed] == [refund.id]
    assert omise.Charge.retrieve(charge.id).refunded == 10000

    # More than remains is refused with an Omise error.
    with pytest.raises(omise.errors.BaseError):
        charge.refund(amount=90001)


# --- live mode, through Omise (the stand-in) ----------------------------------------------------

def pay_live(link, number="4242424242424242"):
    """Pays a live ``link`` as its page does: the card to the gateway's vault with the page's
    public key (Omise.js's part), then only the token posted to the service."""
    standin = os.environ["OMISE_STANDIN_URL"].rstrip("/")
    parts = urllib.parse.urlsplit(link.payment_uri)
    with urllib.request.urlopen(link.payment_uri) as response:
        page = response.read().decode()
    public_key = re.search(r'data-omise-key="(pkey_[A-Za-z0-9_]+)"', page).group(1)
    card = urllib.parse.urlencode({
        "card[name]": "Somchai Jaidee", "card[number]": number, "card[expiration_month]": "12",
        "card[expiration_year]": "2031", "card[security_code]": "123",
    }).encode()
    vault = urllib.request.Request(standin + "/tokens", data=card, headers={
        "Authorization": "Basic " + base64.b64encode((public_key + ":").encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded",
    })
    with urllib.request.urlopen(vault) as response:
        token = json.load(response)["id"]
    form = urllib.parse.urlencode({"attempt": attempt_key(page), "lang": "en", "omise_token": token}).encode()
    request = urllib.request.Request(link.payment_uri, data=form, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": "%s://%s" % (parts.scheme, parts.netloc),
    })
    with urllib.request.urlopen(request) as response:
        return response.status, response.read().decode()


def test_a_live_charge_and_its_refund_are_read_through_the_client():
    live_key = os.environ.get("LINKS_LIVE_KEY")
    if not (live_key and os.environ.get("OMISE_STANDIN_URL")):
        pytest.skip("no live gateway here (LINKS_LIVE_KEY and OMISE_STANDIN_URL unset)")
    with using_key(live_key):
        link = create_link(amount=100000)
        assert link.livemode is True
        status, page = pay_live(link)
        assert status == 200 and "Payment successful" in page, page
        link.reload()
        charge = omise.Charge.retrieve(list(link.charges)[0].id)
        assert charge.id.startswith("chrg_") and not charge.id.startswith("chrg_test_")
        assert (charge.livemode, charge.status, charge.paid) == (True, "successful", True)
        assert charge.card.last_digits == "4242"
        refund = charge.refund(amount=10000)
        assert refund.id.startswith("rfnd_") and not refund.id.startswith("rfnd_test_")
        assert (refund.amount, refund.charge) == (10000, charge.id)
        assert omise.Charge.retrieve(charge.id).refunded == 10000
        assert [r.id for r in charge.list_refunds()] == [refund.id]
    # The refund went to Omise: one refund of 10000 THB satang there, asked once.
    standin = os.environ["OMISE_STANDIN_URL"].rstrip("/")
    with urllib.request.urlopen(standin + "/__standin/requests") as response:
        received = json.load(response)["data"]
    refunds = [r for r in received if r["method"] == "POST" and r["path"].endswith("/refunds")]
    assert len(refunds) == 1 and "amount=10000" in refunds[0]["body"], refunds


# --- events -----------------------------------------------------------------------------------


def newest_events(count):
    """The account's newest events, newest first, through the client's lazy collection."""
    return omise.Event.list().offset(limit=count, offset=0, order="reverse_chronological")


def assert_is_event(event, key):
    assert isinstance(event, omise.Event)
    assert event.object == "event"
    assert event.id.startswith("evnt_test_")
    assert event.livemode is False
    assert event.location == "/events/" + event.id
    assert event.key == key
    assert CREATED_FORMAT.match(event.created), event.created
    assert event.webhook_deliveries == []


def test_a_created_link_has_its_event_retrieved_and_listed_through_the_client(other_test_key):
    link = create_link(amount=4321)

    [event] = newest_events(1)
    retrieved = omise.Event.retrieve(event.id)

    assert_is_event(event, "link.create")
    # The event's data is the link as the create answered it, read by the client as a Link.
    assert isinstance(event.data, omise.Link)
    assert event.data.id == link.id
    assert event.data.title == THAI_TITLE
    assert event.data.description == THAI_DESCRIPTION
    assert event.data.amount == 4321
    assert event.created == link.created
    assert_is_event(retrieved, "link.create")
    assert retrieved.id == event.id
    assert retrieved.data.id == link.id
    assert retrieved.data.payment_uri == link.payment_uri
    assert retrieved.reload() is retrieved and retrieved.data.title == THAI_TITLE

    # Event.retrieve() without an id is the first page, oldest first, as Link.retrieve() is.
    page = omise.Event.retrieve()
    assert isinstance(page, omise.Collection)
    assert (page.object, page.location, page.offset, page.limit) == ("list", "/events", 0, 20)
    assert page.total >= 1
    assert all(isinstance(item, omise.Event) for item in page)
    created_times = [item.created for item in page]
    assert created_times == sorted(created_times)

    # Event.list() pages through all of them (several pages of 100 here), each once.
    listed = [item for item in omise.Event.list()]
    listed_ids = [item.id for item in listed]
    assert len(listed_ids) == len(set(listed_ids)) == len(omise.Event.list())
    assert [item for item in listed if item.id == event.id][0].data.id == link.id
    assert listed_ids[:len(page)] == [item.id for item in page]

    # Another account's key finds none of it.
    with using_key(other_test_key):
        with pytest.raises(omise.errors.NotFoundError):
            omise.Event.retrieve(event.id)
        assert event.id not in [item.id for item in newest_events(100)]
    with pytest.raises(omise.errors.NotFoundError):
        omise.Event.retrieve("evnt_test_" + "0" * 25)


def test_a_destroy_and_a_payment_have_their_events_through_the_client():
    link = create_link(amount=2500, multiple=True)
    status, page = pay(link)
    assert status == 200, page
    link.reload()
    charge = list(link.charges)[0]
    destroyed = omise.Link.retrieve(link.id).destroy()

    newest = newest_events(3)

    assert [event.key for event in newest] == ["link.destroy", "charge.create", "link.create"]
    for event, key in zip(newest, ["link.destroy", "charge.create", "link.create"]):
        assert_is_event(event, key)
    assert isinstance(newest[0].data, omise.Link)
    assert newest[0].data.id == link.id
    assert newest[0].data.deleted is True
    assert newest[0].data.deleted_at == destroyed.deleted_at
    assert isinstance(newest[1].data, omise.Charge)
    assert newest[1].data.id == charge.id
    assert newest[1].data.status == "successful"
    assert newest[1].data.card.last_digits == "4242"
    assert omise.Event.retrieve(newest[1].id).data.transaction == charge.transaction
