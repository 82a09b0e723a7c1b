//! A charge's life past the first payment: 3-D Secure, PromptPay, refunds and the sweep.

use crate::PAYMENT_BASE_URL;
use crate::bench::Bench;
use crate::measure::Cost;
use crate::payments::card_form;
use crate::report::{median, ms, percentile};
use shared::chrono::{Duration as Span, Utc};
use shared::domain::principal::Principal;

/// What each step of a charge's life costs: 3-D Secure, PromptPay, refunds and the sweep, each
/// through the real handlers (the sweep as its function runs it), with its DynamoDB requests,
/// round trips and capacity; the PromptPay page's weight; and latency medians.
pub(crate) async fn lifecycle(bench: &Bench, key: &str, owner: &Principal) {
    let keys = bench.ctx.attempt_keys().await.expect("attempt keys");
    let new_link = |title: &str| {
        format!(
            r#"{{"amount":35000,"currency":"thb","title":"{title}","description":"ชาไทย","multiple":true}}"#
        )
    };
    let page_of = |link: &serde_json::Value| {
        let uri = link["payment_uri"].as_str().unwrap();
        format!("/pay/{}", uri.rsplit('/').next().unwrap())
    };
    let promptpay = |path: &str| {
        format!(
            "attempt={}&lang=th&source_type=promptpay",
            keys.issue(path.trim_start_matches("/pay/"), Utc::now())
        )
    };
    let payment_of = |to: &str| {
        to.split("payment=")
            .nth(1)
            .and_then(|p| p.split('&').next())
            .unwrap()
            .to_owned()
    };
    let mut rows = Vec::new();
    let mut row = |label: &str, route: &str, status: u16, c: &Cost| {
        rows.push(format!(
            "| {label} | `{route}` | {status} | {} | {} | {:.1} | {:.1} |",
            c.requests, c.trips, c.read, c.write
        ));
    };

    // 3-D Secure: started (attempt, processor, pending charge), the stand-in bank page, the
    // answer (processor, completion), and the return page.
    bench
        .store()
        .set_three_d_secure(owner, true)
        .await
        .expect("3-D Secure on");
    let (link, _) = bench
        .call(key, "POST", "/links", Some(&new_link("3-D Secure")), &[])
        .await;
    let path = page_of(&link);
    let (status, _, bank, c) = bench
        .public_with_location(
            "POST",
            &path,
            Some(&card_form(&keys, &path, "4242424242424242")),
        )
        .await;
    row(
        "3-D Secure started: attempt, processor, pending charge",
        "POST /pay/{id}",
        status,
        &c,
    );
    let bank = bank.expect("a redirect to the bank");
    let (status, _, c) = bench.public("GET", &bank, None).await;
    row(
        "the stand-in bank page",
        "GET /pay/{id}/authorize",
        status,
        &c,
    );
    let payment = payment_of(&bank);
    let answer = format!("payment={payment}&action=authenticate&lang=th");
    let (status, _, back, c) = bench
        .public_with_location("POST", &bank, Some(&answer))
        .await;
    row(
        "authenticated: processor, charge completed",
        "POST /pay/{id}/authorize",
        status,
        &c,
    );
    let (status, _, c) = bench.public("GET", &back.expect("a return"), None).await;
    row(
        "the return page (the receipt)",
        "GET /pay/{id}/complete",
        status,
        &c,
    );

    // PromptPay: started, its page waiting (one refresh), its QR image, marked paid, the page.
    bench
        .store()
        .set_three_d_secure(owner, false)
        .await
        .expect("3-D Secure off");
    let (link, _) = bench
        .call(key, "POST", "/links", Some(&new_link("PromptPay")), &[])
        .await;
    let path = page_of(&link);
    let (status, _, waiting, c) = bench
        .public_with_location("POST", &path, Some(&promptpay(&path)))
        .await;
    row(
        "PromptPay started: attempt, processor, pending charge",
        "POST /pay/{id}",
        status,
        &c,
    );
    let waiting = waiting.expect("a redirect to the QR page");
    let (status, page, c) = bench.public("GET", &waiting, None).await;
    row(
        "the QR page, waiting (each refresh)",
        "GET /pay/{id}/complete",
        status,
        &c,
    );
    let qr_page_bytes = page.len();
    let (charges, _) = bench
        .call(
            key,
            "GET",
            &format!("/links/{}/charges", link["id"].as_str().unwrap()),
            None,
            &[],
        )
        .await;
    let charge = charges["data"][0]["id"].as_str().unwrap().to_owned();
    let download = charges["data"][0]["source"]["scannable_code"]["image"]["download_uri"]
        .as_str()
        .unwrap();
    let qr_path = format!(
        "/pay{}",
        download
            .strip_prefix(PAYMENT_BASE_URL)
            .expect("under the base")
    );
    let (status, svg, c) = bench.public("GET", &qr_path, None).await;
    row("its QR image", "GET /pay/{id}/qr.svg?payment=…", status, &c);
    let qr_bytes = svg.len();
    let (_, c) = bench
        .call(
            key,
            "POST",
            &format!("/charges/{charge}/mark_as_paid"),
            None,
            &[],
        )
        .await;
    row(
        "marked paid (test mode): processor, charge completed",
        "POST /charges/{id}/mark_as_paid",
        200,
        &c,
    );
    let (status, receipt, c) = bench.public("GET", &waiting, None).await;
    row(
        "the QR page after payment (the receipt)",
        "GET /pay/{id}/complete",
        status,
        &c,
    );
    let receipt_bytes = receipt.len();

    // A refund of a tenth, and the charge's refunds.
    let (_, c) = bench
        .call(
            key,
            "POST",
            &format!("/charges/{charge}/refunds"),
            Some(r#"{"amount":3500}"#),
            &[],
        )
        .await;
    row(
        "refund: set aside, processor, recorded",
        "POST /charges/{id}/refunds",
        200,
        &c,
    );
    let (_, c) = bench
        .call(key, "GET", &format!("/charges/{charge}/refunds"), None, &[])
        .await;
    row(
        "list a charge's refunds",
        "GET /charges/{id}/refunds",
        200,
        &c,
    );

    // The sweep: with nothing due, and expiring one abandoned QR code.
    let (_, c) = bench.cost(bench.ctx.payments().sweep(Utc::now())).await;
    row("sweep, nothing overdue", "(schedule)", 200, &c);
    bench.public("POST", &path, Some(&promptpay(&path))).await;
    bench.ctx.clock.advance(Span::minutes(16));
    let (swept, c) = bench
        .cost(bench.ctx.payments().sweep(bench.ctx.now()))
        .await;
    assert_eq!(swept.expect("a sweep").settled, 1);
    row(
        "sweep expiring one abandoned QR code",
        "(schedule)",
        200,
        &c,
    );

    // Latency: 50 of each, one at a time, on a multiple-use link.
    let (link, _) = bench
        .call(key, "POST", "/links", Some(&new_link("latency")), &[])
        .await;
    let path = page_of(&link);
    let (mut starts, mut refreshes, mut marks) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..50 {
        let (status, _, waiting, c) = bench
            .public_with_location("POST", &path, Some(&promptpay(&path)))
            .await;
        assert_eq!(status, 303);
        starts.push(c.time);
        let waiting = waiting.unwrap();
        let (status, _, c) = bench.public("GET", &waiting, None).await;
        assert_eq!(status, 200);
        refreshes.push(c.time);
        let (charges, _) = bench
            .call(
                key,
                "GET",
                "/charges?limit=1&order=reverse_chronological",
                None,
                &[],
            )
            .await;
        let charge = charges["data"][0]["id"].as_str().unwrap().to_owned();
        let (_, c) = bench
            .call(
                key,
                "POST",
                &format!("/charges/{charge}/mark_as_paid"),
                None,
                &[],
            )
            .await;
        marks.push(c.time);
    }
    println!(
        "| step | route | status | DynamoDB requests | round trips | read units | write units (DynamoDB Local) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for row in &rows {
        println!("{row}");
    }
    println!();
    println!(
        "PromptPay page weight (uncompressed, the whole page with its QR code inline): waiting {qr_page_bytes} bytes, receipt {receipt_bytes} bytes; the QR image alone {qr_bytes} bytes."
    );
    println!();
    println!("| in-process against DynamoDB Local, 50 each | median | 90th percentile |");
    println!("|---|---:|---:|");
    for (label, samples) in [
        (
            "PromptPay started (attempt, processor, pending charge)",
            starts,
        ),
        ("its page, waiting (one refresh)", refreshes),
        ("marked paid (completion)", marks),
    ] {
        println!(
            "| {label} | {} | {} |",
            ms(median(samples.clone())),
            ms(percentile(samples, 0.9))
        );
    }
}
