//! Lists at any depth: pages, totals and walks checked against the links themselves, over links
//! spread unevenly across days and hours (so that anchors, hour counters and partial hours are
//! all exercised), in both orders, filtered and not.

use links_tests::{TestApp, TestResponse, spawn_app};
use shared::chrono::{DateTime, Duration, SecondsFormat, Utc};
use shared::domain::link::Link;

const HOUR: i64 = 3_600_000;

/// Links created over four days, ending two days ago (long settled): a burst of 1,300 over two
/// hours, 480 spread over others, one hour with a single link, two links on the first millisecond
/// of an hour, one on the last millisecond of a second, and empty hours between.
async fn uneven_links(app: &TestApp) -> Vec<Link> {
    let start = Utc::now() - Duration::days(6);
    let start =
        start - Duration::milliseconds(start.timestamp_millis() % HOUR) + Duration::minutes(17);
    let mut times = Vec::new();
    // A burst: 1,300 links within one hour.
    times.extend((0..1_300).map(|i| start + Duration::milliseconds(i * 2_700)));
    // Sparse: 12 links in each of 40 hours, every other hour.
    for h in 0..40 {
        times
            .extend((0..12).map(|i| start + Duration::hours(2 + 2 * h) + Duration::minutes(4 * i)));
    }
    // A lone link on the last day.
    times.push(start + Duration::hours(90) + Duration::seconds(1));
    // Links at the very first millisecond of an hour, where an hour's last millisecond is easily
    // taken one too far: the burst's second hour and the hour after the burst.
    let hour = start - Duration::minutes(17);
    times.push(hour + Duration::hours(1));
    times.push(hour + Duration::hours(2));
    // And one on the last millisecond of a second, which a `to` of that second covers.
    times.push(hour + Duration::minutes(50) + Duration::milliseconds(999));
    let mut links = app.import_links(&app.alice.test(), &times).await;
    links.sort_by(|a, b| a.id.cmp(&b.id));
    links
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The links of `all` a list with these bounds holds, in its order (`to` covers its whole second).
fn expected(
    all: &[Link],
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    reverse: bool,
) -> Vec<&str> {
    let from_ms = from.map_or(0, |f| f.timestamp_millis());
    let to_ms = to.map_or(i64::MAX, |t| t.timestamp() * 1000 + 999);
    let mut ids: Vec<&str> = all
        .iter()
        .filter(|l| (from_ms..=to_ms).contains(&l.created.timestamp_millis()))
        .map(|l| l.id.as_str())
        .collect();
    if reverse {
        ids.reverse();
    }
    ids
}

async fn page(app: &TestApp, query: &str) -> TestResponse {
    let response = app
        .call("GET", &format!("/links?{query}"))
        .key(&app.alice.test_key)
        .send()
        .await;
    assert_eq!(response.status, 200, "{query}: {:?}", response.body);
    response
}

#[tokio::test]
async fn pages_at_any_offset_match_the_links_in_both_orders_filtered_or_not() {
    // Arrange
    let app = spawn_app().await;
    let all = uneven_links(&app).await;
    let n = all.len();
    // A window that starts and ends inside hours, covering the burst's tail and most sparse hours.
    let from = all[1_000].created - Duration::milliseconds(1);
    let to = all[n - 100].created;
    let windows = [
        (None, None, String::new()),
        (
            Some(from),
            Some(to),
            format!("&from={}&to={}", iso(from), iso(to)),
        ),
    ];
    // Each page once as a walk would meet it (anchors left by the pages before), and once with
    // every anchor forgotten, so that its start is found through the hour counters.
    for (forget, (from, to, filter)) in [false, true]
        .into_iter()
        .flat_map(|f| windows.iter().map(move |w| (f, w)))
    {
        for (reverse, order) in [(false, ""), (true, "&order=reverse_chronological")] {
            let want = expected(&all, *from, *to, reverse);
            for offset in [
                0,
                1,
                99,
                100,
                999,
                1_000,
                1_001,
                1_299,
                1_500,
                want.len() - 3,
                want.len(),
                100_000,
            ] {
                // Act
                if forget {
                    app.ctx
                        .store
                        .forget_anchors(&app.alice.test())
                        .await
                        .unwrap();
                }
                let got = page(&app, &format!("limit=7&offset={offset}{filter}{order}")).await;

                // Assert
                let end = (offset + 7).min(want.len());
                let slice = want.get(offset..end).unwrap_or_default();
                assert_eq!(
                    got.ids(),
                    slice,
                    "offset {offset}{filter}{order}, anchors forgotten: {forget}"
                );
                assert_eq!(
                    got.body["total"],
                    want.len(),
                    "offset {offset}{filter}{order}"
                );
                assert_eq!(got.body["offset"], offset);
            }
        }
    }
}

#[tokio::test]
async fn filtered_totals_count_exactly_whatever_the_window() {
    let app = spawn_app().await;
    let all = uneven_links(&app).await;
    let n = all.len();
    // Windows ending and starting on links, between links, on hour boundaries, inside one hour,
    // and empty ones.
    let at = |i: usize| all[i].created;
    let hour_of = |t: DateTime<Utc>| t - Duration::milliseconds(t.timestamp_millis() % HOUR);
    let windows = vec![
        (at(0), at(n - 1)),
        (at(1), at(n - 2)),
        (at(10), at(20)),
        (at(500), at(500)),
        (
            hour_of(at(0)),
            hour_of(at(0)) + Duration::milliseconds(HOUR - 1),
        ),
        (hour_of(at(1_400)), at(1_700)),
        (
            at(1_299) + Duration::milliseconds(1),
            hour_of(at(1_305)) + Duration::hours(1),
        ),
        (at(0) - Duration::days(30), at(0) - Duration::days(29)),
        (
            at(n - 1) + Duration::seconds(2),
            at(n - 1) + Duration::hours(5),
        ),
        (at(0) - Duration::days(1), at(n - 1) + Duration::days(1)),
        // Most of one hour, so that the two parts outside it are counted link by link: from a
        // link's exact millisecond, to a second whose last millisecond holds a link.
        (at(10), hour_of(at(0)) + Duration::minutes(50)),
        // Ending in most of an hour (its remainder counted link by link, from just after a link
        // on a second's last millisecond, to the hour's end, before a link on the next hour's
        // first millisecond).
        (
            at(0) - Duration::days(1),
            hour_of(at(0)) + Duration::minutes(50),
        ),
        // Starting late in an hour, so that its few minutes are counted link by link, with a
        // link on the next hour's first millisecond just past them.
        (
            hour_of(at(0)) + Duration::minutes(110),
            at(n - 1) + Duration::days(1),
        ),
        (
            hour_of(at(0)) + Duration::minutes(110),
            hour_of(at(0)) + Duration::minutes(180),
        ),
    ];
    for (from, to) in windows {
        let want = expected(&all, Some(from), Some(to), false);
        let got = page(
            &app,
            &format!("limit=100&from={}&to={}", iso(from), iso(to)),
        )
        .await;
        assert_eq!(
            got.body["total"],
            want.len(),
            "{} .. {}",
            iso(from),
            iso(to)
        );
        assert_eq!(
            got.ids(),
            want[..want.len().min(100)],
            "{} .. {}",
            iso(from),
            iso(to)
        );
    }
}

#[tokio::test]
async fn a_walk_sees_every_link_once_and_leaves_anchors_for_the_next() {
    let app = spawn_app().await;
    let all = uneven_links(&app).await;
    let want: Vec<&str> = all.iter().map(|l| l.id.as_str()).collect();
    for order in ["chronological", "reverse_chronological"] {
        // A closed window in the past, so that reverse walks may anchor too.
        let to = iso(all.last().unwrap().created + Duration::seconds(1));
        let mut seen = Vec::new();
        let mut offset = 0;
        loop {
            let got = page(
                &app,
                &format!("limit=100&offset={offset}&order={order}&to={to}"),
            )
            .await;
            let ids = got.ids();
            if ids.is_empty() {
                break;
            }
            offset += ids.len();
            seen.extend(ids);
        }
        let mut want = want.clone();
        if order == "reverse_chronological" {
            want.reverse();
        }
        assert_eq!(seen, want, "{order}");
    }
    let anchors = app
        .ctx
        .store
        .client()
        .query()
        .table_name(app.ctx.store.table())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ANCHOR#{}#test", app.alice.id)),
        )
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .unwrap();
    assert!(anchors.count > 20, "pages left anchors: {}", anchors.count);
}

