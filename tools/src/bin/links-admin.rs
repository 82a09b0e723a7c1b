//! Administration that is not part of the API: creating the table (for DynamoDB Local; deployed
//! stacks get it from template.yaml) and creating accounts, whose secret keys are printed once and
//! stored only as hashes.
//!
//! ```text
//! links-admin create-table
//! links-admin create-account [--env]
//! ```
//!
//! Reads `TABLE_NAME` and the usual AWS variables, like the functions do.

use shared::chrono::Utc;
use shared::context::{TABLE_NAME_ENV, dynamodb_client};
use shared::store::Store;

const USAGE: &str = "usage: links-admin create-table | create-account [--env]";

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    match run(std::env::args().skip(1).collect()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("links-admin: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Vec<String>) -> Result<(), String> {
    let table =
        std::env::var(TABLE_NAME_ENV).map_err(|_| format!("{TABLE_NAME_ENV} is not set"))?;
    let store = Store::new(dynamodb_client().await, table);
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["create-table"] => {
            store.create_table().await.map_err(|e| format!("{e:?}"))?;
            eprintln!("created table {}", store.table());
        }
        ["create-account", rest @ ..] => {
            let env = match rest {
                [] => false,
                ["--env"] => true,
                _ => return Err(USAGE.into()),
            };
            let account = store
                .create_account(Utc::now())
                .await
                .map_err(|e| format!("{e:?}"))?;
            if env {
                println!("LINKS_ACCOUNT_ID={}", account.account_id);
                println!("LINKS_TEST_KEY={}", account.test_key);
                println!("LINKS_LIVE_KEY={}", account.live_key);
            } else {
                println!("account   {}", account.account_id);
                println!("test key  {}", account.test_key);
                println!("live key  {}", account.live_key);
                println!("\nThe keys are shown only now: only their SHA-256 hashes are stored.");
            }
        }
        _ => return Err(USAGE.into()),
    }
    Ok(())
}
