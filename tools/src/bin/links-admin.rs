//! Administration that is not part of the API: creating the table (for DynamoDB Local; deployed
//! stacks get it from template.yaml), accounts, and their keys. Secret keys are printed once, when
//! created, and stored only as hashes.
//!
//! ```text
//! links-admin create-table
//! links-admin create-account [--env]
//! links-admin create-key <account> test|live
//! links-admin list-keys <account>
//! links-admin revoke-key <account> <key id>
//! links-admin recount <account> | --all
//! links-admin webhook set <account> test|live <https url>    (or http://127.0.0.1:…, locally)
//! links-admin webhook show <account> test|live
//! links-admin webhook rotate-secret <account> test|live
//! links-admin webhook seal <account> test|live
//! links-admin webhook remove <account> test|live
//! links-admin three-d-secure <account> test|live on|off
//! links-admin time-zone <account> <IANA zone>
//! links-admin processor set <account> test|live omise --public-key K --secret-key K [--webhook-secret S]
//! links-admin processor set <account> test built-in
//! links-admin processor show <account> test|live
//! links-admin sweep
//! links-admin mark-as-paid|mark-as-failed <account> <charge id>
//! ```
//!
//! `three-d-secure` turns 3-D Secure on or off for the account's card payments in that mode (test
//! mode's processor simulates it; live mode takes no payment yet). `sweep` settles, once, every
//! payment and refund left unsettled past its deadline, as the scheduled sweep does each minute
//! (see `shared::payments`). `mark-as-paid` and `mark-as-failed` end a pending test-mode
//! PromptPay charge as Omise's `mark_as_paid` and `mark_as_failed` do, for a merchant testing
//! without writing a request by hand.
//!
//! `time-zone` sets the zone the account's payment pages show times in (a receipt's date, when a
//! held link comes free, when a PromptPay code expires), in both modes: an IANA name such as
//! `Asia/Bangkok` (the default) or `Europe/London`. The API's times stay UTC. It stores the zone's
//! offsets from 2015 to twenty years ahead, as this tool's tz database has them: set it again
//! after a government changes its zone's rules and this tool is rebuilt on a newer database.
//!
//! Processor: which gateway takes the account's payments in that mode. `omise` takes the
//! merchant's own Omise keys for that mode (`pkey_test_…`/`skey_test_…` in test mode, as Omise
//! merchants test; `pkey_…`/`skey_…` in live mode) and, optionally, the webhook secret Omise shows
//! for the endpoint the merchant registered there. The secret key and the webhook secret are
//! sealed under the stack's KMS key (`SECRETS_KMS_KEY`: see `shared::sealed`) before they are
//! stored, and never printed again; `show` says which gateway and which public key, never a
//! secret. `built-in` is the offline test processor, test mode's default. A change reaches every
//! function within `shared::processor::CHOICE_TTL` (60 s).
//!
//! Webhooks: one endpoint per account and mode. `set` checks the URL (https only, no address
//! that is not public: see `shared::validate::webhook`) and, for a new endpoint, prints its
//! signing secret, once. Only in `scripts/dev`'s local setup, where `LINKS_LOCAL_WEBHOOKS=1` (the
//! line `scripts/dev` prints for this tool exports it), may the URL also point at this machine:
//! `https://` or plain `http://` to 127.0.0.1 or [::1], such as `http://127.0.0.1:4000/hook`
//! (`DestinationPolicy::local_development`). Never set it against a deployed table: a deployed
//! delivery function refuses such an endpoint at every try anyway. Setting it again changes the URL and keeps the secret and the events
//! waiting for it. `rotate-secret` prints a new secret; the old one keeps signing beside it for
//! a day (`shared::store::ROTATION_OVERLAP`), so deliveries carry both signatures meanwhile.
//! `show` never prints a secret. `remove` drops the endpoint and the events waiting for it (the
//! events stay in `GET /events`). Signing secrets are stored sealed under the stack's KMS key
//! (`SECRETS_KMS_KEY`), so `set` and `rotate-secret` need it; `seal` seals, unchanged, the
//! secret of an endpoint set before secrets were sealed (`show` says which it is).
//!
//! Rotating a key: `create-key`, move the callers to the new key, then `revoke-key` the old one.
//! A revoked key stops working at once on instances that have not seen it, and within
//! `shared::auth::KEY_CACHE_TTL` (60 s) on those that have.
//!
//! `recount` counts an account's links (test and live) again from the links themselves, replaces
//! their counter items and forgets their list anchors. Run it once after upgrading a table written
//! by a version before the per-hour counters (whose lists would otherwise show `total: 0`), and
//! after importing links by other means; with no creates in flight for those accounts.
//!
//! Reads `TABLE_NAME` and the usual AWS variables (profiles included).

