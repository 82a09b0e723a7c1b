use links_tests::spawn_app;
use shared::http::routes::ROUTES;
use std::collections::BTreeSet;

/// `(function logical id, CodeUri, method, path)` of every HttpApi event in template.yaml, read
/// line by line: enough for the template's own regular layout, with no YAML dependency. An HttpApi
/// event without Path and Method is SAM's binding of the `$default` route.
fn template_routes() -> Vec<(String, String, String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml");
    let mut routes = Vec::new();
    let (mut resource, mut code_uri, mut path) = (String::new(), String::new(), None::<String>);
    let mut unrouted_events = 0;
    let finish_resource =
        |resource: &str, code_uri: &str, unrouted: &mut u32, routes: &mut Vec<_>| {
            for _ in 0..std::mem::take(unrouted) {
                routes.push((
                    resource.to_owned(),
                    code_uri.to_owned(),
                    "ANY".to_owned(),
                    "$default".to_owned(),
                ));
            }
        };
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if indent == 2 && trimmed.ends_with(':') && !trimmed.starts_with('#') {
            finish_resource(&resource, &code_uri, &mut unrouted_events, &mut routes);
            resource = trimmed.trim_end_matches(':').to_owned();
            code_uri.clear();
        } else if trimmed == "Type: HttpApi" {
            unrouted_events += 1;
        } else if let Some(uri) = trimmed.strip_prefix("CodeUri:") {
            code_uri = uri.trim().to_owned();
        } else if let Some(p) = trimmed.strip_prefix("Path:") {
            path = Some(p.trim().trim_matches(|c| c == '\'' || c == '"').to_owned());
        } else if let Some(m) = trimmed.strip_prefix("Method:") {
            let method = m
                .trim()
                .trim_matches(|c| c == '\'' || c == '"')
                .to_ascii_uppercase();
            routes.push((
                resource.clone(),
                code_uri.clone(),
                method,
                path.take().expect("Path before Method"),
            ));
            unrouted_events -= 1;
        }
    }
    finish_resource(&resource, &code_uri, &mut unrouted_events, &mut routes);
    routes
}

#[test]
fn template_routes_are_exactly_the_served_routes() {
    let template = template_routes();
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    let declared: BTreeSet<(String, String)> = template
        .iter()
        .filter(|r| r.3 != "$default")
        .map(|r| (r.2.clone(), r.3.clone()))
        .collect();
    assert_eq!(declared, served);
    for route in ROUTES {
        let entry = template
            .iter()
            .find(|r| r.2 == route.method && r.3 == route.path)
            .unwrap();
        assert_eq!(entry.0, route.function, "{route:?}");
    }
    let fallback: Vec<_> = template.iter().filter(|r| r.3 == "$default").collect();
    assert_eq!(fallback.len(), 1, "one $default route");
    assert_eq!(fallback[0].1, "functions/not-found");
}

/// Functions that no HTTP route invokes: webhook delivery runs on the table's stream and a
/// schedule.
const NOT_BEHIND_THE_API: &[&str] = &["deliver-webhooks", "sweep-payments"];

#[test]
fn every_function_folder_is_deployed_by_the_template() {
    let template = template_routes();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let routed = template.iter().any(|r| r.1 == format!("functions/{name}"));
        if NOT_BEHIND_THE_API.contains(&name.as_str()) {
            assert!(!routed, "functions/{name} is not meant to have a route");
            assert!(
                text.contains(&format!("CodeUri: functions/{name}\n")),
                "functions/{name} is not in template.yaml"
            );
        } else {
            assert!(routed, "functions/{name} has no route in template.yaml");
        }
    }
}

#[tokio::test]
async fn unknown_routes_answer_an_omise_not_found() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/nope",
        "/links/",
        "/links/x/y",
        "/charges/x/y",
        "/pay/",
        "/pay/x/y",
    ] {
        let response = app.call("GET", path).send().await;
        assert!(
            response
                .assert_error(404, "not_found")
                .contains("was not found"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_wrong_method_answers_405_with_allow() {
    let app = spawn_app().await;
    for (method, path, allow) in [
        ("PUT", "/links", "GET, POST"),
        ("PATCH", "/links/link_test_1", "GET, DELETE"),
        ("POST", "/links/x/charges", "GET"),
        ("DELETE", "/pay/ABC", "GET, POST"),
        ("POST", "/charges", "GET"),
    ] {
        let response = app.call(method, path).key(&app.alice.test_key).send().await;
        response.assert_error(405, "method_not_allowed");
        assert_eq!(response.headers["allow"], allow);
    }
}
