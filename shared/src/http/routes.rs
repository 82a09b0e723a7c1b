//! The API's routes: the one list that template.yaml, the local server and the `$default`
//! (not-found) function must all agree with. A test checks template.yaml against it.

/// The operations, one Lambda function each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    CreateLink,
    ListLinks,
    RetrieveLink,
    DestroyLink,
    ListLinkCharges,
    ListCharges,
    RetrieveCharge,
    ListEvents,
    RetrieveEvent,
    PaymentPage,
    PayLink,
    PaymentQr,
}

impl Operation {
    /// Whether the operation is public: the buyer's payment page, which no secret key opens.
    pub fn is_public(self) -> bool {
        matches!(self, Self::PaymentPage | Self::PayLink | Self::PaymentQr)
    }
}

/// A route as API Gateway writes it: method and path with `{id}` parameters.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub operation: Operation,
    /// The function's logical id in template.yaml.
    pub function: &'static str,
}

pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/links",
        operation: Operation::CreateLink,
        function: "CreateLinkFunction",
    },
    Route {
        method: "GET",
        path: "/links",
        operation: Operation::ListLinks,
        function: "ListLinksFunction",
    },
    Route {
        method: "GET",
        path: "/links/{id}",
        operation: Operation::RetrieveLink,
        function: "RetrieveLinkFunction",
    },
    Route {
        method: "DELETE",
        path: "/links/{id}",
        operation: Operation::DestroyLink,
        function: "DestroyLinkFunction",
    },
    Route {
        method: "GET",
        path: "/links/{id}/charges",
        operation: Operation::ListLinkCharges,
        function: "ListLinkChargesFunction",
    },
    Route {
        method: "GET",
        path: "/charges",
        operation: Operation::ListCharges,
        function: "ListChargesFunction",
    },
    Route {
        method: "GET",
        path: "/charges/{id}",
        operation: Operation::RetrieveCharge,
        function: "RetrieveChargeFunction",
    },
    Route {
        method: "GET",
        path: "/events",
        operation: Operation::ListEvents,
        function: "ListEventsFunction",
    },
    Route {
        method: "GET",
        path: "/events/{id}",
        operation: Operation::RetrieveEvent,
        function: "RetrieveEventFunction",
    },
    // The payment page: `{id}` is the link's payment token, the last segment of `payment_uri`.
    Route {
        method: "GET",
        path: "/pay/{id}",
        operation: Operation::PaymentPage,
        function: "PaymentPageFunction",
    },
    Route {
        method: "POST",
        path: "/pay/{id}",
        operation: Operation::PayLink,
        function: "PayLinkFunction",
    },
    Route {
        method: "GET",
        path: "/pay/{id}/qr.svg",
        operation: Operation::PaymentQr,
        function: "PaymentQrFunction",
    },
];

/// What a method and path resolve to.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    /// A route matched; `id` is the `{id}` segment if the route has one.
    Found {
        operation: Operation,
        id: Option<String>,
    },
    /// The path exists with other methods only.
    MethodNotAllowed(&'static [&'static str]),
    NotFound,
}

/// Matches `path` against a route pattern, returning the `{id}` segment on success.
fn match_pattern(pattern: &str, path: &str) -> Option<Option<String>> {
    let mut id = None;
    let mut pattern_segments = pattern.split('/');
    let mut path_segments = path.split('/');
    loop {
        match (pattern_segments.next(), path_segments.next()) {
            (None, None) => return Some(id),
            (Some("{id}"), Some(segment)) if !segment.is_empty() => id = Some(segment.to_owned()),
            (Some(expected), Some(segment)) if expected == segment => {}
            _ => return None,
        }
    }
}

/// The methods each path pattern accepts, for `Allow` headers.
fn allowed_methods(pattern: &str) -> &'static [&'static str] {
    match pattern {
        "/links" => &["GET", "POST"],
        "/links/{id}" => &["GET", "DELETE"],
        "/pay/{id}" => &["GET", "POST"],
        _ => &["GET"],
    }
}

pub fn resolve(method: &str, path: &str) -> Resolution {
    let mut path_exists = None;
    for route in ROUTES {
        if let Some(id) = match_pattern(route.path, path) {
            if route.method == method {
                return Resolution::Found {
                    operation: route.operation,
                    id,
                };
            }
            path_exists = Some(route.path);
        }
    }
    match path_exists {
        Some(pattern) => Resolution::MethodNotAllowed(allowed_methods(pattern)),
        None => Resolution::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_resolve_with_their_id() {
        assert_eq!(
            resolve("POST", "/links"),
            Resolution::Found {
                operation: Operation::CreateLink,
                id: None
            }
        );
        assert_eq!(
            resolve("GET", "/links/link_test_1/charges"),
            Resolution::Found {
                operation: Operation::ListLinkCharges,
                id: Some("link_test_1".into())
            }
        );
        assert_eq!(
            resolve("PUT", "/links/x"),
            Resolution::MethodNotAllowed(&["GET", "DELETE"])
        );
        assert_eq!(resolve("GET", "/links/"), Resolution::NotFound);
        assert_eq!(resolve("GET", "/nope"), Resolution::NotFound);
        assert_eq!(resolve("GET", "/links/a/b"), Resolution::NotFound);
        assert_eq!(
            resolve("POST", "/pay/ABC123"),
            Resolution::Found {
                operation: Operation::PayLink,
                id: Some("ABC123".into())
            }
        );
        assert_eq!(
            resolve("GET", "/pay/ABC123/qr.svg"),
            Resolution::Found {
                operation: Operation::PaymentQr,
                id: Some("ABC123".into())
            }
        );
        assert_eq!(
            resolve("DELETE", "/pay/ABC123"),
            Resolution::MethodNotAllowed(&["GET", "POST"])
        );
        assert_eq!(
            resolve("GET", "/charges/chrg_test_1"),
            Resolution::Found {
                operation: Operation::RetrieveCharge,
                id: Some("chrg_test_1".into())
            }
        );
        assert_eq!(
            resolve("GET", "/events"),
            Resolution::Found {
                operation: Operation::ListEvents,
                id: None
            }
        );
        assert_eq!(
            resolve("GET", "/events/evnt_test_1"),
            Resolution::Found {
                operation: Operation::RetrieveEvent,
                id: Some("evnt_test_1".into())
            }
        );
        assert_eq!(
            resolve("DELETE", "/events/evnt_test_1"),
            Resolution::MethodNotAllowed(&["GET"])
        );
        assert_eq!(
            resolve("GET", "/events/evnt_test_1/x"),
            Resolution::NotFound
        );
        assert!(Operation::PaymentPage.is_public() && !Operation::ListCharges.is_public());
        assert!(!Operation::ListEvents.is_public() && !Operation::RetrieveEvent.is_public());
    }

    #[test]
    fn allowed_methods_agree_with_the_route_table() {
        for route in ROUTES {
            assert!(
                allowed_methods(route.path).contains(&route.method),
                "{route:?}"
            );
        }
    }
}