use shared::chrono::{SecondsFormat, Utc};
use shared::http::serve::TABLE_NAME_ENV;
use shared::payments::Payments;
use shared::processor::TestProcessor;
use shared::store::{Store, operator_client};

const USAGE: &str = "usage: links-admin create-table | create-account [--env] \
    | create-key <account> test|live | list-keys <account> | revoke-key <account> <key id> \
    | recount <account>|--all | webhook set <account> test|live <url> \
    | webhook show|rotate-secret|seal|remove <account> test|live \
    | three-d-secure <account> test|live on|off | time-zone <account> <IANA zone> | sweep \
    | processor set <account> test|live omise --public-key K --secret-key K [--webhook-secret S] \
    | processor set <account> test built-in | processor show <account> test|live \
    | mark-as-paid|mark-as-failed <account> <charge id>";

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
    let store = Store::new(operator_client().await, table);
    let fail = |e: shared::ApiError| format!("{e:?}");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["create-table"] => {
            store.create_table().await.map_err(fail)?;
            eprintln!("created table {}", store.table());
        }
        ["create-account", rest @ ..] => {
            let env = match rest {
                [] => false,
                ["--env"] => true,
                _ => return Err(USAGE.into()),
            };
            let account = store.create_account(Utc::now()).await.map_err(fail)?;
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
        ["create-key", account, mode @ ("test" | "live")] => {
            let key = store
                .create_key(account, *mode == "live", Utc::now())
                .await
                .map_err(fail)?;
            println!("key id  {}", key.id);
            println!("secret  {}", key.secret);
            println!("\nThe secret is shown only now: only its SHA-256 hash is stored.");
        }
        ["list-keys", account] => {
            let keys = store.list_keys(account).await.map_err(fail)?;
            println!(
                "{:<20}  {:<4}  {:<16}  {:<20}  revoked",
                "id", "mode", "starts with", "created"
            );
            let time =
                |t: shared::chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
            for key in keys {
                println!(
                    "{:<20}  {:<4}  {:<16}  {:<20}  {}",
                    key.id,
                    if key.livemode { "live" } else { "test" },
                    format!("{}…", key.prefix),
                    time(key.created),
                    key.revoked_at.map_or_else(|| "-".to_owned(), time),
                );
            }
        }
        ["revoke-key", account, id] => {
            let key = store
                .revoke_key(account, id, Utc::now())
                .await
                .map_err(fail)?;
            println!(
                "revoked {} ({}…); warm functions may accept it for up to {} s more",
                key.id,
                key.prefix,
                shared::auth::KEY_CACHE_TTL.as_secs()
            );
        }
        ["recount", which] => {
            let accounts = match *which {
                "--all" => store.account_ids().await.map_err(fail)?,
                account => vec![account.to_owned()],
            };
            for account_id in accounts {
                for livemode in [false, true] {
                    let owner = shared::domain::principal::Principal {
                        account_id: account_id.clone(),
                        livemode,
                    };
                    let links = store.recount_links(&owner).await.map_err(fail)?;
                    let mode = if livemode { "live" } else { "test" };
                    println!("{account_id} {mode}: {links} links counted");
                }
            }
        }
        [
            "webhook",
            command,
            account,
            mode @ ("test" | "live"),
            rest @ ..,
        ] => {
            let owner = shared::domain::principal::Principal {
                account_id: (*account).to_owned(),
                livemode: *mode == "live",
            };
            webhook(&store, command, &owner, rest).await?;
        }
        [
            "three-d-secure",
            account,
            mode @ ("test" | "live"),
            setting @ ("on" | "off"),
        ] => {
            let owner = shared::domain::principal::Principal {
                account_id: (*account).to_owned(),
                livemode: *mode == "live",
            };
            store
                .set_three_d_secure(&owner, *setting == "on")
                .await
                .map_err(fail)?;
            println!("3-D Secure is {setting} for {account}'s {mode} card payments");
        }
        ["time-zone", account, name] => {
            let zone = tools::time_zones::time_zone(name, Utc::now()).ok_or_else(|| {
                format!("{name} is not a time zone of the tz database (such as Asia/Bangkok)")
            })?;
            for livemode in [false, true] {
                let owner = shared::domain::principal::Principal {
                    account_id: (*account).to_owned(),
                    livemode,
                };
                store.set_time_zone(&owner, &zone).await.map_err(fail)?;
            }
            println!("{account}'s payment pages show times in {}", zone.name());
        }
        [
            "processor",
            command,
            account,
            mode @ ("test" | "live"),
            rest @ ..,
        ] => {
            let owner = shared::domain::principal::Principal {
                account_id: (*account).to_owned(),
                livemode: *mode == "live",
            };
            processor(&store, command, &owner, rest).await?;
        }
        ["sweep"] => {
            let processor = TestProcessor::new(store.clone());
            let swept = Payments::new(&store, &processor)
                .sweep(Utc::now())
                .await
                .map_err(fail)?;
            println!(
                "{} overdue, {} settled, {} left for the next sweep",
                swept.found, swept.settled, swept.left
            );
        }
        [verb @ ("mark-as-paid" | "mark-as-failed"), account, charge] => {
            let owner = shared::domain::principal::Principal {
                account_id: (*account).to_owned(),
                livemode: false,
            };
            if !shared::domain::ids::is_charge_id(charge, false) {
                return Err(format!("{charge} is not a test-mode charge id"));
            }
            let processor = TestProcessor::new(store.clone());
            let charge = Payments::new(&store, &processor)
                .mark(&owner, charge, *verb == "mark-as-paid", Utc::now())
                .await
                .map_err(|e| format!("{}: {}", e.code(), e.message()))?;
            println!("{} is {}", charge.id, charge.status.as_str());
        }
        _ => return Err(USAGE.into()),
    }
    Ok(())
}

