//! Forwards every change of a directory kept in a sled database to a webhook endpoint,
//! signed, with retries, resuming from its stored cursor after a restart (or a kill).
//!
//! ```sh
//! cargo run --example webhook_dispatcher --features webhooks,sled -- \
//!     --store ./scim-data --directory scim_directory_... \
//!     --url http://127.0.0.1:9000/scim-events --secret whsec_...
//! ```
//!
//! `--name` names the endpoint (default `events`; its cursor is stored under it),
//! `--initial-delay-ms`, `--max-delay-ms`, `--horizon-ms` and `--timeout-ms` set the
//! retry policy. It prints `dispatching` once it runs. The crash test (`tests/webhooks.rs`)
//! kills it with SIGKILL mid-stream and checks that nothing is lost.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use scimkit::model::DirectoryId;
use scimkit::store::SledStore;
use scimkit::webhooks::{RetryPolicy, WebhookDispatcher, WebhookEndpoint, WebhookSecret};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut store = None;
    let mut directory = None;
    let mut url = None;
    let mut secret = None;
    let mut name = "events".to_owned();
    let mut retry = RetryPolicy::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let ms = |text: String| text.parse().map(Duration::from_millis);
        match flag.as_str() {
            "--store" => store = Some(value()?),
            "--directory" => directory = Some(value()?.parse::<DirectoryId>()?),
            "--url" => url = Some(value()?),
            "--secret" => secret = Some(WebhookSecret::parse(&value()?)?),
            "--name" => name = value()?,
            "--initial-delay-ms" => retry = retry.with_initial_delay(ms(value()?)?),
            "--max-delay-ms" => retry = retry.with_max_delay(ms(value()?)?),
            "--horizon-ms" => retry = retry.with_horizon(ms(value()?)?),
            "--timeout-ms" => retry = retry.with_timeout(ms(value()?)?),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let (Some(store), Some(directory), Some(url), Some(secret)) = (store, directory, url, secret)
    else {
        return Err("--store, --directory, --url and --secret are required".into());
    };
    let store = Arc::new(SledStore::open(&store)?);

    // The three lines a vendor writes (plus the retry policy this example takes as flags).
    let endpoint = WebhookEndpoint::new(name, &url, secret)?;
    let dispatcher = WebhookDispatcher::new(store, endpoint).directory(directory);
    let running = tokio::spawn(dispatcher.with_retry(retry).run());

    println!("dispatching");
    running.await?;
    Ok(())
}
