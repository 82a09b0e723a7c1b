//! Signing secrets as the endpoint item holds them: sealed under the stack's KMS key, or in
//! clear for an endpoint set before secrets were sealed (see the module documentation).

use crate::domain::error::ApiError;
use crate::domain::principal::Principal;
use crate::domain::webhook::SigningSecret;
use crate::sealed::{Sealer, Secret};
use crate::store::item::s;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;

/// Bytes of randomness in a signing secret.
const SECRET_BYTES: usize = 32;

/// What a signing secret is sealed for: KMS's encryption context names it, and the delivery
/// function's role may decrypt this purpose only.
pub const WEBHOOK_SIGNING_SECRET_PURPOSE: &str = "webhook-signing-secret";

/// A signing secret as the endpoint item holds it. Its `Debug` prints neither form.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredSecret {
    /// Sealed under the KMS key (`secret` B): what every write stores.
    Sealed(Vec<u8>),
    /// The base64 text itself (`secret` S): an endpoint set before secrets were sealed, until
    /// `links-admin webhook seal` seals it.
    Clear(String),
}

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sealed(_) => "StoredSecret::Sealed(..)",
            Self::Clear(_) => "StoredSecret::Clear(..)",
        })
    }
}

impl StoredSecret {
    pub(super) fn from_attribute(value: &AttributeValue) -> Option<Self> {
        match value {
            AttributeValue::B(blob) => Some(Self::Sealed(blob.as_ref().to_vec())),
            AttributeValue::S(text) => Some(Self::Clear(text.clone())),
            _ => None,
        }
    }

    pub(super) fn attribute(&self) -> AttributeValue {
        match self {
            Self::Sealed(bytes) => {
                AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(bytes.clone()))
            }
            Self::Clear(text) => s(text),
        }
    }

    pub fn is_sealed(&self) -> bool {
        matches!(self, Self::Sealed(_))
    }

    /// A secret written before sealing, ready to sign (no KMS call); an error for a sealed one.
    pub fn open_clear(&self) -> Result<SigningSecret, ApiError> {
        match self {
            Self::Clear(text) => SigningSecret::from_base64(text)
                .ok_or_else(|| ApiError::internal("a webhook signing secret is not base64")),
            Self::Sealed(_) => Err(ApiError::internal("a sealed secret opens with its sealer")),
        }
    }

    /// The secret, ready to sign: one KMS `Decrypt` when sealed (the caller keeps what it
    /// opened). `owner` is the endpoint's: a sealed value copied onto another's item does not
    /// open.
    pub async fn open(
        &self,
        owner: &Principal,
        sealer: &Sealer,
    ) -> Result<SigningSecret, ApiError> {
        let text = match self {
            Self::Sealed(bytes) => sealer.open(bytes, &sealed_context(owner)).await?,
            Self::Clear(text) => Secret::new(text.clone()),
        };
        SigningSecret::from_base64(text.expose())
            .ok_or_else(|| ApiError::internal("a webhook signing secret is not base64"))
    }
}

fn sealed_context(owner: &Principal) -> crate::sealed::Context {
    crate::store::settings::sealed_context(owner, WEBHOOK_SIGNING_SECRET_PURPOSE)
}

pub(super) async fn seal(
    sealer: &Sealer,
    owner: &Principal,
    secret: &str,
) -> Result<StoredSecret, ApiError> {
    sealer
        .seal(&Secret::new(secret), &sealed_context(owner))
        .await
        .map(StoredSecret::Sealed)
}

pub(super) fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    // A secret must never be predictable: without a working random source there is none.
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::item::n;

    #[test]
    fn stored_secrets_keep_their_attribute_type() {
        let sealed = StoredSecret::Sealed(vec![9, 8, 7]);
        let clear = StoredSecret::Clear("c2VjcmV0".into());
        assert!(matches!(sealed.attribute(), AttributeValue::B(_)));
        assert!(matches!(clear.attribute(), AttributeValue::S(_)));
        for stored in [sealed, clear] {
            assert_eq!(
                StoredSecret::from_attribute(&stored.attribute()),
                Some(stored)
            );
        }
        assert_eq!(StoredSecret::from_attribute(&n(1)), None);
    }
}
