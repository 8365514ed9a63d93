//! PostgreSQL's own ingest ceiling on this machine, for `scripts/bench`: binary COPY of
//! `(series, ts, value)` rows — the shape of the hub's `readings`, with its primary key — in
//! 10,000-row batches, one transaction each, `synchronous_commit` on (the server default).
//!
//!     cargo run --release --example copy_ceiling -- postgres://postgres@127.0.0.1:5432/db 3000000
//!
//! Prints one JSON line: `{"rows":N,"seconds":S,"rows_per_s":R}`. The table is dropped at the end.

use std::pin::pin;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use tokio_postgres::NoTls;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

const BATCH: usize = 10_000;
const SERIES: i64 = 10_000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .context("usage: copy_ceiling DATABASE_URL [ROWS]")?;
    let rows: usize = match args.next() {
        Some(n) => n.parse().context("ROWS must be a number")?,
        None => 3_000_000,
    };
    let (mut client, conn) = tokio_postgres::connect(&url, NoTls).await?;
    tokio::spawn(conn);
    client
        .batch_execute(
            "DROP TABLE IF EXISTS copy_ceiling;
             CREATE TABLE copy_ceiling (series bigint NOT NULL, ts timestamptz NOT NULL,
                                        value double precision NOT NULL, PRIMARY KEY (series, ts))",
        )
        .await?;
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000);
    let types = [Type::INT8, Type::TIMESTAMPTZ, Type::FLOAT8];
    let start = Instant::now();
    let mut written = 0usize;
    while written < rows {
        let n = BATCH.min(rows - written);
        let tx = client.transaction().await?;
        let sink = tx
            .copy_in("COPY copy_ceiling (series, ts, value) FROM STDIN (FORMAT binary)")
            .await?;
        let mut writer = pin!(BinaryCopyInWriter::new(sink, &types));
        for i in written..written + n {
            // Each series gets one reading per 10 s, in time order, as devices report.
            let series = i as i64 % SERIES;
            let ts = t0 + Duration::from_secs(10 * (i as u64 / SERIES as u64));
            let value = (i % 1000) as f64 / 10.0;
            writer.as_mut().write(&[&series, &ts, &value]).await?;
        }
        writer.as_mut().finish().await?;
        tx.commit().await?;
        written += n;
    }
    let secs = start.elapsed().as_secs_f64();
    client.batch_execute("DROP TABLE copy_ceiling").await?;
    println!(
        r#"{{"rows":{written},"seconds":{secs:.3},"rows_per_s":{:.0}}}"#,
        written as f64 / secs
    );
    Ok(())
}
