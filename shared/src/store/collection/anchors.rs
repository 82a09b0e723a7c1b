//! Anchors: where earlier pages ended, so that the next page of a walk starts there. Only
//! settled members are anchored (see the module documentation for why anchors stay true).

use super::{ANCHOR_TTL, Collection, MAX_POSITION, SETTLE};
use crate::domain::error::ApiError;
use crate::store::item::{EXPIRES_AT, SK, corrupt, get_s, key, n, s};
use crate::store::{Store, sdk_error};
use chrono::{DateTime, Utc};

/// Awaits `work` if there is any.
async fn maybe<T>(
    work: Option<impl std::future::Future<Output = Result<T, ApiError>>>,
) -> Result<Option<T>, ApiError> {
    match work {
        Some(work) => work.await.map(Some),
        None => Ok(None),
    }
}

/// A position in a window and the sort key of the member there.
pub(super) type Anchor = (u64, String);

impl Store {
    /// The anchor nearest to `position` on the side a walk comes from, no further than `bound`:
    /// at or before it in chronological walks (`bound` below it), at or after it in reverse ones
    /// (`bound` above it; anchors past the window's end, taken for wider windows, are of no use).
    pub(super) async fn nearest_anchor(
        &self,
        c: &Collection,
        from_ms: i64,
        position: u64,
        bound: u64,
    ) -> Result<Option<Anchor>, ApiError> {
        let at_or_before = bound <= position;
        let (low, high) = (
            c.anchor_sk(from_ms, position.min(bound)),
            c.anchor_sk(from_ms, position.max(bound).min(MAX_POSITION)),
        );
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", s(&c.anchor_pk))
            .expression_attribute_values(":low", s(low))
            .expression_attribute_values(":high", s(high))
            .scan_index_forward(!at_or_before)
            .limit(1)
            .consistent_read(true)
            .return_consumed_capacity(self.capacity_report())
            .send()
            .await
            .map_err(sdk_error)?;
        self.usage.read(out.consumed_capacity());
        let Some(item) = out.items().first() else {
            return Ok(None);
        };
        let sk = get_s(item, SK)?;
        let anchored = sk
            .rsplit('#')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| corrupt(format!("anchor has a bad sk {sk:?}")))?;
        Ok(Some((anchored, get_s(item, "at")?.clone())))
    }

    /// Writes the anchors of a page's start and end, at settled members only (see the module
    /// documentation), in parallel.
    pub(super) async fn write_anchors(
        &self,
        c: &Collection,
        from_ms: i64,
        start: Option<Anchor>,
        end: Option<Anchor>,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let settled_before = now.timestamp_millis() - SETTLE.as_millis() as i64;
        let expires = now.timestamp() + ANCHOR_TTL.as_secs() as i64;
        let write = |anchor: Option<Anchor>| {
            let anchor =
                anchor.filter(|(_, at)| c.created_ms(at).is_some_and(|ms| ms <= settled_before));
            maybe(anchor.map(|(position, at)| {
                let mut item = key(c.anchor_pk.clone(), c.anchor_sk(from_ms, position));
                item.insert("at".into(), s(at));
                item.insert(EXPIRES_AT.into(), n(expires));
                async move {
                    self.client
                        .put_item()
                        .table_name(&self.table)
                        .set_item(Some(item))
                        .return_consumed_capacity(self.capacity_report())
                        .send()
                        .await
                        .map(|out| self.usage.write(out.consumed_capacity()))
                        .map_err(sdk_error)
                }
            }))
        };
        tokio::try_join!(write(start), write(end))?;
        Ok(())
    }
}
