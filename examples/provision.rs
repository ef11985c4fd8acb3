//! Entra's initial provisioning cycle against a running SCIM server: USERS users, each
//! looked up by `userName` and then created (as Entra does), over CONNECTIONS concurrent
//! connections. Prints users/s and the total time. Used by `scripts/provision-sled.sh`.
//!
//! ```text
//! cargo run --release --example provision --features testing -- BASE_URL TOKEN [USERS] [CONNECTIONS]
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use scimkit::testing::{Entra, HttpTransport, SimUser, SimulationError};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(base), Some(token)) = (args.first(), args.get(1)) else {
        eprintln!("usage: provision BASE_URL TOKEN [USERS] [CONNECTIONS]");
        return ExitCode::FAILURE;
    };
    let users: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let connections: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(8);
    let entra = Arc::new(Entra::new(HttpTransport::new(base.clone(), token.clone())));
    // Each task takes the next user to provision, so CONNECTIONS requests are in flight
    // (the client pools one connection per request in flight).
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (entra, next) = (entra.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= users {
                        return Ok::<(), SimulationError>(());
                    }
                    let user = SimUser::new(format!("user{n}@contoso.example"))
                        .named(format!("Given{n}"), format!("Family{n}"))
                        .external_id(format!("entra-object-{n:08}"));
                    entra.provision(&user).await?;
                }
            })
        })
        .collect();
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                eprintln!("provisioning failed: {error}");
                return ExitCode::FAILURE;
            }
            Err(error) => {
                eprintln!("a provisioning task failed: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "provisioned {users} users over {connections} connections in {seconds:.2} s: {:.0} users/s",
        users as f64 / seconds
    );
    ExitCode::SUCCESS
}