async fn webhook(
    store: &Store,
    command: &str,
    owner: &shared::domain::principal::Principal,
    rest: &[&str],
) -> Result<(), String> {
    use shared::validate::parse_endpoint;
    let fail = |e: shared::ApiError| match e {
        shared::ApiError::BadRequest(message) => message,
        other => format!("{other:?}"),
    };
    let now = Utc::now();
    let time = |t: shared::chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    match (command, rest) {
        ("set", [url]) => {
            // The operator's tool lets an endpoint on this machine through only in scripts/dev's
            // local setup (LINKS_LOCAL_WEBHOOKS=1), whose links-local delivers to it; never by
            // default.
            let endpoint =
                parse_endpoint(url, tools::local_webhooks::endpoint_policy()).map_err(fail)?;
            let sealer = shared::sealed::operator_sealer().await?;
            let set = store
                .set_webhook(owner, &endpoint.url, now, &sealer)
                .await
                .map_err(fail)?;
            println!("endpoint  {}", set.endpoint.url);
            match set.new_secret {
                Some(secret) => {
                    println!("secret    {secret}");
                    println!("\nThe secret is shown only now. Verify Omise-Signature with it.");
                }
                None => println!("(existing endpoint: its secret and waiting events are kept)"),
            }
        }
        ("show", []) => match store.get_webhook(owner).await.map_err(fail)? {
            Some(e) => {
                println!("endpoint  {}", e.url);
                println!("created   {}", time(e.created));
                println!("updated   {}", time(e.updated));
                println!(
                    "waiting   {} events, {} failed tries in a row",
                    e.pending, e.failures
                );
                println!(
                    "secret    {}",
                    if e.sealed() {
                        "sealed under the KMS key"
                    } else {
                        "IN CLEAR (set before sealing): run `webhook seal`"
                    }
                );
                if let Some(until) = e.rotating(now) {
                    println!(
                        "rotating  the previous secret signs too until {}",
                        time(until)
                    );
                }
            }
            None => return Err("no webhook endpoint for this account and mode".into()),
        },
        ("rotate-secret", []) => match store
            .rotate_webhook_secret(owner, now, &shared::sealed::operator_sealer().await?)
            .await
            .map_err(fail)?
        {
            Some(secret) => {
                println!("secret    {secret}");
                println!(
                    "\nShown only now. The previous secret also signs for {} hours.",
                    shared::store::ROTATION_OVERLAP.as_secs() / 3600
                );
            }
            None => return Err("no webhook endpoint for this account and mode".into()),
        },
        ("seal", []) => match store
            .seal_webhook_secrets(owner, now, &shared::sealed::operator_sealer().await?)
            .await
            .map_err(fail)?
        {
            Some(true) => println!("sealed: the secret is unchanged, and no longer in clear"),
            Some(false) => println!("already sealed"),
            None => return Err("no webhook endpoint for this account and mode".into()),
        },
        ("remove", []) => {
            if !store.remove_webhook(owner).await.map_err(fail)? {
                return Err("no webhook endpoint for this account and mode".into());
            }
            println!("removed");
        }
        _ => return Err(USAGE.into()),
    }
    Ok(())
}

