//! Events through the API (`GET /events`, `GET /events/{id}`): each change writes exactly one
//! event carrying the object as the change answered it, lists page and filter as link lists do,
//! events are their owner's and their mode's alone, and a change that fails leaves no event
//! (nor an event without its change).

use links_tests::faults::{Answer, FaultProxy};
use links_tests::{
    PAYMENT_BASE, TestApp, TestResponse, client_for, dynamodb_endpoint, spawn_app, spawn_app_with,
};
use serde_json::{Value, json};
use shared::auth::Authenticator;
use shared::chrono::{DateTime, Duration, SecondsFormat, Utc};
use shared::domain::event::{Event, EventKey};
use shared::domain::ids::is_event_id;
use shared::domain::principal::Principal;
use shared::store::collection::{COUNTER_SHARDS, Collection};
use shared::store::events::event_item;
use shared::store::{MAX_ATTEMPTS, Store};

/// An event's fields, exactly: the 2015-11-17 event, plus `webhook_deliveries`.
const EVENT_KEYS: [&str; 8] = [
    "created",
    "data",
    "id",
    "key",
    "livemode",
    "location",
    "object",
    "webhook_deliveries",
];

async fn get(app: &TestApp, key: &str, path: &str) -> TestResponse {
    app.call("GET", path).key(key).send().await
}

/// `GET path` with alice's test key, asserting 200.
async fn ok(app: &TestApp, path: &str) -> TestResponse {
    let response = get(app, &app.alice.test_key, path).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text);
    response
}

/// Asserts `event` is an event in Omise's shape, in test mode unless `livemode`; returns its id.
fn assert_event_shape(event: &Value, livemode: bool) -> String {
    let mut keys: Vec<&str> = event
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {event}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, EVENT_KEYS, "{event}");
    let id = event["id"].as_str().expect("an id").to_owned();
    assert!(is_event_id(&id, livemode), "{id}");
    assert_eq!(event["object"], "event");
    assert_eq!(event["livemode"], livemode);
    assert_eq!(event["location"], format!("/events/{id}"));
    assert_eq!(event["webhook_deliveries"], json!([]), "nothing delivered");
    let created = event["created"].as_str().expect("created");
    assert!(
        DateTime::parse_from_rfc3339(created).is_ok() && created.ends_with('Z'),
        "{created}"
    );
    assert!(event["key"].is_string() && event["data"].is_object());
    event_id_of(event)
}

fn event_id_of(event: &Value) -> String {
    event["id"].as_str().expect("an id").to_owned()
}

/// The events of a list, each checked for its shape.
fn listed(list: &TestResponse) -> Vec<Value> {
    assert_eq!(list.body["object"], "list", "{}", list.text);
    assert_eq!(list.body["location"], "/events");
    let data = list.body["data"].as_array().expect("data").clone();
    for event in &data {
        assert_event_shape(event, event["livemode"] == true);
    }
    data
}

fn keys_of(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["key"].as_str().unwrap()).collect()
}

/// Whether the response text holds `text` as its own UTF-8 bytes (not `\u` escapes).
fn holds_exactly(response: &TestResponse, text: &str) -> bool {
    let encoded = serde_json::to_string(text).unwrap();
    response.text.contains(&encoded)
}