#[tokio::test]
async fn a_chronological_walk_during_creates_sees_every_older_link_exactly_once() {
    let app = spawn_app().await;
    let all = uneven_links(&app).await;
    let key = app.alice.test_key.clone();
    let mut seen = Vec::new();
    let mut offset = 0;
    let mut created = 0;
    loop {
        let got = page(&app, &format!("limit=100&offset={offset}")).await;
        let ids = got.ids();
        if ids.is_empty() {
            break;
        }
        offset += ids.len();
        seen.extend(ids);
        // New links arrive between pages (until the walk reaches them), after every older one.
        if offset < all.len() {
            app.create_link(&key, TestApp::link_params("during the walk"))
                .await;
            created += 1;
        }
    }
    let older: Vec<&String> = seen.iter().take(all.len()).collect();
    let want: Vec<&String> = all.iter().map(|l| &l.id).collect();
    assert_eq!(older, want);
    assert_eq!(
        seen.len() - all.len(),
        created,
        "the new links come last, once each"
    );
}

#[tokio::test]
async fn anchors_left_by_a_wider_window_never_lead_a_narrower_one_astray() {
    // Arrange: a whole chronological walk leaves anchors all along the unfiltered list.
    let app = spawn_app().await;
    let all = uneven_links(&app).await;
    let mut offset = 0;
    while !page(&app, &format!("limit=100&offset={offset}"))
        .await
        .ids()
        .is_empty()
    {
        offset += 100;
    }
    // The same `from` (the epoch), with a `to` that ends the window among those anchors.
    let to = all[550].created;
    let want = expected(&all, None, Some(to), true);
    for offset in [1, 30, 49, 50, 51, 150, 549] {
        // Act
        let got = page(
            &app,
            &format!(
                "limit=10&offset={offset}&order=reverse_chronological&to={}",
                iso(to)
            ),
        )
        .await;

        // Assert
        let end = (offset + 10).min(want.len());
        assert_eq!(got.ids(), want[offset..end], "offset {offset}");
    }
}