/// `processor set|show`: see the module's notes.
async fn processor(
    store: &Store,
    command: &str,
    owner: &shared::domain::principal::Principal,
    rest: &[&str],
) -> Result<(), String> {
    use shared::sealed::Secret;
    use shared::store::settings::{
        Gateway, OMISE_SECRET_KEY_PURPOSE, OMISE_WEBHOOK_SECRET_PURPOSE, OmiseKeys, sealed_context,
    };
    let fail = |e: shared::ApiError| format!("{e:?}");
    let mode = if owner.livemode { "live" } else { "test" };
    match (command, rest) {
        ("show", []) => {
            let settings = store.settings(owner).await.map_err(fail)?;
            match settings.gateway {
                Gateway::Unset if owner.livemode => {
                    println!(
                        "{} {mode}: no processor: live payments are not enabled",
                        owner.account_id
                    )
                }
                Gateway::Unset | Gateway::BuiltIn if !owner.livemode => {
                    println!("{} {mode}: built-in test processor", owner.account_id)
                }
                Gateway::Omise(keys) => println!(
                    "{} {mode}: omise, public key {}, webhook secret {}",
                    owner.account_id,
                    keys.public_key,
                    if keys.webhook_secret.is_some() {
                        "set"
                    } else {
                        "not set"
                    }
                ),
                _ => println!("{} {mode}: no processor", owner.account_id),
            }
        }
        ("set", ["built-in"]) => {
            if owner.livemode {
                return Err("the built-in processor is test mode's: it moves no money".into());
            }
            store
                .set_gateway(owner, &Gateway::BuiltIn)
                .await
                .map_err(fail)?;
            println!("{} {mode}: built-in test processor", owner.account_id);
        }
        ("set", ["omise", options @ ..]) => {
            let mut public = None;
            let mut secret = None;
            let mut webhook = None;
            let mut options = options.iter();
            while let Some(option) = options.next() {
                let slot = match *option {
                    "--public-key" => &mut public,
                    "--secret-key" => &mut secret,
                    "--webhook-secret" => &mut webhook,
                    _ => return Err(USAGE.into()),
                };
                *slot = Some(*options.next().ok_or(USAGE)?);
            }
            let (Some(public), Some(secret)) = (public, secret) else {
                return Err(USAGE.into());
            };
            let (public_prefix, secret_prefix) = if owner.livemode {
                ("pkey_", "skey_")
            } else {
                ("pkey_test_", "skey_test_")
            };
            let well_formed = |key: &str, prefix: &str| {
                key.starts_with(prefix)
                    && key.len() <= 64
                    && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && (!owner.livemode || !key.contains("_test_"))
            };
            if !well_formed(public, public_prefix) || !well_formed(secret, secret_prefix) {
                // Never echo the secret key back.
                return Err(format!(
                    "{mode} mode takes Omise's {mode} keys: {public_prefix}… and {secret_prefix}…"
                ));
            }
            if let Some(hook) = webhook {
                use base64::Engine as _;
                if base64::engine::general_purpose::STANDARD
                    .decode(hook)
                    .map_or(true, |k| k.len() < 16)
                {
                    return Err(
                        "the webhook secret is the base64 value Omise shows for the endpoint"
                            .into(),
                    );
                }
            }
            let sealer = shared::sealed::operator_sealer().await?;
            let sealed_secret = sealer
                .seal(
                    &Secret::new(secret),
                    &sealed_context(owner, OMISE_SECRET_KEY_PURPOSE),
                )
                .await
                .map_err(fail)?;
            let sealed_webhook = match webhook {
                Some(hook) => Some(
                    sealer
                        .seal(
                            &Secret::new(hook),
                            &sealed_context(owner, OMISE_WEBHOOK_SECRET_PURPOSE),
                        )
                        .await
                        .map_err(fail)?,
                ),
                None => None,
            };
            let gateway = Gateway::Omise(OmiseKeys {
                public_key: public.to_owned(),
                secret_key: sealed_secret,
                webhook_secret: sealed_webhook,
            });
            store.set_gateway(owner, &gateway).await.map_err(fail)?;
            println!(
                "{} {mode}: omise, public key {public}; the secret key{} sealed and stored, and not shown again",
                owner.account_id,
                if webhook.is_some() {
                    " and webhook secret"
                } else {
                    ""
                }
            );
            println!(
                "Register this webhook endpoint at Omise for {mode} mode: <your API URL>/webhooks/omise/{}",
                owner.account_id
            );
        }
        _ => return Err(USAGE.into()),
    }
    Ok(())
}
