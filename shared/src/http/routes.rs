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
    MarkChargePaid,
    MarkChargeFailed,
    CreateRefund,
    ListRefunds,
    RetrieveRefund,
    PaymentPage,
    PayLink,
    PaymentQr,
    PaymentComplete,
    AuthenticationPage,
    AuthenticatePayment,
    OmiseWebhook,
    /// `GET /openapi.yaml`: the API's own OpenAPI document.
    ApiDocument,
}

impl Operation {
    /// Whether the operation is public: the buyer's pages, which no secret key opens.
    pub fn is_public(self) -> bool {
        matches!(
            self,
            Self::PaymentPage
                | Self::PayLink
                | Self::PaymentQr
                | Self::PaymentComplete
                | Self::AuthenticationPage
                | Self::AuthenticatePayment
                | Self::OmiseWebhook
                | Self::ApiDocument
        )
    }
}

/// A route as API Gateway writes it: method and path with `{id}` (and `{refund_id}`) parameters.
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
    // Test mode's stand-ins for a PromptPay payment arriving or failing, as Omise's test mode.
    Route {
        method: "POST",
        path: "/charges/{id}/mark_as_paid",
        operation: Operation::MarkChargePaid,
        function: "MarkChargePaidFunction",
    },
    Route {
        method: "POST",
        path: "/charges/{id}/mark_as_failed",
        operation: Operation::MarkChargeFailed,
        function: "MarkChargeFailedFunction",
    },
    Route {
        method: "POST",
        path: "/charges/{id}/refunds",
        operation: Operation::CreateRefund,
        function: "CreateRefundFunction",
    },
    Route {
        method: "GET",
        path: "/charges/{id}/refunds",
        operation: Operation::ListRefunds,
        function: "ListRefundsFunction",
    },
    Route {
        method: "GET",
        path: "/charges/{id}/refunds/{refund_id}",
        operation: Operation::RetrieveRefund,
        function: "RetrieveRefundFunction",
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
    // Where a buyer comes back to from their bank, and where a PromptPay payment waits.
    Route {
        method: "GET",
        path: "/pay/{id}/complete",
        operation: Operation::PaymentComplete,
        function: "PaymentCompleteFunction",
    },
    // The test processor's stand-in 3-D Secure page (test mode only).
    Route {
        method: "GET",
        path: "/pay/{id}/authorize",
        operation: Operation::AuthenticationPage,
        function: "AuthenticationPageFunction",
    },
    Route {
        method: "POST",
        path: "/pay/{id}/authorize",
        operation: Operation::AuthenticatePayment,
        function: "AuthenticatePaymentFunction",
    },
    // Omise's notices of an account's charges (the URL the merchant registers at Omise).
    Route {
        method: "POST",
        path: "/webhooks/omise/{id}",
        operation: Operation::OmiseWebhook,
        function: "OmiseWebhookFunction",
    },
    Route {
        method: "GET",
        path: "/openapi.yaml",
        operation: Operation::ApiDocument,
        function: "ApiDocumentFunction",
    },
];

/// What a method and path resolve to.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    /// A route matched; `params` are its `{…}` segments, by name.
    Found {
        operation: Operation,
        params: Vec<(String, String)>,
    },
    /// The path exists with other methods only.
    MethodNotAllowed(&'static [&'static str]),
    NotFound,
}

/// Matches `path` against a route pattern, returning its `{…}` segments by name on success.
fn match_pattern(pattern: &str, path: &str) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    let mut pattern_segments = pattern.split('/');
    let mut path_segments = path.split('/');
    loop {
        match (pattern_segments.next(), path_segments.next()) {
            (None, None) => return Some(params),
            (Some(expected), Some(segment)) if expected.starts_with('{') && !segment.is_empty() => {
                params.push((
                    expected.trim_matches(['{', '}']).to_owned(),
                    segment.to_owned(),
                ));
            }
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
        "/pay/{id}" | "/pay/{id}/authorize" | "/charges/{id}/refunds" => &["GET", "POST"],
        "/charges/{id}/mark_as_paid" | "/charges/{id}/mark_as_failed" | "/webhooks/omise/{id}" => {
            &["POST"]
        }
        _ => &["GET"],
    }
}

pub fn resolve(method: &str, path: &str) -> Resolution {
    let mut path_exists = None;
    for route in ROUTES {
        if let Some(params) = match_pattern(route.path, path) {
            if route.method == method {
                return Resolution::Found {
                    operation: route.operation,
                    params,
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
                params: vec![]
            }
        );
        assert_eq!(
            resolve("GET", "/links/link_test_1/charges"),
            Resolution::Found {
                operation: Operation::ListLinkCharges,
                params: vec![("id".into(), "link_test_1".into())]
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
                params: vec![("id".into(), "ABC123".into())]
            }
        );
        assert_eq!(
            resolve("GET", "/pay/ABC123/qr.svg"),
            Resolution::Found {
                operation: Operation::PaymentQr,
                params: vec![("id".into(), "ABC123".into())]
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
                params: vec![("id".into(), "chrg_test_1".into())]
            }
        );
        assert_eq!(
            resolve("GET", "/events"),
            Resolution::Found {
                operation: Operation::ListEvents,
                params: vec![]
            }
        );
        assert_eq!(
            resolve("GET", "/events/evnt_test_1"),
            Resolution::Found {
                operation: Operation::RetrieveEvent,
                params: vec![("id".into(), "evnt_test_1".into())]
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
        assert_eq!(
            resolve("GET", "/charges/chrg_test_1/refunds/rfnd_test_2"),
            Resolution::Found {
                operation: Operation::RetrieveRefund,
                params: vec![
                    ("id".into(), "chrg_test_1".into()),
                    ("refund_id".into(), "rfnd_test_2".into())
                ]
            }
        );
        assert_eq!(
            resolve("PUT", "/charges/chrg_test_1/refunds"),
            Resolution::MethodNotAllowed(&["GET", "POST"])
        );
        assert_eq!(
            resolve("GET", "/charges/chrg_test_1/mark_as_paid"),
            Resolution::MethodNotAllowed(&["POST"])
        );
        assert!(Operation::AuthenticatePayment.is_public() && !Operation::CreateRefund.is_public());
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
