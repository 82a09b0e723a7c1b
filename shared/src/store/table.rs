//! The table itself, for local runs and tests: deployments get it from template.yaml, whose
//! definition this mirrors.

use super::item::{EXPIRES_AT, PK, SK};
use super::{Store, sdk_error};
use crate::domain::error::ApiError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification,
};

impl Store {
    /// Creates the table as template.yaml defines it: string keys `pk` and `sk`, on-demand, with
    /// `expires_at` as its time-to-live attribute. DynamoDB Local makes a table active at once.
    ///
    /// Without the template's stream, which only the webhook delivery function reads: DynamoDB
    /// Local keeps a stream's records in memory, which slowed the tests that write tens of
    /// thousands of links several times over. [`Store::enable_stream`] adds it where it is read.
    pub async fn create_table(&self) -> Result<(), ApiError> {
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(ApiError::internal)
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(ApiError::internal)
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute(PK)?)
            .attribute_definitions(attribute(SK)?)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?)
            .send()
            .await
            .map_err(sdk_error)?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(EXPIRES_AT)
                    .enabled(true)
                    .build()
                    .map_err(ApiError::internal)?,
            )
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// Turns on the table's stream of new images, as template.yaml has it: for local runs that
    /// read it (the webhook tests, playing Lambda's event source mapping).
    pub async fn enable_stream(&self) -> Result<(), ApiError> {
        self.client
            .update_table()
            .table_name(&self.table)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewImage)
                    .build()
                    .map_err(ApiError::internal)?,
            )
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}