#[tokio::test]
async fn recounting_rebuilds_the_counters_of_links_written_without_them() {
    // Arrange: links as an earlier version left them, with none of today's counters.
    let app = spawn_app().await;
    let all = uneven_links(&app).await;
    let owner = app.alice.test();
    let store = &app.ctx.store;
    let pk = format!("ACCT#{}#test", app.alice.id);
    let derived = store
        .client()
        .query()
        .table_name(store.table())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(pk.clone()),
        )
        .send()
        .await
        .unwrap();
    for item in derived.items() {
        let sk = item["sk"].as_s().unwrap();
        if !sk.starts_with("LINK#") {
            store
                .client()
                .delete_item()
                .table_name(store.table())
                .key("pk", item["pk"].clone())
                .key("sk", item["sk"].clone())
                .send()
                .await
                .unwrap();
        }
    }
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
        .item(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("COUNT#3".into()),
        )
        .item(
            "links",
            aws_sdk_dynamodb::types::AttributeValue::N("7".into()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        page(&app, "limit=1").await.body["total"],
        0,
        "no counters, no total"
    );

    // Act
    let counted = store.recount_links(&owner).await.unwrap();

    // Assert
    assert_eq!(counted, all.len() as u64);
    assert_eq!(app.assert_counters_agree(&owner).await, all.len() as u64);
    let deep = page(&app, "limit=5&offset=1500").await;
    assert_eq!(deep.body["total"], all.len());
    let want: Vec<&str> = all[1500..1505].iter().map(|l| l.id.as_str()).collect();
    assert_eq!(deep.ids(), want);
}

#[tokio::test]
async fn an_import_behind_existing_anchors_forgets_them() {
    // Arrange: a walk leaves anchors; then older links are imported in front of them.
    let app = spawn_app().await;
    let all = uneven_links(&app).await;
    let mut offset = 0;
    while !page(&app, &format!("limit=100&offset={offset}"))
        .await
        .ids()
        .is_empty()
    {
        offset += 100;
    }
    let older = app
        .import_links(
            &app.alice.test(),
            &[
                all[0].created - Duration::days(1),
                all[0].created - Duration::hours(1),
            ],
        )
        .await;

    // Act
    let got = page(&app, "limit=3&offset=1000").await;

    // Assert: positions moved by two, and the page knows it.
    let mut everything: Vec<&Link> = all.iter().chain(older.iter()).collect();
    everything.sort_by(|a, b| a.id.cmp(&b.id));
    let want: Vec<&str> = everything[1000..1003]
        .iter()
        .map(|l| l.id.as_str())
        .collect();
    assert_eq!(got.ids(), want);
}

#[tokio::test]
async fn a_deep_page_counts_from_the_nearer_end_of_its_hour() {
    // Arrange: with no anchor near, a page more than ANCHOR_REACH from the window's edge is found
    // through the hour counters, then by counting within its hour from the nearer end. The
    // burst's first hour holds positions 0..=956, its second 957..=1301 (one link on its first
    // millisecond).
    let app = spawn_app().await;
    let all = uneven_links(&app).await;
    let owner = app.alice.test();
    let store = shared::store::Store::new(links_tests::local_client(), app.ctx.store.table())
        .tracking_usage();
    let read = |offset: usize, order| {
        let (store, owner) = (&store, &owner);
        async move {
            store.forget_anchors(owner).await.unwrap();
            let before = store.usage().read_units();
            let query = shared::domain::list::ListQuery {
                offset: offset as u64,
                limit: 1,
                order,
                ..Default::default()
            };
            let page = store.list_links(owner, &query, Utc::now()).await.unwrap();
            (
                page.links[0].id.clone(),
                store.usage().read_units() - before,
            )
        }
    };
    use shared::domain::list::Order::{Chronological, ReverseChronological};

    // Act: 12 members from the second hour's end (334 from its start); in reverse, 5 from the
    // first hour's start (951 from its end).
    let (forward, forward_units) = read(1_290, Chronological).await;
    let (reverse, reverse_units) = read(all.len() - 1 - 4, ReverseChronological).await;

    // Assert: the right members, found by counting a handful of links rather than hundreds (each
    // read unit covers about 16 links; counting from the far end would cost 20 to 60 units).
    assert_eq!(forward, all[1_290].id);
    assert_eq!(reverse, all[4].id);
    assert!(forward_units <= 8.0, "{forward_units} read units");
    assert!(reverse_units <= 8.0, "{reverse_units} read units");
}

