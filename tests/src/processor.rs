//! The test processor with faults on demand, for the tests of what a payment does when its
//! function dies, or its processor stops answering, between two steps.
//!
//! A "hang" never answers: the test drops the future that waits for it (as Lambda kills a
//! function at its timeout), so whatever the step before it wrote stays, and nothing after it is
//! written.

use shared::chrono::{DateTime, Utc};
use shared::domain::principal::Principal;
use shared::processor::{
    Answer, ChargeRequest, Processor, ProcessorCharge, ProcessorError, ProcessorRefund,
    TestProcessor,
};
use std::sync::Mutex;

/// What goes wrong, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// `charge` never answers, and makes nothing: the function died before the processor heard.
    HangBeforeCharge,
    /// `charge` makes the charge, then never answers: its answer was lost.
    HangAfterCharge,
    /// `charge` answers that it cannot be reached, having made nothing.
    Unavailable,
    /// `authenticate` ends the charge at the processor, then never answers.
    HangAfterAuthenticate,
    /// `refund` never answers, and refunds nothing.
    HangBeforeRefund,
    /// `refund` refunds, then never answers.
    HangAfterRefund,
    /// `refund` refuses.
    RefuseRefund,
}

/// The test processor, with one fault armed at a time.
pub struct FaultyProcessor {
    inner: TestProcessor,
    fault: Mutex<Fault>,
}

impl FaultyProcessor {
    pub fn new(inner: TestProcessor) -> Self {
        Self {
            inner,
            fault: Mutex::new(Fault::None),
        }
    }

    /// Arms `fault` (and disarms the one before).
    pub fn arm(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    fn armed(&self) -> Fault {
        *self.fault.lock().unwrap()
    }
}

async fn hang<T>() -> T {
    std::future::pending().await
}

impl Processor for FaultyProcessor {
    fn charge<'a>(&'a self, request: ChargeRequest<'a>) -> Answer<'a, ProcessorCharge> {
        let fault = self.armed();
        Box::pin(async move {
            match fault {
                Fault::HangBeforeCharge => hang().await,
                Fault::Unavailable => Err(ProcessorError::Unavailable("test: unreachable".into())),
                Fault::HangAfterCharge => {
                    self.inner.charge(request).await?;
                    hang().await
                }
                _ => self.inner.charge(request).await,
            }
        })
    }

    fn find<'a>(
        &'a self,
        owner: &'a Principal,
        key: &'a str,
    ) -> Answer<'a, Option<ProcessorCharge>> {
        self.inner.find(owner, key)
    }

    fn retrieve<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
    ) -> Answer<'a, Option<ProcessorCharge>> {
        self.inner.retrieve(owner, id)
    }

    fn expire<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
        now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorCharge> {
        self.inner.expire(owner, id, now)
    }

    fn reverse<'a>(&'a self, owner: &'a Principal, id: &'a str) -> Answer<'a, ProcessorCharge> {
        self.inner.reverse(owner, id)
    }

    fn mark<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
        paid: bool,
        now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorCharge> {
        self.inner.mark(owner, id, paid, now)
    }

    fn authenticate<'a>(
        &'a self,
        owner: &'a Principal,
        id: &'a str,
        passed: bool,
        now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorCharge> {
        let fault = self.armed();
        Box::pin(async move {
            let answer = self.inner.authenticate(owner, id, passed, now).await;
            if fault == Fault::HangAfterAuthenticate {
                return hang().await;
            }
            answer
        })
    }

    fn refund<'a>(
        &'a self,
        owner: &'a Principal,
        charge: &'a str,
        key: &'a str,
        amount: i64,
        now: DateTime<Utc>,
    ) -> Answer<'a, ProcessorRefund> {
        let fault = self.armed();
        Box::pin(async move {
            match fault {
                Fault::HangBeforeRefund => hang().await,
                Fault::RefuseRefund => Err(ProcessorError::Refused("test: refused".into())),
                Fault::HangAfterRefund => {
                    self.inner.refund(owner, charge, key, amount, now).await?;
                    hang().await
                }
                _ => self.inner.refund(owner, charge, key, amount, now).await,
            }
        })
    }

    fn find_refund<'a>(
        &'a self,
        owner: &'a Principal,
        charge: &'a str,
        key: &'a str,
    ) -> Answer<'a, Option<ProcessorRefund>> {
        self.inner.find_refund(owner, charge, key)
    }
}
