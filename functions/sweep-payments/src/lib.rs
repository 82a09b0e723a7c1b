//! The payments sweep, run by a schedule every minute: settles every attempt and refund whose
//! deadline passed unsettled (see `shared::payments`). A function that died between two steps of
//! a payment, a processor that did not answer, a 3-D Secure page abandoned, a PromptPay QR code
//! never paid: each is asked of the processor and recorded as it ended, or abandoned when the
//! processor never heard of it. Nothing stays pending past its deadline by more than a minute or
//! so, whether or not anyone looks at it.
//!
//! One sweep takes up to 50 overdue entries from each shard of the index, and goes on with more
//! while there are more and time is left; an entry it cannot settle now (the processor not
//! answering) stays for the next.

use serde_json::{Value, json};
use shared::AppContext;
use shared::payments::Swept;
use std::time::{Duration, Instant};

/// How much of the invocation's time to keep free: a sweep's round can take this long.
pub const MARGIN: Duration = Duration::from_secs(15);

/// Sweeps until nothing overdue is left that can be settled now, or `deadline` draws near.
pub async fn sweep(ctx: &AppContext, deadline: Instant) -> Result<Value, shared::ApiError> {
    let mut total = Swept::default();
    loop {
        let swept = ctx.payments().sweep(ctx.now()).await?;
        total.found += swept.found;
        total.settled += swept.settled;
        total.left = swept.left;
        if swept.settled == 0 || Instant::now() + MARGIN > deadline {
            break;
        }
    }
    Ok(json!({"found": total.found, "settled": total.settled, "left": total.left}))
}
