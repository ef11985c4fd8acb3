//! The sled backend: durable creates with 1 and 16 writers (group commit), GET by id,
//! `userName` lookup, pages of 100, a count and open time, on a directory of
//! `SCIMKIT_BENCH_USERS` users (default 100k).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use scimkit::model::{DirectoryId, Meta, UserId, UserState};
use scimkit::store::{DirectoryStore, Keyset, SledStore, States, UserFilter, UserKey};
use scimkit::{Admin, User};
use serde_json::json;
use time::macros::datetime;

fn user(dir: &DirectoryId, n: u128) -> User {
    let name = format!("user{n}@example.com");
    User::new(
        UserId::from_uuid(uuid::Uuid::from_u128(n + 1)),
        dir.clone(),
        json!({"userName": name}),
        Meta::new(datetime!(2026-01-01 0:00 UTC)),
    )
    .with_email(Some(name.clone()))
    .with_state(UserState::Active)
}

/// The process's CPU time so far (user + system, every thread, exited ones included),
/// from `/proc/self/stat`; `None` off Linux. Unlike a rate, load from other processes
/// cannot inflate it much: it counts only this process's time on a CPU.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain.
    let after_name = stat.rsplit_once(')')?.1;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    // Clock ticks; USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis((user + system) * 10))
}

/// One round of creates: the rate, and CPU time per create when it can be read.
struct Round {
    rate: f64,
    cpu_per_create: Option<Duration>,
}

/// Durable creates by `writers` concurrent tasks.
async fn creates(
    store: &Arc<SledStore>,
    dir: &DirectoryId,
    writers: u128,
    each: u128,
    first: u128,
) -> Round {
    let cpu_before = cpu_time();
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (store, dir) = (store.clone(), dir.clone());
            tokio::spawn(async move {
                for i in 0..each {
                    store
                        .insert_user(user(&dir, first + w * each + i))
                        .await
                        .expect("insert");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let elapsed = started.elapsed();
    let total = writers * each;
    let cpu_per_create = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before) / u32::try_from(total).expect("fits"));
    Round {
        rate: total as f64 / elapsed.as_secs_f64(),
        cpu_per_create,
    }
}

/// The median of `values` (sorted in place); `values` is not empty.
fn median<T: Copy>(values: &mut [T], order: impl Fn(&T, &T) -> std::cmp::Ordering) -> T {
    values.sort_by(order);
    values[values.len() / 2]
}

fn sled_backend(c: &mut Criterion) {
    let size: u128 = std::env::var("SCIMKIT_BENCH_USERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    // Creates per writer per round: fewer make a run short enough for valgrind, whose
    // instruction counts load cannot change. At most 500, which the id ranges allow.
    let each: u128 = std::env::var("SCIMKIT_BENCH_ROUND")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500)
        .min(500);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir_path = tempfile::tempdir().expect("temp dir");
    let (store, dir) = runtime.block_on(async {
        let store = Arc::new(SledStore::open(dir_path.path()).expect("open"));
        let admin = Admin::new(store.clone());
        let org = admin.create_organization(None, vec![]).await.expect("org");
        let dir = admin.create_directory(&org.id, true).await.expect("dir");
        // Alternating rounds, medians reported: the machine is shared, so one round of
        // each can land in a busy moment for one and a quiet one for the other.
        let (mut ones, mut sixteens) = (Vec::new(), Vec::new());
        for round in 0..3u128 {
            ones.push(creates(&store, &dir.id, 1, each, round * 10_000).await);
            sixteens.push(creates(&store, &dir.id, 16, each, round * 10_000 + 1_000).await);
        }
        let rates = |rounds: &[Round]| rounds.iter().map(|r| r.rate).collect::<Vec<_>>();
        let (mut one_rates, mut sixteen_rates) = (rates(&ones), rates(&sixteens));
        let rounds = format!("{one_rates:.0?} / {sixteen_rates:.0?}");
        let one = median(&mut one_rates, f64::total_cmp);
        let sixteen = median(&mut sixteen_rates, f64::total_cmp);
        eprintln!(
            "durable creates/s (median of 3): 1 writer {one:.0}, 16 writers {sixteen:.0} ({:.1}x); rounds {rounds}",
            sixteen / one
        );
        let cpu = |rounds: &[Round]| {
            let mut each: Vec<Duration> = rounds.iter().filter_map(|r| r.cpu_per_create).collect();
            (!each.is_empty()).then(|| median(&mut each, Ord::cmp))
        };
        if let (Some(one), Some(sixteen)) = (cpu(&ones), cpu(&sixteens)) {
            eprintln!(
                "CPU per durable create (user + system, median of 3): 1 writer {one:.1?}, 16 writers {sixteen:.1?}"
            );
        }
        // Fill up to `size` with many writers sharing flushes.
        let loaded = Instant::now();
        let have = 3 * (each + 16 * each);
        if size > have {
            creates(&store, &dir.id, 64, (size - have) / 64, 100_000_000).await;
        }
        eprintln!("loaded {size} users in {:.1?}", loaded.elapsed());
        (store, dir.id)
    });
    let probe = UserId::from_uuid(uuid::Uuid::from_u128(1_000 + 7 * each + 1));
    c.bench_function("sled: get user by id", |b| {
        b.to_async(&runtime).iter(|| async {
            store
                .get_user(&dir, &probe)
                .await
                .expect("get")
                .expect("present")
        })
    });
    let name = format!("user{}@example.com", 1_000 + 7 * each);
    c.bench_function("sled: list_users by userName", |b| {
        b.to_async(&runtime).iter(|| async {
            let filter = UserFilter {
                key: Some(UserKey::UserName(name.clone())),
                ..UserFilter::default()
            };
            store
                .list_users(&dir, &filter, Keyset::first(10))
                .await
                .expect("find")
        })
    });
    // A page of 100 from the start, from the middle (keyset), and by state; a count.
    let middle = runtime.block_on(async {
        let all = store.count_users(&dir, &UserFilter::default()).await;
        let skip = usize::try_from(all.expect("count") / 2).expect("fits");
        let page = Keyset {
            after: None,
            skip,
            limit: 1,
        };
        let found = store.list_users(&dir, &UserFilter::default(), page).await;
        found.expect("list").pop().expect("a middle user").id
    });
    for (name, filter, after) in [
        (
            "sled: list_users first page of 100",
            UserFilter::default(),
            None,
        ),
        (
            "sled: list_users page of 100 after a middle id",
            UserFilter::default(),
            Some(middle.clone()),
        ),
        (
            "sled: list_users active page of 100 after a middle id",
            UserFilter {
                states: States::Active,
                ..UserFilter::default()
            },
            Some(middle.clone()),
        ),
    ] {
        c.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                store
                    .list_users(&dir, &filter, Keyset::after(after.clone(), 100))
                    .await
                    .expect("list")
            })
        });
    }
    c.bench_function("sled: count_users visible", |b| {
        let filter = UserFilter {
            states: States::Visible,
            ..UserFilter::default()
        };
        b.to_async(&runtime)
            .iter(|| async { store.count_users(&dir, &filter).await.expect("count") })
    });
    drop(store);
    let opened = Instant::now();
    let reopened = SledStore::open(dir_path.path()).expect("reopen");
    eprintln!("open with {size} users: {:?}", opened.elapsed());
    drop(reopened);
}

criterion_group!(benches, sled_backend);
criterion_main!(benches);