#[tokio::test]
async fn creating_a_link_records_one_link_create_event_carrying_the_answer() {
    // Arrange
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let title = "ค่าอาหาร ๒ ที่ — น้ำเต้าหู้ 🍜";

    // Act
    let created = app
        .call("POST", "/links")
        .key(key)
        .json(&json!({"amount": 50_000, "currency": "thb", "title": title,
                      "description": "ข้าวผัด\n\"quoted\" & <b>"}))
        .send()
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let list = ok(&app, "/events").await;

    // Assert: one event, listed and retrievable, whose data is the create's answer.
    assert_eq!(list.body["total"], 1, "{}", list.text);
    let events = listed(&list);
    assert_eq!(keys_of(&events), ["link.create"]);
    let id = assert_event_shape(&events[0], false);
    let retrieved = ok(&app, &format!("/events/{id}")).await;
    assert_eq!(retrieved.body, events[0]);
    assert_eq!(retrieved.body["data"], created.body);
    assert_eq!(retrieved.body["data"]["title"], title);
    assert_eq!(retrieved.body["created"], created.body["created"]);
    assert!(
        holds_exactly(&created, title)
            && holds_exactly(&retrieved, title)
            && holds_exactly(&list, title),
        "the Thai title is served byte for byte: {}",
        retrieved.text
    );
    assert!(!retrieved.text.contains("\\u0e"), "{}", retrieved.text);
    assert_eq!(
        retrieved.headers["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(count_events(&app, &app.alice.test()).await, 1);
}

#[tokio::test]
async fn destroying_twice_records_one_link_destroy_event() {
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    let link = app
        .create_link(key, TestApp::link_params("to destroy"))
        .await;
    let path = format!("/links/{}", link["id"].as_str().unwrap());
    let first = app.call("DELETE", &path).key(key).send().await;
    let second = app.call("DELETE", &path).key(key).send().await;
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(first.body["deleted"], true);

    let list = ok(&app, "/events?order=reverse_chronological").await;
    assert_eq!(list.body["total"], 2, "{}", list.text);
    let events = listed(&list);
    assert_eq!(keys_of(&events), ["link.destroy", "link.create"]);
    let destroyed = &events[0];
    assert_eq!(destroyed["data"]["deleted"], true);
    assert_eq!(destroyed["data"], first.body, "the first destroy's answer");
    assert_eq!(destroyed["data"]["id"], link["id"]);
    assert!(destroyed["data"]["deleted_at"].is_string());
    assert_eq!(events[1]["data"], link);
    let retrieved = ok(&app, &format!("/events/{}", event_id_of(destroyed))).await;
    assert_eq!(&retrieved.body, destroyed);
    assert_eq!(count_events(&app, &app.alice.test()).await, 2);
}

/// Pays `link` through its payment page as a browser posts the card form, asserting success.
async fn pay(app: &TestApp, link: &Value, number: &str) -> TestResponse {
    let uri = link["payment_uri"].as_str().unwrap();
    let token = uri.strip_prefix(&format!("{PAYMENT_BASE}/")).unwrap();
    let form = format!(
        "attempt={}&lang=en&name=Somchai+Jaidee&number={number}&expiration_month=12&expiration_year=2031&security_code=123",
        links_tests::attempt_key(token)
    );
    app.call("POST", &format!("/pay/{token}"))
        .header("origin", "https://pay.test.example")
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
}

/// A charge without its empty refunds list, which is dated when it is read.
fn without_refunds(charge: &Value) -> Value {
    let mut charge = charge.clone();
    let refunds = charge.as_object_mut().unwrap().remove("refunds");
    let refunds = refunds.expect("a refunds list");
    assert_eq!(
        (&refunds["object"], &refunds["total"]),
        (&json!("list"), &json!(0))
    );
    charge
}

#[tokio::test]
async fn a_payment_records_one_charge_create_event_equal_to_the_charge() {
    let app = spawn_app().await;
    let link = app
        .create_link(
            &app.alice.test_key,
            json!({"amount": 5000, "currency": "thb", "title": "ข้าวมันไก่",
                   "description": "x", "multiple": true}),
        )
        .await;
    let paid = pay(&app, &link, "4242424242424242").await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    let declined = pay(&app, &link, "4111111111140011").await;
    assert_eq!(declined.status, 402, "{}", declined.text);

    let charges = ok(&app, "/charges").await;
    assert_eq!(charges.body["total"], 2);
    let list = ok(&app, "/events").await;
    assert_eq!(list.body["total"], 3, "{}", list.text);
    let events = listed(&list);
    assert_eq!(
        keys_of(&events),
        ["link.create", "charge.create", "charge.create"]
    );
    for (event, status) in events[1..].iter().zip(["successful", "failed"]) {
        let id = event["data"]["id"].as_str().expect("the charge's id");
        let charge = ok(&app, &format!("/charges/{id}")).await.body;
        assert_eq!(charge["status"], status);
        assert_eq!(without_refunds(&event["data"]), without_refunds(&charge));
        assert_eq!(event["created"], charge["created"]);
        let retrieved = ok(&app, &format!("/events/{}", event_id_of(event))).await;
        assert_eq!(&retrieved.body, event);
    }
    assert_eq!(events[1]["data"]["card"]["last_digits"], "4242");
    assert_eq!(count_events(&app, &app.alice.test()).await, 3);
}

/// Stores one event per time in `times` for `owner`, long before any list reads them (so they
/// are settled and deep pages anchor at them), counted as the change transactions count them:
/// the event's item and its counters, in one transaction each. Returns them oldest first.
async fn import_events(store: &Store, owner: &Principal, times: &[DateTime<Utc>]) -> Vec<Event> {
    use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
    let mut events = Vec::new();
    for (i, at) in times.iter().enumerate() {
        let data = json!({"object": "link", "id": format!("link_imported_{i}"), "title": "นำเข้า"});
        let data = serde_json::value::to_raw_value(&data).unwrap();
        let event = Event::new(EventKey::LinkCreate, owner.livemode, data, *at);
        let put = Put::builder()
            .table_name(store.table())
            .set_item(Some(event_item(owner, &event).unwrap()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .unwrap();
        let counters = Collection::events(owner)
            .count_new_member(
                store.table(),
                at.timestamp_millis(),
                i as u32 % COUNTER_SHARDS,
            )
            .unwrap();
        let items = std::iter::once(TransactWriteItem::builder().put(put).build())
            .chain(
                counters
                    .into_iter()
                    .map(|u| TransactWriteItem::builder().update(u).build()),
            )
            .collect();
        store
            .client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .expect("import an event");
        events.push(event);
    }
    events.sort_by(|a, b| a.id.cmp(&b.id));
    events
}

/// The number of `owner`'s events, checked against its event counters: the count shards add up
/// to the events in the partition.
async fn count_events(app: &TestApp, owner: &Principal) -> u64 {
    let pk = format!(
        "ACCT#{}#{}",
        owner.account_id,
        if owner.livemode { "live" } else { "test" }
    );
    let items = app.items_where("pk", &pk).await;
    let sk = |item: &links_tests::Item| item["sk"].as_s().unwrap().clone();
    let events = items.iter().filter(|i| sk(i).starts_with("EVNT#")).count() as u64;
    let counted: u64 = items
        .iter()
        .filter(|i| sk(i).starts_with("COUNT#EVNT#"))
        .map(|i| i["count"].as_n().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        counted, events,
        "the event count shards disagree with the events"
    );
    events
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[tokio::test]
async fn events_list_in_either_order_page_and_filter_by_time_with_exact_totals() {
    // Arrange: 30 events a minute apart, ending an hour ago, then one made through the API now.
    let app = spawn_app().await;
    let owner = app.alice.test();
    let start = Utc::now() - Duration::hours(2);
    let times: Vec<_> = (0..30).map(|i| start + Duration::minutes(i)).collect();
    let imported = import_events(&app.ctx.store, &owner, &times).await;
    let mut all: Vec<String> = imported.iter().map(|e| e.id.clone()).collect();
    let link = app
        .create_link(&app.alice.test_key, TestApp::link_params("newest"))
        .await;
    let ids =
        |list: &TestResponse| -> Vec<String> { listed(list).iter().map(event_id_of).collect() };

    // Act & Assert: the whole list, oldest first by default, newest first in reverse.
    let everything = ok(&app, "/events?limit=100").await;
    assert_eq!(everything.body["total"], 31);
    assert_eq!(everything.body["order"], "chronological");
    let listed_ids = ids(&everything);
    assert_eq!(listed_ids[..30], all[..]);
    assert_eq!(
        listed(&everything)[30]["data"],
        link,
        "the API's own event, last"
    );
    all.push(listed_ids[30].clone());
    let reverse = ok(&app, "/events?limit=100&order=reverse_chronological").await;
    let mut reversed = all.clone();
    reversed.reverse();
    assert_eq!(ids(&reverse), reversed);
    assert_eq!(reverse.body["order"], "reverse_chronological");

    // Pages: a walk with limit and offset sees every event once, in order, and totals stay whole.
    let mut walked = Vec::new();
    for offset in (0..31).step_by(7) {
        let page = ok(&app, &format!("/events?limit=7&offset={offset}")).await;
        assert_eq!(
            (
                &page.body["total"],
                &page.body["limit"],
                &page.body["offset"]
            ),
            (&json!(31), &json!(7), &json!(offset))
        );
        walked.extend(ids(&page));
    }
    assert_eq!(walked, all);
    let back = ok(&app, "/events?limit=5&offset=5&order=reverse_chronological").await;
    assert_eq!(ids(&back), reversed[5..10]);
    let past_the_end = ok(&app, "/events?offset=40").await;
    assert_eq!(
        (
            past_the_end.body["total"].as_u64(),
            listed(&past_the_end).len()
        ),
        (Some(31), 0)
    );
    // The deep pages of settled events left list anchors, in the anchors' own partition.
    let anchors = app.items_where("pk", "ANCHOR#").await;
    assert!(!anchors.is_empty(), "no anchors written");
    assert!(
        anchors
            .iter()
            .all(|a| a["sk"].as_s().unwrap().starts_with("EVNT#")),
        "{anchors:?}"
    );

    // Filters: `from` to the millisecond, `to` through its whole second, totals counted exactly.
    let from = times[10];
    let to = times[19] + Duration::milliseconds(400);
    let window = ok(
        &app,
        &format!("/events?limit=100&from={}&to={}", iso(from), iso(to)),
    )
    .await;
    assert_eq!(ids(&window), all[10..20]);
    assert_eq!(window.body["total"], 10);
    assert_eq!(
        window.body["from"],
        from.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    let just_after = ok(
        &app,
        &format!(
            "/events?from={}&to={}&order=reverse_chronological&limit=3&offset=2",
            iso(from + Duration::milliseconds(1)),
            iso(to)
        ),
    )
    .await;
    assert_eq!(
        just_after.body["total"], 9,
        "from excludes the event a ms before"
    );
    assert_eq!(
        ids(&just_after),
        [all[17].clone(), all[16].clone(), all[15].clone()]
    );
    let recent = ok(
        &app,
        &format!("/events?from={}", iso(times[29] + Duration::seconds(1))),
    )
    .await;
    assert_eq!(ids(&recent), all[30..]);
    assert_eq!(recent.body["total"], 1);
    let bad = get(&app, &app.alice.test_key, "/events?limit=-1").await;
    bad.assert_error(400, "invalid_page");
    assert_eq!(count_events(&app, &owner).await, 31);
}

#[tokio::test]
async fn events_are_their_owners_and_their_modes_alone() {
    let app = spawn_app().await;
    let alice_test = &app.alice.test_key;
    let alice_live = &app.alice.live_key;
    let bob = &app.bob.test_key;
    app.create_link(alice_test, TestApp::link_params("alice test"))
        .await;
    app.create_link(alice_live, TestApp::link_params("alice live"))
        .await;
    let test_event = event_id_of(&listed(&ok(&app, "/events").await)[0]);
    let live_list = get(&app, alice_live, "/events").await;
    assert_eq!(live_list.body["total"], 1, "{}", live_list.text);
    let live_events = listed(&live_list);
    let live_event = assert_event_shape(&live_events[0], true);
    assert!(live_event.starts_with("evnt_") && !live_event.contains("test"));
    assert_eq!(live_events[0]["data"]["title"], "alice live");

    // Bob sees nothing of alice's, whether by id or listed. (His first call is the retrieve, so
    // that the retrieve function looks a key up, as it does on a cold start.)
    let message = get(&app, bob, &format!("/events/{test_event}"))
        .await
        .assert_error(404, "not_found");
    assert_eq!(message, format!("event {test_event} was not found"));
    let bobs = get(&app, bob, "/events").await;
    assert_eq!((bobs.status, &bobs.body["total"]), (200, &json!(0)));
    // (And a list is the first call of bob's live key: the list function looks it up.)
    let bobs_live = get(&app, &app.bob.live_key, "/events").await;
    assert_eq!(
        (bobs_live.status, &bobs_live.body["total"]),
        (200, &json!(0))
    );
    // Each mode sees its own events only: a test event with the live key, a live one with the
    // test key, are not found.
    get(&app, alice_live, &format!("/events/{test_event}"))
        .await
        .assert_error(404, "not_found");
    get(&app, alice_test, &format!("/events/{live_event}"))
        .await
        .assert_error(404, "not_found");
    let live_retrieved = get(&app, alice_live, &format!("/events/{live_event}")).await;
    assert_eq!(live_retrieved.body, live_events[0]);
    // Without a key, neither answers.
    for path in ["/events".to_owned(), format!("/events/{test_event}")] {
        app.call("GET", &path)
            .send()
            .await
            .assert_error(401, "authentication_failure");
    }
}

#[tokio::test]
async fn a_malformed_event_id_is_answered_as_a_malformed_charge_id() {
    let app = spawn_app().await;
    let key = &app.alice.test_key;
    app.create_link(key, TestApp::link_params("x")).await;
    let long = "x".repeat(100);
    // (event id, the charge id malformed the same way)
    let cases = [
        (
            "evnt_test_../../x".to_owned(),
            "chrg_test_../../x".to_owned(),
        ),
        ("nope".to_owned(), "nope".to_owned()),
        (
            format!("evnt_test_{}", "A".repeat(25)),
            format!("chrg_test_{}", "A".repeat(25)),
        ),
        (
            format!("evnt_test_{}", "0".repeat(24)),
            format!("chrg_test_{}", "0".repeat(24)),
        ),
        (
            format!("evnt_{}", "0".repeat(25)),
            format!("chrg_{}", "0".repeat(25)),
        ),
        (format!("evnt_test_{long}"), format!("chrg_test_{long}")),
        // Well formed and nowhere: these reach DynamoDB, and are not found there.
        (
            format!("evnt_test_{}", "0".repeat(25)),
            format!("chrg_test_{}", "0".repeat(25)),
        ),
        // The other kind's id.
        (
            format!("chrg_test_{}", "0".repeat(25)),
            format!("evnt_test_{}", "0".repeat(25)),
        ),
    ];
    for (event_id, charge_id) in cases {
        let event = get(&app, key, &format!("/events/{event_id}")).await;
        let charge = get(&app, key, &format!("/charges/{charge_id}")).await;
        // The same status, code and message, each naming its kind and the id it was given (cut
        // at 64 characters; a path with `..` in it reaches the function without its id, both ways).
        let event_message = event.assert_error(404, "not_found");
        let charge_message = charge.assert_error(404, "not_found");
        let shown = |id: &str| id.chars().take(64).collect::<String>();
        let mirrored = charge_message.replacen(
            &format!("charge {} ", shown(&charge_id)),
            &format!("event {} ", shown(&event_id)),
            1,
        );
        let mirrored = mirrored.replacen("charge  ", "event  ", 1);
        assert_eq!(event_message, mirrored, "{event_id} vs {charge_id}");
        if !event_id.contains('/') {
            assert_eq!(
                event_message,
                format!("event {} was not found", shown(&event_id))
            );
        }
        for header in ["content-type", "cache-control"] {
            assert_eq!(
                event.headers.get(header),
                charge.headers.get(header),
                "{header}"
            );
        }
    }
}

#[tokio::test]
async fn a_change_that_fails_leaves_neither_itself_nor_its_event() {
    // Arrange: an app behind a proxy that can fail its transactions, and one link made through it.
    let proxy = FaultProxy::start(dynamodb_endpoint()).await;
    let app = spawn_app_with(client_for(&proxy.endpoint()), Authenticator::default()).await;
    let key = &app.alice.test_key;
    let owner = app.alice.test();
    let made = app.create_link(key, TestApp::link_params("made")).await;
    let made_path = format!("/links/{}", made["id"].as_str().unwrap());

    // Act: a create, a destroy and a payment whose transactions all fail.
    let mut failed = Vec::new();
    for (method, path) in [("POST", "/links"), ("DELETE", made_path.as_str())] {
        let injected = proxy.injected();
        proxy.inject("TransactWriteItems", Answer::internal_server_error(), 100);
        let call = app.call(method, path).key(key);
        let call = if method == "POST" {
            call.json(&TestApp::link_params("never made"))
        } else {
            call
        };
        failed.push(call.send().await);
        proxy.clear();
        assert!(proxy.injected() - injected >= MAX_ATTEMPTS as usize);
    }
    proxy.inject("TransactWriteItems", Answer::internal_server_error(), 100);
    let payment = pay(&app, &made, "4242424242424242").await;
    proxy.clear();

    // Assert: every change failed, and none left an event or anything else.
    for response in &failed {
        response.assert_error(503, "service_unavailable");
    }
    assert!(payment.status >= 500, "{}", payment.status);
    let events = listed(&ok(&app, "/events").await);
    assert_eq!(keys_of(&events), ["link.create"]);
    assert_eq!(events[0]["data"], made);
    let links = ok(&app, "/links").await;
    assert_eq!(links.body["total"], 1);
    assert_eq!(
        links.body["data"][0]["deleted"], false,
        "the destroy wrote nothing"
    );
    assert_eq!(ok(&app, "/charges").await.body["total"], 0);
    assert_eq!(count_events(&app, &owner).await, 1);
    assert_eq!(app.assert_counters_agree(&owner).await, 1);

    // And a create that succeeds writes its link and its event in one transaction, not two writes.
    let before = proxy.forwarded().len();
    let second = app.create_link(key, TestApp::link_params("second")).await;
    let writes: Vec<String> = proxy.forwarded()[before..]
        .iter()
        .filter(|op| !matches!(op.as_str(), "GetItem" | "Query"))
        .cloned()
        .collect();
    assert_eq!(writes, ["TransactWriteItems"]);
    let events = listed(&ok(&app, "/events?order=reverse_chronological").await);
    assert_eq!(keys_of(&events), ["link.create", "link.create"]);
    assert_eq!(events[0]["data"], second);
    assert_eq!(count_events(&app, &owner).await, 2);
}
