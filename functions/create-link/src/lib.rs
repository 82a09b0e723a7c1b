//! `POST /links`: creates a payment link.

use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use shared::domain::link::Link;
use shared::http::request::{body_params, idempotency_key};
use shared::http::response::{answer, json_text_response};
use shared::store::CreateOutcome;
use shared::validate::{EXPIRES_AT_PAST, parse_new_link, parse_retried_new_link};
use shared::{ApiError, AppContext};

/// Authenticates, validates the body (JSON or form), then writes the link in one DynamoDB round
/// trip. Answers `200` with the new link, as Omise does.
///
/// With an `Idempotency-Key` header, the same key and parameters within 24 hours answer the
/// first create's response again (with `Idempotent-Replayed: true`) and create nothing; the same
/// key with other parameters answers `422 idempotency_key_reused`. That holds for a retry whose
/// `expires_at` has passed since the first create too: it replays the first answer, though a
/// new create at that time would be refused (one GetItem more, on that path only).
pub async fn create_link(ctx: &AppContext, req: Request) -> Response<Body> {
    answer(handle(ctx, req)).await
}

async fn handle(ctx: &AppContext, req: Request) -> Result<Response<Body>, ApiError> {
    let owner = ctx.authenticate(&req).await?;
    let key = idempotency_key(&req)?;
    let params = body_params(&req)?;
    let new = match (parse_new_link(&params, ctx.now()), &key) {
        (Ok(new), _) => new,
        (Err(ApiError::BadRequest(why)), Some(key)) if why == EXPIRES_AT_PAST => {
            let retried = parse_retried_new_link(&params, ctx.now())?;
            return match ctx
                .store
                .replay_link_create(&owner, key, &retried, ctx.now())
                .await?
            {
                Some(body) => Ok(replayed(body)),
                None => Err(ApiError::BadRequest(why)),
            };
        }
        (Err(refused), _) => return Err(refused),
    };
    let base = ctx.payment_base(&req)?;
    // The response is written before the link is stored, so an idempotency record can hold it.
    let render = |link: &Link| {
        serde_json::to_string(&link.view(&base, link.created)).map_err(ApiError::internal)
    };
    match ctx
        .store
        .create_link(&owner, &new, key.as_ref(), render)
        .await?
    {
        CreateOutcome::Created { link, body } => {
            tracing::info!(link = %link.id, "link created");
            Ok(json_text_response(StatusCode::OK, body))
        }
        CreateOutcome::Replayed { body } => Ok(replayed(body)),
    }
}

/// The first create's answer again, for a retry with its idempotency key.
fn replayed(body: String) -> Response<Body> {
    tracing::info!("link create replayed for its idempotency key");
    let mut response = json_text_response(StatusCode::OK, body);
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
