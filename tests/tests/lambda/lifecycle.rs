//! The payment lifecycle's functions as real Lambdas: 3-D Secure, PromptPay, refunds and the
//! sweep, each release bootstrap under the emulator, the pages reading their attempt key secret
//! from the Secrets Manager emulator.

use crate::Session;
use crate::rie::Rie;
use links_tests::{Event, TestApp, attempt_key, spawn_app};
use serde_json::{Value, json};

const ORIGIN: &str = "https://pay.test.example";

/// `location` without the test base URL: the path the next request goes to.
fn path_of(location: &Value) -> String {
    let to = location.as_str().expect("a redirect");
    format!(
        "/pay{}",
        to.strip_prefix(links_tests::PAYMENT_BASE)
            .expect("under the base")
    )
}

fn query(path: &str) -> &str {
    path.split_once('?').map_or("", |(_, q)| q)
}

#[tokio::test]
async fn promptpay_and_refunds_through_their_lambdas() {
    let app = spawn_app().await;
    let key = app.alice.test_key.clone();
    let link = app.create_link(&key, TestApp::link_params("ชาไทย")).await;
    let token = link["payment_uri"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let path = format!("/pay/{token}");
    let table = app.ctx.store.table();
    let mut pay = Session::start("pay-link", table);
    let mut complete = Session::start("payment-complete", table);
    let mut qr = Session::start("payment-qr", table);
    let mut mark = Session::start("mark-charge-paid", table);
    let mut refund = Session::start("create-refund", table);
    let mut list = Session::start("list-refunds", table);
    let mut retrieve = Session::start("retrieve-refund", table);
    for session in [&mut mark, &mut refund, &mut list, &mut retrieve] {
        session.forbid(&key);
    }

    let started = pay
        .invoke(
            Event::new("POST /pay/{id}", "POST", &path)
                .id(&token)
                .header("origin", ORIGIN)
                .form(&format!(
                    "attempt={}&lang=en&source_type=promptpay",
                    attempt_key(&token)
                )),
        )
        .await;
    assert_eq!(started.status, 303, "{}", started.text);
    let waiting_at = path_of(&started.headers["location"]);
    let waiting = complete
        .invoke(Event::new("GET /pay/{id}/complete", "GET", &waiting_at).id(&token))
        .await;
    assert_eq!(waiting.status, 200, "{}", waiting.text);
    assert!(
        waiting.text.contains("Scan to pay with PromptPay"),
        "{}",
        waiting.text
    );
    let charge = app.get("/charges").await["data"][0].clone();
    let id = charge["id"].as_str().unwrap().to_owned();
    let download = path_of(&charge["source"]["scannable_code"]["image"]["download_uri"]);
    let image = qr
        .invoke(Event::new("GET /pay/{id}/qr.svg", "GET", &download).id(&token))
        .await;
    assert_eq!(image.status, 200);
    assert_eq!(image.headers["content-type"], "image/svg+xml");
    let marked = mark
        .invoke(
            Event::new(
                "POST /charges/{id}/mark_as_paid",
                "POST",
                &format!("/charges/{id}/mark_as_paid"),
            )
            .id(&id)
            .key(&key),
        )
        .await;
    assert_eq!(marked.status, 200, "{}", marked.text);
    assert_eq!(marked.body["status"], "successful");
    let receipt = complete
        .invoke(Event::new("GET /pay/{id}/complete", "GET", &waiting_at).id(&token))
        .await;
    assert!(
        receipt.text.contains("Payment successful"),
        "{}",
        receipt.text
    );

    let made = refund
        .invoke(
            Event::new(
                "POST /charges/{id}/refunds",
                "POST",
                &format!("/charges/{id}/refunds"),
            )
            .id(&id)
            .key(&key)
            .form("amount=2500"),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.text);
    let refund_id = made.body["id"].as_str().unwrap().to_owned();
    let listed = list
        .invoke(
            Event::new(
                "GET /charges/{id}/refunds",
                "GET",
                &format!("/charges/{id}/refunds"),
            )
            .id(&id)
            .key(&key),
        )
        .await;
    assert_eq!((listed.status, &listed.body["total"]), (200, &json!(1)));
    let read_back = retrieve
        .invoke(
            Event::new(
                "GET /charges/{id}/refunds/{refund_id}",
                "GET",
                &format!("/charges/{id}/refunds/{refund_id}"),
            )
            .id(&id)
            .param("refund_id", &refund_id)
            .key(&key),
        )
        .await;
    assert_eq!(read_back.status, 200, "{}", read_back.text);
    assert_eq!(read_back.body, made.body);
    for session in [&pay, &complete, &qr, &mark, &refund, &list, &retrieve] {
        session.assert_logs().await;
    }
}

#[tokio::test]
async fn a_3d_secure_payment_through_its_lambdas_and_a_failed_promptpay() {
    let app = spawn_app().await;
    app.three_d_secure().await;
    let key = app.alice.test_key.clone();
    let link = app.create_link(&key, TestApp::link_params("3DS")).await;
    let token = link["payment_uri"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let path = format!("/pay/{token}");
    let table = app.ctx.store.table();
    let mut pay = Session::start("pay-link", table);
    let mut bank = Session::start("authentication-page", table);
    let mut answer = Session::start("authenticate-payment", table);
    let mut complete = Session::start("payment-complete", table);
    let mut failed = Session::start("mark-charge-failed", table);
    pay.forbid("security_code=321");
    failed.forbid(&key);

    let started = pay
        .invoke(
            Event::new("POST /pay/{id}", "POST", &path)
                .id(&token)
                .header("origin", ORIGIN)
                .form(&format!(
                    "attempt={}&lang=en&name=Somchai&number=4242424242424242\
                     &expiration_month=12&expiration_year=2031&security_code=321",
                    attempt_key(&token)
                )),
        )
        .await;
    assert_eq!(started.status, 303, "{}", started.text);
    let bank_at = path_of(&started.headers["location"]);
    let page = bank
        .invoke(Event::new("GET /pay/{id}/authorize", "GET", &bank_at).id(&token))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains(">Authenticate</button>"));
    let payment = query(&bank_at)
        .split('&')
        .find_map(|p| p.strip_prefix("payment="))
        .unwrap()
        .to_owned();
    let answered = answer
        .invoke(
            Event::new("POST /pay/{id}/authorize", "POST", &bank_at)
                .id(&token)
                .header("origin", ORIGIN)
                .form(&format!("payment={payment}&action=authenticate&lang=en")),
        )
        .await;
    assert_eq!(answered.status, 303, "{}", answered.text);
    let back = path_of(&answered.headers["location"]);
    let receipt = complete
        .invoke(Event::new("GET /pay/{id}/complete", "GET", &back).id(&token))
        .await;
    assert!(
        receipt.text.contains("Payment successful"),
        "{}",
        receipt.text
    );

    // A PromptPay charge marked failed through its function.
    let other = app
        .create_link(&key, TestApp::link_params("promptpay"))
        .await;
    let other_token = other["payment_uri"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let started = pay
        .invoke(
            Event::new("POST /pay/{id}", "POST", &format!("/pay/{other_token}"))
                .id(&other_token)
                .header("origin", ORIGIN)
                .form(&format!(
                    "attempt={}&lang=en&source_type=promptpay",
                    attempt_key(&other_token)
                )),
        )
        .await;
    assert_eq!(started.status, 303);
    let id = app.get("/charges?order=reverse_chronological").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let marked = failed
        .invoke(
            Event::new(
                "POST /charges/{id}/mark_as_failed",
                "POST",
                &format!("/charges/{id}/mark_as_failed"),
            )
            .id(&id)
            .key(&key),
        )
        .await;
    assert_eq!(
        (marked.status, &marked.body["status"]),
        (200, &json!("failed"))
    );
    for session in [&pay, &bank, &answer, &complete, &failed] {
        session.assert_logs().await;
    }
}

#[tokio::test]
async fn the_sweep_bootstrap_settles_what_is_overdue_on_its_schedule() {
    use shared::domain::attempt::{Attempt, AttemptState, Method, attempt_id};
    let app = spawn_app().await;
    let link = app
        .create_link(&app.alice.test_key, TestApp::link_params("abandoned"))
        .await;
    let owner = app.alice.test();
    let stored = app
        .ctx
        .store
        .get_link(&owner, link["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    // An attempt begun an hour ago that never reached the processor: its function died.
    let past = shared::chrono::Utc::now() - shared::chrono::Duration::hours(1);
    let id = attempt_id(&stored.payment_token, &attempt_key(&stored.payment_token));
    let attempt = Attempt {
        id: id.clone(),
        owner: owner.clone(),
        link: stored.id.clone(),
        payment_token: stored.payment_token.clone(),
        method: Method::Card,
        state: AttemptState::Started,
        gateway_key: id.clone(),
        processor_charge: None,
        charge: None,
        deadline: past + shared::chrono::Duration::minutes(2),
        created: past,
        ip: None,
        fingerprint: None,
        return_uri: String::new(),
        holds_link: true,
        holds_place: false,
    };
    app.ctx
        .store
        .begin_attempt(&attempt, &stored, past)
        .await
        .unwrap();

    let sweep = Rie::start_with(
        "sweep-payments",
        app.ctx.store.table(),
        links_tests::dynamodb_endpoint(),
        &[("AWS_LAMBDA_FUNCTION_TIMEOUT", "60")],
    );
    let swept = sweep
        .invoke_raw(&links_tests::streams::scheduled_event())
        .await;
    assert_eq!(
        (&swept["found"], &swept["settled"], &swept["left"]),
        (&json!(1), &json!(1), &json!(0)),
        "{swept}\n{}",
        sweep.output()
    );
    let settled = app
        .ctx
        .store
        .get_attempt(&owner, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(settled.state, AttemptState::Abandoned);
    let freed = app
        .ctx
        .store
        .get_link(&owner, &stored.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(freed.hold, None, "the link is payable again");
    let again = sweep
        .invoke_raw(&links_tests::streams::scheduled_event())
        .await;
    assert_eq!(again["found"], 0, "{again}");
}