#[tokio::test]
async fn a_deep_page_in_a_very_busy_hour_counts_across_dynamodbs_pages() {
    // Arrange: 9,000 links of about 1 KB in one hour. Counting to the middle of it reads some
    // 4,500 links, several times the 1 MB DynamoDB reads per Query, so the count takes several.
    let app = spawn_app().await;
    let hour = Utc::now() - Duration::days(3);
    let hour = hour - Duration::milliseconds(hour.timestamp_millis() % HOUR);
    // Long descriptions, so that the count crosses DynamoDB's 1 MB pages several times.
    let new = shared::domain::link::NewLink {
        amount: 10_000,
        currency: shared::domain::currency::Currency::find("thb").unwrap(),
        title: "busy".into(),
        description: "ค".repeat(300),
        multiple: false,
        expires_at: None,
        after_payment_uri: None,
        usage_limit: None,
        metadata: None,
    };
    let mut all: Vec<Link> = (0..9_000)
        .map(|i| {
            Link::new(
                &app.alice.test(),
                &new,
                hour + Duration::milliseconds(i * 400),
            )
        })
        .collect();
    app.ctx.store.import_links(&all).await.unwrap();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    let ids: Vec<&str> = all.iter().map(|l| l.id.as_str()).collect();

    for (offset, order, want) in [
        (4_400, "", &ids[4_400..4_403]),
        (4_600, "", &ids[4_600..4_603]),
        (4_400, "&order=reverse_chronological", &ids[4_597..4_600]),
    ] {
        // Act
        app.ctx
            .store
            .forget_anchors(&app.alice.test())
            .await
            .unwrap();
        let got = page(&app, &format!("limit=3&offset={offset}{order}")).await;

        // Assert
        let mut want = want.to_vec();
        if !order.is_empty() {
            want.reverse();
        }
        assert_eq!(got.ids(), want, "offset {offset}{order}");
    }
}

#[tokio::test]
async fn a_walk_reads_each_link_about_once_and_anchors_only_settled_links() {
    // Arrange
    let app = spawn_app().await;
    let all = uneven_links(&app).await;
    let owner = app.alice.test();
    let store = shared::store::Store::new(links_tests::local_client(), app.ctx.store.table())
        .tracking_usage();

    // Act: walk every link, 100 at a time, in both orders, as the Omise clients page.
    let mut units = Vec::new();
    for order in [
        shared::domain::list::Order::Chronological,
        shared::domain::list::Order::ReverseChronological,
    ] {
        let before = store.usage().read_units();
        let mut seen = 0;
        loop {
            let query = shared::domain::list::ListQuery {
                offset: seen as u64,
                limit: 100,
                order,
                to: Some(Utc::now() - Duration::days(1)),
                ..Default::default()
            };
            let page = store.list_links(&owner, &query, Utc::now()).await.unwrap();
            if page.links.is_empty() {
                break;
            }
            seen += page.links.len();
        }
        assert_eq!(seen, all.len());
        units.push(store.usage().read_units() - before);
    }
    // Reading the 1,785 links once costs about 100 units; each page adds its total and anchor
    // reads. Without anchors (each page counting its way to its start) a walk costs 430-520.
    assert!(units.iter().all(|u| *u <= 200.0), "{units:?} read units");

    // Anchors are taken only at links older than SETTLE: a page over links just created leaves
    // none, since a create still in flight could land before them.
    let fresh = spawn_app().await;
    for i in 0..25 {
        fresh
            .create_link(
                &fresh.alice.test_key,
                TestApp::link_params(&format!("fresh {i}")),
            )
            .await;
    }
    let got = page(&fresh, "limit=10&offset=10").await;
    assert_eq!(got.ids().len(), 10);
    let anchors = fresh.items_where("pk", "ANCHOR#").await.len();
    assert_eq!(anchors, 0);
}
