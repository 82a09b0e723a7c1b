//! What a piece of work costs: the heap it allocates (counted by this binary's global
//! allocator), the DynamoDB requests it sends and their round trips; and the write units
//! DynamoDB bills for items of a size.

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counts the bytes allocated now and the most allocated since the last [`Heap::reset`].
pub(crate) struct Heap;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is to the system allocator.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is to the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Heap = Heap;

impl Heap {
    /// Starts a measurement: returns the bytes held now.
    pub(crate) fn reset() -> usize {
        let now = CURRENT.load(Ordering::Relaxed);
        PEAK.store(now, Ordering::Relaxed);
        now
    }

    /// The most allocated since [`Heap::reset`] returned `base`, above `base`.
    pub(crate) fn peak_above(base: usize) -> usize {
        PEAK.load(Ordering::Relaxed).saturating_sub(base)
    }
}

/// Start and end of every DynamoDB request sent.
#[derive(Debug, Default)]
pub(crate) struct Flights(Mutex<Vec<(Instant, Option<Instant>)>>);

#[derive(Debug)]
pub(crate) struct RecordFlights(pub(crate) Arc<Flights>);

impl Intercept for RecordFlights {
    fn name(&self) -> &'static str {
        "RecordFlights"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.0.lock().unwrap().push((Instant::now(), None));
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut flights = self.0.0.lock().unwrap();
        if let Some(open) = flights.iter_mut().rev().find(|f| f.1.is_none()) {
            open.1 = Some(Instant::now());
        }
        Ok(())
    }
}

impl Flights {
    /// Requests sent and round trips of latency (overlapping flights merged) since the last call.
    pub(crate) fn take(&self) -> (usize, usize) {
        let mut flights = std::mem::take(&mut *self.0.lock().unwrap());
        flights.sort_by_key(|f| f.0);
        let mut trips = 0;
        let mut busy_until: Option<Instant> = None;
        for (start, end) in &flights {
            let end = end.unwrap_or(*start);
            match busy_until {
                Some(until) if *start <= until => busy_until = Some(until.max(end)),
                _ => {
                    trips += 1;
                    busy_until = Some(end);
                }
            }
        }
        (flights.len(), trips)
    }
}

/// What one measured piece of work cost.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Cost {
    pub(crate) requests: usize,
    pub(crate) trips: usize,
    pub(crate) read: f64,
    pub(crate) write: f64,
    pub(crate) heap: usize,
    pub(crate) time: Duration,
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, other: Self) {
        self.requests += other.requests;
        self.trips += other.trips;
        self.read += other.read;
        self.write += other.write;
        self.heap = self.heap.max(other.heap);
        self.time += other.time;
    }
}

/// An item's size as DynamoDB bills it: each attribute's name and value, in bytes.
pub(crate) fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(s) => s.len(),
                    AttributeValue::N(n) => n.len().div_ceil(2) + 1,
                    AttributeValue::Bool(_) => 1,
                    _ => 0,
                }
        })
        .sum()
}

/// Write units of writing items of these sizes in one transaction on DynamoDB: two per KB (or
/// part of one) per item. DynamoDB Local reports 2.0 for any transaction, so creates are costed
/// this way instead.
pub(crate) fn transaction_write_units(sizes: &[usize]) -> f64 {
    sizes
        .iter()
        .map(|s| 2.0 * s.div_ceil(1024).max(1) as f64)
        .sum()
}
