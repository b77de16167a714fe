//! `bench-audit`: the risk audit of a fleet, in process.
//!
//! `warden_core::audit` is pure: the daemon fetches each instance's live state (two Jamf requests
//! plus the cached privilege catalogue, measured by `bench-drift`), runs drift detection and the
//! rule pack on it, builds the fleet report and renders it. This program times exactly those
//! functions on N synthetic instances (default 1,000):
//!
//! Set-up (not timed): a deterministic estate per instance (`--seed`): the live state with the
//! 522 privileges of the built-in risk catalogue as the instance's privilege catalogue, `--roles`
//! roles (default 50) and `--clients` clients (default 50) plus Warden's management role and
//! client, in a realistic mix (mostly read-only roles of 2 to 15 privileges, about 10% of roles
//! with risky privileges spread over the five risk categories, a few broad and occasionally
//! near-admin roles, shared and unused roles, multi-role clients, long token lifetimes, disabled
//! and secret-less clients, undeclared clients, a Jamf app client on some instances), a desired
//! state declaring most of it with some drift, and the secret facts (rotated recently, too long
//! ago, or never).
//!
//! Instance by instance, as the daemon audits (it never holds every instance's live state at
//! once): the instance's input is generated (not timed), then timed separately
//! `drift::detect` (the daemon runs it before the rule pack) and `audit::evaluate`; the
//! `InstanceAudit` is kept and the input dropped. Then `audit::build_report` of the fleet, and
//! each format rendered with `render_to` into a buffered file (in `--output-dir`, else a
//! temporary directory), as `wardenctl` writes it; each file is checked by reading it back as
//! a stream (the JSON parses back instance by instance, the CSV's records are counted, the
//! SARIF runs, results and automation ids counted...), never whole in memory. Last, the
//! compact JSON the daemon answers with, encoded two ways: into a byte-counting sink, and in
//! parts as `wardend` sends it to `wardenctl` (the report without its instances, then parts of
//! at most 64 instances, each encoded as it is sent), so the formats' peak is seen apart.
//! The program prints the findings by severity and by rule, the time of each phase (and per
//! instance), the size of each output and the process's peak RSS (`VmHWM`) after each phase.
//!
//! ```sh
//! # the bench-fast profile: release code without LTO, builds in a fraction of the time
//! cargo run --profile bench-fast -p warden-testkit --bin bench-audit          # 1,000 x 50 roles/50 clients
//! cargo run --profile bench-fast -p warden-testkit --bin bench-audit -- --instances 100
//! cargo run --profile bench-fast -p warden-testkit --bin bench-audit -- --help
//! ```
//!
//! Exit status: 0 when every output is sane (the JSON parses back to instance audits with the
//! same findings and summary, the CSV has one record per finding plus the header, the SARIF log
//! is version 2.1.0 with one run per instance, distinct automation ids and one result per
//! finding, the access review one entry per client, the other formats cover the whole fleet),
//! 1 when one is not, 2 when the benchmark could not run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail, ensure};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use clap::Parser;
use serde::Deserialize;
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use warden_core::audit::render::{Format, render_to};
use warden_core::audit::{
    AuditReport, AuditSettings, Category, Class, InstanceAudit, InstanceInput, RULES,
    ReportContext, RiskCatalogue, SecretFacts, Summary, Suppression, WARDEN_MANAGEMENT,
    build_report, evaluate,
};
use warden_core::clock::Stopwatch;
use warden_core::config::{
    ClientRotation, DesiredClient, DesiredRole, DesiredState, RotationStrategy,
};
use warden_core::drift::{self, CatalogueInfo, DriftReport, Live};
use warden_core::jamf::{ApiIntegration, ApiRole, AppType};
use warden_core::protocol::{MAX_RESPONSE_BYTES, PART_ITEMS, Parts, ReportBody};
use warden_core::schedule::Schedule;

/// The built-in risk catalogue: its 522 privileges are every instance's privilege catalogue.
const CATALOGUE_TOML: &str = include_str!("../../../../crates/core/data/risk-catalogue.toml");

/// Privileges of Warden's own management role.
use warden_core::management::MANAGEMENT_PRIVILEGES;

/// Display name of the Jamf app client (`NATIVE_APP_OAUTH`) some instances have, and its role.
const JAMF_APP: &str = "Jamf Reset";
const JAMF_APP_ROLE: &str = "Jamf Reset Role";

#[derive(Debug, Parser)]
#[command(
    name = "bench-audit",
    about = "Times the risk audit (drift detection, rule pack, fleet report, every format rendered into a file) of N \
             synthetic instances, in process"
)]
struct Args {
    /// Synthetic instances.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    instances: u32,
    /// Roles per instance (besides Warden's management role and, on some instances, a Jamf
    /// app's role).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=5_000))]
    roles: u32,
    /// Clients per instance (besides Warden's management client and, on some instances, a
    /// Jamf app client).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=5_000))]
    clients: u32,
    /// Seed of the generator: the same seed gives the same estate and the same outputs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Keep each output in DIR/audit.EXT (else they are written to a temporary directory and
    /// removed once checked).
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("bench-audit: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the benchmark; `Ok(false)` when an output is not sane.
fn run(args: &Args) -> anyhow::Result<bool> {
    let started = Stopwatch::start();
    let mut mem = MemoryLog::default();
    let catalogue = RiskCatalogue::builtin().context("parsing the built-in risk catalogue")?;
    let privileges = Privileges::load(&catalogue)?;
    let settings = settings()?;
    let now = Utc
        .with_ymd_and_hms(2026, 11, 20, 9, 30, 0)
        .single()
        .ok_or_else(|| anyhow!("invalid fixed time"))?;
    // the outputs go to --output-dir, else to a temporary directory removed at the end
    let tmp;
    let dir: &Path = match &args.output_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            dir
        }
        None => {
            tmp = tempfile::tempdir().context("creating a temporary directory")?;
            tmp.path()
        }
    };

    println!(
        "bench-audit: {} instances x {} roles / {} clients, seed {}, {} privileges per instance catalogue",
        args.instances,
        args.roles,
        args.clients,
        args.seed,
        privileges.all.len()
    );
    println!("bench-audit: load average at start {}", loadavg());
    let shape = Shape {
        roles: args.roles as usize,
        clients: args.clients as usize,
    };
    mem.sample("start");

    // Instance by instance, as the daemon audits: generate its input (set-up, not timed),
    // drift::detect on the live state without Warden's own objects, audit::evaluate, keep the
    // InstanceAudit and drop the input. No more than one instance's input is alive at a time.
    let n = args.instances as usize;
    let mut generated = Vec::with_capacity(n);
    let mut detected = Vec::with_capacity(n);
    let mut evaluated = Vec::with_capacity(n);
    let mut mix = MixTotals::default();
    let mut audits = Vec::with_capacity(n);
    let cpu = cpu_secs();
    let t = Stopwatch::start();
    for i in 0..n {
        let t1 = Stopwatch::start();
        let mut inst = generate(i, args.seed, shape, &privileges, now)?;
        generated.push(t1.elapsed());

        let live = inst.drift_live();
        let secrets = &inst.secrets;
        let rotated = |name: &str| secrets.get(name).is_some_and(|s| s.rotated_at.is_some());
        let t1 = Stopwatch::start();
        inst.drift = drift::detect(&inst.desired, &live, &rotated, false);
        detected.push(t1.elapsed());
        drop(live);
        mix.add(&inst);

        let input = InstanceInput {
            instance: &inst.name,
            live: &inst.full,
            desired: &inst.desired,
            secrets: &inst.secrets,
            drift: &inst.drift,
            warden_owned: &inst.warden_owned,
            now,
            catalogue_change: None,
        };
        let t1 = Stopwatch::start();
        let (findings, client_privileges) = evaluate(&input, &catalogue, &settings);
        evaluated.push(t1.elapsed());
        audits.push(InstanceAudit {
            instance: inst.name,
            url: inst.url,
            checked_at: Some(now),
            error: None,
            catalogue: Some(inst.catalogue),
            roles: inst.full.roles.len(),
            clients: inst.full.clients.len(),
            findings,
            client_privileges,
            since_last: None,
            trend: Vec::new(),
        });
    }
    let audit_loop = t.elapsed();
    let loop_cpu = cpu.zip(cpu_secs()).map(|(a, b)| b - a);
    let setup = Phase::summed("generate (set-up, not timed)", &generated);
    let detect = Phase::summed("drift::detect", &detected);
    let eval = Phase::summed("audit::evaluate", &evaluated);
    mem.sample("per instance: generate, detect, evaluate, drop the input");
    let detect_stats = Stats::of(&detected);
    let eval_stats = Stats::of(&evaluated);
    mix.print();
    let live_roles: usize = audits.iter().map(|a| a.roles).sum();
    let live_clients: usize = audits.iter().map(|a| a.clients).sum();

    // audit::build_report of the fleet
    let ctx = ReportContext {
        now,
        warden_version: env!("CARGO_PKG_VERSION"),
        catalogue: &catalogue,
        settings: &settings,
    };
    let cpu = cpu_secs();
    let t = Stopwatch::start();
    let mut report = build_report(&ctx, audits);
    let build = Phase::end("audit::build_report", t, cpu, &mut mem);

    let total_findings = report.findings().count();
    let mut failures = Vec::new();
    if report.summary.errors != 0 {
        failures.push(format!(
            "{} instances report an error",
            report.summary.errors
        ));
    }
    let last = report
        .instances
        .last()
        .map(|i| i.instance.clone())
        .ok_or_else(|| anyhow!("the report has no instances"))?;

    // render each format into its file through render_to, as wardenctl does; check it by
    // reading the file back as a stream
    let mut renders = Vec::new();
    let mut parse_back = None;
    for format in Format::ALL {
        let path = dir.join(format!("audit.{}", format.extension()));
        let cpu = cpu_secs();
        let t = Stopwatch::start();
        let size = render_file(&report, format, &path)?;
        let phase = Phase::end(&format!("render {format}"), t, cpu, &mut mem);
        match check(format, &path, &report, total_findings, &last) {
            Ok(Some(parse)) => parse_back = Some(parse),
            Ok(None) => {}
            Err(e) => failures.push(format!("{format}: {e:#}")),
        }
        mem.sample(&format!("  {format} checked"));
        if args.output_dir.is_none() {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
        renders.push((format, phase, size));
    }
    let renders_peak = proc_memory().map(|(hwm, _)| hwm);

    // the same compact JSON encoded into a byte-counting sink: what sending the body in frames
    // as it is encoded would hold (nothing but the report)
    let cpu = cpu_secs();
    let t = Stopwatch::start();
    let mut sink = Counting {
        inner: std::io::sink(),
        bytes: 0,
    };
    serde_json::to_writer(&mut sink, &report).context("encoding the report")?;
    let streamed = Phase::end("wire, streamed (to_writer)", t, cpu, &mut mem);
    let streamed_len = sink.bytes;

    // the report as wardend answers wardenctl: in parts (report_start with the report
    // without its instances, then parts of at most 64 instances, each encoded as it is sent),
    // last, so the formats' peak is seen apart; the instances are consumed by the parts
    let cpu = cpu_secs();
    let t = Stopwatch::start();
    let n_instances = report.instances.len();
    let rules = rules_line(&report);
    let instances = std::mem::take(&mut report.instances);
    let head = ReportBody::encode(&report).context("encoding the report's start")?;
    let mut wire_len = head.json().len();
    let mut largest_part = 0usize;
    let mut parts = Parts::new(instances);
    for part in parts.by_ref() {
        let part = part.context("encoding a part")?;
        let len = part.items.json().len();
        largest_part = largest_part.max(len);
        wire_len += len;
    }
    let end = parts.end();
    let encode = Phase::end("wire: in parts (wardend)", t, cpu, &mut mem);
    drop(head);
    if end.items != n_instances as u64 {
        failures.push(format!(
            "the parts carried {} instances of {n_instances}",
            end.items
        ));
    }
    // the instances in the parts are the report's, the start the rest: with the array's
    // brackets and commas the parts add up to the streamed JSON, give or take the separators
    if wire_len.abs_diff(streamed_len) > 2 * end.parts as usize + 64 {
        failures.push(format!(
            "the streamed compact JSON has {streamed_len} bytes, the parts {wire_len}"
        ));
    }

    // ---- results
    println!();
    println!("== Fleet");
    println!("  instances          {n}");
    println!(
        "  per instance       {} roles + Warden's, {} clients + Warden's (on average {:.2} live roles, {:.2} live clients with Warden's and Jamf app objects)",
        args.roles,
        args.clients,
        ratio(live_roles, n),
        ratio(live_clients, n)
    );
    let s = &report.summary;
    println!(
        "  findings           {total_findings} in all ({:.1} per instance): {} critical, {} high, {} medium, {} low unsuppressed; {} suppressed",
        ratio(total_findings, n),
        s.critical,
        s.high,
        s.medium,
        s.low,
        s.suppressed
    );
    println!("  by rule            {rules}");

    println!();
    println!(
        "== Time (wall; in brackets the process's CPU time over the phase; one thread; the per-instance phases are the sums of each call)"
    );
    setup.print(n);
    detect.print(n);
    detect_stats.print("one call");
    eval.print(n);
    eval_stats.print("one call");
    println!(
        "  {:<28} {:>9}   [{}]   (the whole per-instance loop: generate, detect, evaluate, build each InstanceAudit, drop the input)",
        "",
        secs(audit_loop),
        loop_cpu.map_or_else(|| "n/a".to_owned(), |c| format!("{c:.2} s"))
    );
    build.print(n);
    let mut render_total = Duration::ZERO;
    for (_, p, _) in &renders {
        p.print(n);
        render_total += p.wall;
    }
    println!(
        "  {:<28} {:>9}   (render_to into a buffered file)",
        format!("render, {} formats", renders.len()),
        secs(render_total)
    );
    streamed.print(n);
    encode.print(n);
    if let Some(parse) = &parse_back {
        println!(
            "  {:<28} {:>9}   (serde_json::from_reader of the json file, instance by instance, a check)",
            "JSON parsed back",
            secs(*parse)
        );
    }
    let audit_total = detect.wall + eval.wall + build.wall + render_total;
    println!(
        "  {:<28} {:>9}   = {} per instance (detect + evaluate + build + {} renders)",
        "audit total",
        secs(audit_total),
        us(audit_total / u32::try_from(n).unwrap_or(u32::MAX)),
        renders.len()
    );
    println!(
        "  {:<28} {:>9}   (load average at the end {})",
        "program run",
        secs(started.elapsed()),
        loadavg()
    );

    println!();
    println!("== Output size");
    for (format, _, size) in &renders {
        println!(
            "  {:<10} {:>13} bytes  {:>9.2} MiB  {:>8.1} KiB per instance",
            format.as_str(),
            group(*size),
            mib(*size),
            *size as f64 / 1024.0 / n as f64
        );
    }
    println!(
        "  {:<10} {:>13} bytes  {:>9.2} MiB  {:>8.1} KiB per instance: the report as compact JSON, the body of the daemon's answer",
        "wire",
        group(wire_len),
        mib(wire_len),
        wire_len as f64 / 1024.0 / n as f64
    );
    println!(
        "  sent in parts of at most {PART_ITEMS} instances: the largest part {:.2} MiB, under the \
         protocol's {} MiB frame limit (MAX_RESPONSE_BYTES) whatever the fleet's size",
        mib(largest_part),
        MAX_RESPONSE_BYTES / (1024 * 1024)
    );
    if largest_part > MAX_RESPONSE_BYTES {
        failures.push(format!(
            "a part of {largest_part} bytes is over the frame limit"
        ));
    }

    println!();
    println!("== Memory (this process)");
    mem.print();
    if let Some(hwm) = renders_peak {
        println!(
            "  peak RSS through every format: {:.1} MiB (VmHWM before the wire phase)",
            hwm as f64 / 1024.0
        );
    }

    println!();
    if failures.is_empty() {
        println!(
            "checks: OK (JSON parses back, instance by instance, with all {total_findings} \
             findings; CSV has {} records = header + one per finding; SARIF 2.1.0 with one run \
             per instance, distinct automation ids and {total_findings} results; grc-json one \
             resource per client; table, Markdown and HTML cover every instance)",
            total_findings + 1
        );
        Ok(true)
    } else {
        for f in &failures {
            println!("CHECK FAILED: {f}");
        }
        Ok(false)
    }
}

/// Renders `report` as `format` into `path` through a buffered file; returns the bytes written.
fn render_file(report: &AuditReport, format: Format, path: &Path) -> anyhow::Result<usize> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = Counting {
        inner: BufWriter::new(file),
        bytes: 0,
    };
    render_to(report, format, false, &mut w)
        .and_then(|()| w.flush())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(w.bytes)
}

/// A writer that counts the bytes passed through.
struct Counting<W> {
    inner: W,
    bytes: usize,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

// ---------------------------------------------------------------------------------------------
// The privilege catalogue

/// The privileges of the built-in catalogue, split the way the generator uses them.
struct Privileges {
    /// All 522, in file order.
    all: Vec<String>,
    /// Known (not risky) privileges that read (`Read ...`).
    reads: Vec<String>,
    /// Risky privileges per category.
    risky: BTreeMap<Category, Vec<String>>,
}

impl Privileges {
    /// Reads `CATALOGUE_TOML` and checks it against the catalogue the audit uses.
    fn load(catalogue: &RiskCatalogue) -> anyhow::Result<Privileges> {
        let table: toml::Table =
            toml::from_str(CATALOGUE_TOML).context("parsing risk-catalogue.toml")?;
        let strings = |v: Option<&toml::Value>| -> anyhow::Result<Vec<String>> {
            v.and_then(toml::Value::as_array)
                .ok_or_else(|| anyhow!("risk-catalogue.toml: a privileges list is missing"))?
                .iter()
                .map(|p| {
                    p.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| anyhow!("risk-catalogue.toml: a privilege is not a string"))
                })
                .collect()
        };
        let mut risky: BTreeMap<Category, Vec<String>> = BTreeMap::new();
        let mut all = Vec::new();
        let entries = table
            .get("category")
            .and_then(toml::Value::as_array)
            .ok_or_else(|| anyhow!("risk-catalogue.toml: no [[category]]"))?;
        for entry in entries {
            let name = entry
                .get("name")
                .and_then(toml::Value::as_str)
                .ok_or_else(|| anyhow!("risk-catalogue.toml: a category has no name"))?;
            let category: Category = name.parse().map_err(|e: String| anyhow!(e))?;
            for p in strings(entry.get("privileges"))? {
                ensure!(
                    matches!(catalogue.class(&p), Class::Risky(c, _) if c == category),
                    "{p:?} is not classified {name} by RiskCatalogue::builtin()"
                );
                all.push(p.clone());
                risky.entry(category).or_default().push(p);
            }
        }
        let known = strings(table.get("known").and_then(|k| k.get("privileges")))?;
        for p in &known {
            ensure!(
                catalogue.class(p) == Class::Known,
                "{p:?} is not known to RiskCatalogue::builtin()"
            );
        }
        let reads: Vec<String> = known
            .iter()
            .filter(|p| p.starts_with("Read "))
            .cloned()
            .collect();
        all.extend(known);
        let distinct: BTreeSet<&str> = all.iter().map(String::as_str).collect();
        ensure!(
            distinct.len() == all.len(),
            "risk-catalogue.toml lists a privilege twice"
        );
        ensure!(
            reads.len() >= 15 && Category::ALL.iter().all(|c| risky.contains_key(c)),
            "risk-catalogue.toml is too small for this benchmark"
        );
        Ok(Privileges { all, reads, risky })
    }
}

// ---------------------------------------------------------------------------------------------
// The generator

/// SplitMix64: small, fast and the same on every platform and Rust version, so a seed always
/// gives the same estate.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        unit(self) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// `k` distinct items of `items` (at most all of them), in random order.
    fn sample(&mut self, items: &[String], k: usize) -> Vec<String> {
        let mut idx: Vec<usize> = (0..items.len()).collect();
        let k = k.min(items.len());
        for i in 0..k {
            let j = i + self.below(items.len() - i);
            idx.swap(i, j);
        }
        idx[..k].iter().map(|&i| items[i].clone()).collect()
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[derive(Clone, Copy)]
struct Shape {
    roles: usize,
    clients: usize,
}

/// What a generated role is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum RoleKind {
    /// 2 to 15 read privileges.
    ReadOnly,
    /// A few reads and 1 to 4 privileges of one risk category.
    Risky(Category),
    /// 55% to 80% of the catalogue.
    Broad,
    /// 92% to 100% of the catalogue.
    NearAdmin,
}

/// One synthetic instance: everything the daemon has in hand when it audits it.
struct Synth {
    name: String,
    url: String,
    /// The live state as Jamf has it, Warden's own objects included.
    full: Live,
    /// The merged desired state.
    desired: DesiredState,
    /// Rotation facts per declared client.
    secrets: BTreeMap<String, SecretFacts>,
    /// Warden's management role and client.
    warden_owned: BTreeSet<String>,
    /// The privilege catalogue's evidence.
    catalogue: CatalogueInfo,
    /// Filled in by the drift phase.
    drift: DriftReport,
    /// What the generator made, for the mix summary.
    mix: Mix,
}

impl Synth {
    /// The live state drift detection sees: Warden's own role and client left out, as the
    /// daemon's fetch does.
    fn drift_live(&self) -> Live {
        Live {
            roles: self
                .full
                .roles
                .iter()
                .filter(|r| !self.warden_owned.contains(&r.display_name))
                .cloned()
                .collect(),
            clients: self
                .full
                .clients
                .iter()
                .filter(|c| !self.warden_owned.contains(&c.display_name))
                .cloned()
                .collect(),
            privileges: self.full.privileges.clone(),
        }
    }
}

/// Counts of what the generator made (summed over the fleet for the summary).
#[derive(Default)]
struct Mix {
    kinds: BTreeMap<RoleKind, usize>,
    unused_roles: usize,
    shared_roles: usize,
    multi_role_clients: usize,
    long_lifetime: usize,
    disabled: usize,
    no_secret: usize,
    undeclared_clients: usize,
    undeclared_roles: usize,
    jamf_app: usize,
    widened_roles: usize,
    narrowed_roles: usize,
    widened_clients: usize,
    missing_clients: usize,
    never_rotated: usize,
    overdue: usize,
}

const READ_PURPOSES: [&str; 8] = [
    "Inventory Read",
    "Reporting",
    "Asset Sync",
    "Helpdesk Lookup",
    "CMDB Export",
    "Compliance, read-only",
    "Dashboards & KPIs",
    "Audit \"Q3\"",
];
const CLIENT_PURPOSES: [&str; 8] = [
    "Inventory Sync",
    "ServiceNow Connector",
    "Patch Pipeline",
    "Okta Workflows",
    "Slack Bot",
    "Backup Exporter",
    "Escrow | Bot",
    "MDM Health, nightly",
];

fn category_purpose(category: Category) -> &'static str {
    match category {
        Category::PrivilegeEscalation => "Admin Tooling",
        Category::CodeExecution => "Deploy",
        Category::SecretDisclosure => "Escrow",
        Category::Destructive => "Device Retire",
        Category::Infrastructure => "Server Config",
    }
}

/// Generates instance `i`: the same `seed` and `i` always give the same instance.
fn generate(
    i: usize,
    seed: u64,
    shape: Shape,
    privileges: &Privileges,
    now: DateTime<Utc>,
) -> anyhow::Result<Synth> {
    let mut rng = Rng::new(seed, i as u64 + 1);
    let mut mix = Mix::default();
    let name = format!("inst-{:04}", i + 1);
    let url = format!("https://{name}.jamfcloud.example");
    let catalogue_size = privileges.all.len();

    // role kinds: ~10% risky (round-robin over the categories, starting at a different one on
    // each instance), 1 broad per 25 roles (on 1 instance in 5 the first is near-admin), the
    // rest read-only; shuffled
    let n_risky = ((shape.roles as f64 * 0.10).round() as usize).clamp(1, shape.roles);
    let n_broad = (shape.roles / 25).min(shape.roles - n_risky);
    let mut kinds = Vec::with_capacity(shape.roles);
    for k in 0..n_risky {
        kinds.push(RoleKind::Risky(
            Category::ALL[(i + k) % Category::ALL.len()],
        ));
    }
    let near_admin = rng.chance(0.2);
    for k in 0..n_broad {
        kinds.push(if k == 0 && near_admin {
            RoleKind::NearAdmin
        } else {
            RoleKind::Broad
        });
    }
    kinds.resize(shape.roles, RoleKind::ReadOnly);
    rng.shuffle(&mut kinds);

    let mut roles: Vec<ApiRole> = Vec::with_capacity(shape.roles + 2);
    for (j, kind) in kinds.iter().enumerate() {
        *mix.kinds.entry(*kind).or_default() += 1;
        let (purpose, privs) = match kind {
            RoleKind::ReadOnly => {
                let k = rng.range(2, 15);
                (*rng.pick(&READ_PURPOSES), rng.sample(&privileges.reads, k))
            }
            RoleKind::Risky(category) => {
                let k = rng.range(2, 8);
                let mut p = rng.sample(&privileges.reads, k);
                let pool = privileges
                    .risky
                    .get(category)
                    .ok_or_else(|| anyhow!("no privileges of {category:?}"))?;
                let k = rng.range(1, 4);
                p.extend(rng.sample(pool, k));
                (category_purpose(*category), p)
            }
            RoleKind::Broad => {
                let share = 0.55 + 0.25 * unit(&mut rng);
                let k = (catalogue_size as f64 * share).round() as usize;
                ("Site Admin", rng.sample(&privileges.all, k))
            }
            RoleKind::NearAdmin => {
                let share = 0.92 + 0.08 * unit(&mut rng);
                let k = (catalogue_size as f64 * share).round() as usize;
                ("Full Access", rng.sample(&privileges.all, k))
            }
        };
        roles.push(ApiRole {
            id: (j + 1).to_string(),
            display_name: format!("{purpose} {:03}", j + 1),
            privileges: privs,
        });
    }

    // clients: client k takes the k-th role of a random order (8%: any role, so shared); 10%
    // get one or two more roles
    let mut order: Vec<usize> = (0..roles.len()).collect();
    rng.shuffle(&mut order);
    let mut clients: Vec<ApiIntegration> = Vec::with_capacity(shape.clients + 2);
    for k in 0..shape.clients {
        let first = match order.get(k) {
            Some(&r) if !rng.chance(0.08) => r,
            _ => rng.below(roles.len()),
        };
        let mut scopes = vec![roles[first].display_name.clone()];
        if rng.chance(0.10) {
            let extra = rng.range(1, 2);
            for _ in 0..extra {
                let r = &roles[rng.below(roles.len())].display_name;
                if !scopes.contains(r) {
                    scopes.push(r.clone());
                }
            }
        }
        if scopes.len() > 1 {
            mix.multi_role_clients += 1;
        }
        let enabled = !rng.chance(0.05);
        let app_type = if (enabled && rng.chance(0.03)) || (!enabled && rng.chance(0.5)) {
            AppType::None
        } else {
            AppType::ClientCredentials
        };
        let lifetime = if rng.chance(0.08) {
            mix.long_lifetime += 1;
            Some(*rng.pick(&[3600, 7200, 14_400, 86_400]))
        } else {
            *rng.pick(&[None, Some(300), Some(600), Some(1800)])
        };
        mix.disabled += usize::from(!enabled);
        mix.no_secret += usize::from(enabled && app_type == AppType::None);
        clients.push(ApiIntegration {
            id: k as i64 + 1,
            authorization_scopes: scopes,
            display_name: format!("{} {:03}", rng.pick(&CLIENT_PURPOSES), k + 1),
            enabled,
            access_token_lifetime_seconds: lifetime,
            app_type,
            client_id: uuid(&mut rng),
        });
    }

    // the desired state: 90% of clients declared (with their roles); every role a declared
    // client holds, and half of the others
    let rotation = |max_age: Option<u64>| ClientRotation {
        schedule: Some(Schedule::off()),
        max_age: max_age.map(|d| Duration::from_secs(d * 86_400)),
        strategy: RotationStrategy::Single,
        adopt: warden_core::config::AdoptPolicy::Hold,
    };
    let mut desired_clients = Vec::new();
    let mut secrets = BTreeMap::new();
    let mut declared_roles: BTreeSet<String> = BTreeSet::new();
    let mut widened_clients: BTreeMap<String, String> = BTreeMap::new();
    for c in &clients {
        if rng.chance(0.10) {
            mix.undeclared_clients += 1;
            continue;
        }
        let want_roles = c.authorization_scopes.clone();
        // 3%: the live client holds a role the desired state does not give it (widening drift)
        if rng.chance(0.03) {
            let extra = roles[rng.below(roles.len())].display_name.clone();
            if !want_roles.contains(&extra) {
                widened_clients.insert(c.display_name.clone(), extra);
                mix.widened_clients += 1;
            }
        }
        declared_roles.extend(want_roles.iter().cloned());
        let enabled = if rng.chance(0.02) {
            !c.enabled
        } else {
            c.enabled
        };
        let lifetime = drift::lifetime(c);
        let lifetime = if rng.chance(0.03) { 300 } else { lifetime };
        let max_age = rng.chance(0.7).then_some(90);
        desired_clients.push(DesiredClient {
            name: c.display_name.clone(),
            roles: want_roles,
            enabled,
            token_lifetime: u32::try_from(lifetime).unwrap_or(300),
            owner: "it-platform@example.com".to_owned(),
            purpose: format!("{} for {name}", c.display_name),
            vault_path: Some(format!("instances/{name}/clients/c{:03}", c.id)),
            rotation: rotation(max_age),
            source: Path::new("desired/fleet.toml").into(),
        });
        let rotated_at = match rng.below(100) {
            0..80 => Some(now - chrono::Duration::days(rng.range(1, 80) as i64)),
            80..90 => {
                mix.overdue += 1;
                Some(now - chrono::Duration::days(rng.range(100, 400) as i64))
            }
            _ => {
                mix.never_rotated += 1;
                None
            }
        };
        secrets.insert(
            c.display_name.clone(),
            SecretFacts {
                rotated_at,
                max_age: max_age.map(|d| chrono::Duration::days(d as i64)),
                adopted: None,
                strategy: "single".to_owned(),
                next_due: rotated_at
                    .zip(max_age)
                    .map(|(at, d)| at + chrono::Duration::days(d as i64)),
                verified: rotated_at.map(|_| true),
                error: None,
            },
        );
    }
    // the widening: the live client gets the extra role after the desired state was taken
    for c in &mut clients {
        if let Some(extra) = widened_clients.remove(&c.display_name) {
            c.authorization_scopes.push(extra);
        }
    }
    // 1 instance in 10: a declared client missing in Jamf
    if rng.chance(0.10) {
        mix.missing_clients += 1;
        let role = roles[rng.below(roles.len())].display_name.clone();
        declared_roles.insert(role.clone());
        desired_clients.push(DesiredClient {
            name: "Decommissioned Connector".to_owned(),
            roles: vec![role],
            enabled: true,
            token_lifetime: 300,
            owner: "it-platform@example.com".to_owned(),
            purpose: "deleted in Jamf by hand".to_owned(),
            vault_path: Some(format!("instances/{name}/clients/decommissioned")),
            rotation: rotation(None),
            source: Path::new("desired/fleet.toml").into(),
        });
    }
    let mut desired_roles = Vec::new();
    for role in &mut roles {
        if !declared_roles.contains(&role.display_name) && !rng.chance(0.5) {
            mix.undeclared_roles += 1;
            continue;
        }
        let mut want = role.privileges.clone();
        if want.len() >= 3 && rng.chance(0.05) {
            // widened in Jamf: the desired state lacks one or two of the live privileges
            let cut = rng.range(1, 2);
            want.truncate(want.len() - cut);
            mix.widened_roles += 1;
        } else if rng.chance(0.03) {
            // narrowed in Jamf: the desired state has a read the role lost
            let missing = privileges.reads.iter().find(|p| !want.contains(p)).cloned();
            if let Some(p) = missing {
                want.push(p);
                mix.narrowed_roles += 1;
            }
        }
        desired_roles.push(DesiredRole {
            name: role.display_name.clone(),
            privileges: want,
            description: None,
            external: false,
            source: Path::new("desired/fleet.toml").into(),
        });
    }

    // holders, for the mix summary
    let mut holders: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &clients {
        for r in &c.authorization_scopes {
            *holders.entry(r.as_str()).or_default() += 1;
        }
    }
    mix.unused_roles = roles
        .iter()
        .filter(|r| !holders.contains_key(r.display_name.as_str()))
        .count();
    mix.shared_roles = holders.values().filter(|n| **n > 1).count();

    // Warden's management role and client (not declared, as by default), and on 3 instances in
    // 10 a Jamf app client with its own role (foreign: never undeclared)
    roles.push(ApiRole {
        id: (roles.len() + 1).to_string(),
        display_name: WARDEN_MANAGEMENT.to_owned(),
        privileges: MANAGEMENT_PRIVILEGES
            .iter()
            .map(|p| (*p).to_owned())
            .collect(),
    });
    clients.push(ApiIntegration {
        id: clients.len() as i64 + 1,
        authorization_scopes: vec![WARDEN_MANAGEMENT.to_owned()],
        display_name: WARDEN_MANAGEMENT.to_owned(),
        enabled: true,
        access_token_lifetime_seconds: Some(300),
        app_type: AppType::ClientCredentials,
        client_id: uuid(&mut rng),
    });
    if rng.chance(0.3) {
        mix.jamf_app += 1;
        roles.push(ApiRole {
            id: (roles.len() + 1).to_string(),
            display_name: JAMF_APP_ROLE.to_owned(),
            privileges: rng.sample(&privileges.reads, 3),
        });
        clients.push(ApiIntegration {
            id: clients.len() as i64 + 1,
            authorization_scopes: vec![JAMF_APP_ROLE.to_owned()],
            display_name: JAMF_APP.to_owned(),
            enabled: true,
            access_token_lifetime_seconds: None,
            app_type: AppType::NativeAppOauth,
            client_id: uuid(&mut rng),
        });
    }

    let catalogue = CatalogueInfo::of(&privileges.all, now - chrono::Duration::hours(3));
    Ok(Synth {
        name,
        url,
        full: Live {
            roles,
            clients,
            privileges: Arc::new(privileges.all.clone()),
        },
        desired: DesiredState {
            roles: desired_roles,
            clients: desired_clients,
        },
        secrets,
        warden_owned: [WARDEN_MANAGEMENT.to_owned()].into(),
        catalogue,
        drift: DriftReport::default(),
        mix,
    })
}

/// Uniform in `[0, 1)`.
fn unit(rng: &mut Rng) -> f64 {
    (rng.next() >> 11) as f64 / (1u64 << 53) as f64
}

/// A UUID-shaped client id.
fn uuid(rng: &mut Rng) -> String {
    let a = rng.next();
    let b = rng.next();
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// Three suppressions as a site would have them: one per instance, one fleet-wide, one
/// expired (reported as `JW-SUP-001`).
fn settings() -> anyhow::Result<AuditSettings> {
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| anyhow!("invalid date"));
    Ok(AuditSettings {
        suppressions: vec![
            Suppression {
                rule: "JW-SEC-001".into(),
                instance: "inst-0002".into(),
                object: "*".into(),
                reason: "escrow integration, see ticket SEC-42".into(),
                owner: "secops@example.com".into(),
                expires: date(2027, 3, 31)?,
            },
            Suppression {
                rule: "JW-HYG-006".into(),
                instance: "*".into(),
                object: "role:Reporting 001".into(),
                reason: "kept for the yearly export".into(),
                owner: "it-ops".into(),
                expires: date(2027, 6, 30)?,
            },
            Suppression {
                rule: "JW-DST-001".into(),
                instance: "*".into(),
                object: "*".into(),
                reason: "kiosks until decommissioning".into(),
                owner: "it-ops".into(),
                expires: date(2026, 10, 31)?,
            },
        ],
        ..AuditSettings::default()
    })
}

/// What the generator made, summed over the fleet as the instances go by.
#[derive(Default)]
struct MixTotals {
    mix: Mix,
    drift_items: usize,
}

impl MixTotals {
    fn add(&mut self, s: &Synth) {
        let t = &mut self.mix;
        for (k, n) in &s.mix.kinds {
            *t.kinds.entry(*k).or_default() += n;
        }
        t.unused_roles += s.mix.unused_roles;
        t.shared_roles += s.mix.shared_roles;
        t.multi_role_clients += s.mix.multi_role_clients;
        t.long_lifetime += s.mix.long_lifetime;
        t.disabled += s.mix.disabled;
        t.no_secret += s.mix.no_secret;
        t.undeclared_clients += s.mix.undeclared_clients;
        t.undeclared_roles += s.mix.undeclared_roles;
        t.jamf_app += s.mix.jamf_app;
        t.widened_roles += s.mix.widened_roles;
        t.narrowed_roles += s.mix.narrowed_roles;
        t.widened_clients += s.mix.widened_clients;
        t.missing_clients += s.mix.missing_clients;
        t.never_rotated += s.mix.never_rotated;
        t.overdue += s.mix.overdue;
        self.drift_items += s.drift.items.len();
    }

    fn print(&self) {
        let t = &self.mix;
        let drift_items = self.drift_items;
        let mut kinds = String::new();
        for (k, n) in &t.kinds {
            let label = match k {
                RoleKind::ReadOnly => "read-only".to_owned(),
                RoleKind::Risky(c) => c.as_str().to_owned(),
                RoleKind::Broad => "broad".to_owned(),
                RoleKind::NearAdmin => "near-admin".to_owned(),
            };
            let _ = write!(
                kinds,
                "{}{label} {n}",
                if kinds.is_empty() { "" } else { ", " }
            );
        }
        println!(
            "== Generated estate (fleet totals, besides Warden's role and client on every instance)"
        );
        println!("  roles              {kinds}");
        println!(
            "                     {} shared, {} unused, {} undeclared",
            t.shared_roles, t.unused_roles, t.undeclared_roles
        );
        println!(
            "  clients            {} multi-role, {} long token lifetime, {} disabled, {} enabled without a secret, {} undeclared; Jamf app client on {} instances",
            t.multi_role_clients,
            t.long_lifetime,
            t.disabled,
            t.no_secret,
            t.undeclared_clients,
            t.jamf_app
        );
        println!(
            "  drift              {} roles widened, {} narrowed, {} clients widened, {} declared clients missing; {drift_items} drift items",
            t.widened_roles, t.narrowed_roles, t.widened_clients, t.missing_clients
        );
        println!(
            "  secrets            {} never rotated by Warden, {} rotated longer ago than max_age (90 days)",
            t.never_rotated, t.overdue
        );
    }
}

/// The findings per rule, on one line (taken before the wire phase consumes the instances).
fn rules_line(report: &AuditReport) -> String {
    let mut by_rule: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for f in report.findings() {
        let e = by_rule.entry(f.rule.as_str()).or_default();
        if f.suppressed_by.is_some() {
            e.1 += 1;
        } else {
            e.0 += 1;
        }
    }
    let mut line = String::new();
    for r in RULES {
        let (n, suppressed) = by_rule.get(r.id).copied().unwrap_or_default();
        let _ = write!(
            line,
            "{}{} {n}",
            if line.is_empty() { "" } else { ", " },
            r.id
        );
        if suppressed > 0 {
            let _ = write!(line, " (+{suppressed} suppressed)");
        }
    }
    line
}

// ---------------------------------------------------------------------------------------------
// Checks

/// Checks one rendering, reading its file as a stream (never the whole output in memory); for
/// JSON, returns how long parsing it back took.
fn check(
    format: Format,
    path: &Path,
    report: &AuditReport,
    findings: usize,
    last_instance: &str,
) -> anyhow::Result<Option<Duration>> {
    let open = || -> anyhow::Result<BufReader<std::fs::File>> {
        let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        Ok(BufReader::with_capacity(1 << 16, f))
    };
    let len = std::fs::metadata(path)?.len();
    ensure!(len > 0, "empty output");
    match format {
        Format::Json => {
            let t = Stopwatch::start();
            let back: ReportBack = serde_json::from_reader(open()?)
                .context("does not parse back to an AuditReport")?;
            let took = t.elapsed();
            let n = back.instances.findings;
            ensure!(
                n == findings,
                "{n} findings parsed back, {findings} in the report"
            );
            ensure!(
                back.summary == report.summary,
                "the summary parsed back differs"
            );
            ensure!(
                back.instances.count == report.instances.len(),
                "{} instances parsed back",
                back.instances.count
            );
            ensure!(back.schema == report.schema, "schema {:?}", back.schema);
            Ok(Some(took))
        }
        Format::Csv => {
            let (records, fields) = csv_shape(open()?)?;
            ensure!(
                records == findings + 1,
                "{records} records, expected {} (header + one per finding)",
                findings + 1
            );
            ensure!(
                fields.iter().all(|f| *f == fields[0]),
                "records have different numbers of fields"
            );
            ensure!(
                starts_with(path, "instance,url,rule,severity,")?,
                "unexpected header"
            );
            Ok(None)
        }
        Format::Sarif => {
            let log: SarifBack = serde_json::from_reader(open()?).context("SARIF is not JSON")?;
            ensure!(log.version == "2.1.0", "SARIF version {:?}", log.version);
            let runs = &log.runs;
            ensure!(
                runs.count == report.instances.len(),
                "{} runs, {} instances",
                runs.count,
                report.instances.len()
            );
            ensure!(
                runs.results == findings,
                "{} SARIF results, {findings} findings",
                runs.results
            );
            ensure!(
                runs.ids.len() == runs.count,
                "{} distinct automation ids for {} runs",
                runs.ids.len(),
                runs.count
            );
            ensure!(
                runs.ids
                    .iter()
                    .any(|id| id.contains(&format!("/{last_instance}/"))),
                "no run of the last instance"
            );
            Ok(None)
        }
        Format::Html => {
            ensure!(
                starts_with(path, "<!DOCTYPE html>")? && ends_with(path, "</html>\n")?,
                "not a complete HTML document"
            );
            ensure!(
                contains(open()?, last_instance)?,
                "the last instance is missing"
            );
            Ok(None)
        }
        Format::Table | Format::Markdown => {
            ensure!(
                contains(open()?, last_instance)?,
                "the last instance is missing"
            );
            Ok(None)
        }
        Format::ReviewCsv => {
            let (records, fields) = csv_shape(open()?)?;
            let expected = 1 + review_entries(report);
            ensure!(
                records == expected,
                "{records} records, expected {expected} (header + one per client or failed instance)"
            );
            ensure!(
                fields.iter().all(|f| *f == fields[0]),
                "records have different numbers of fields"
            );
            ensure!(starts_with(path, "instance,client,")?, "unexpected header");
            Ok(None)
        }
        Format::GrcJson => {
            let doc: GrcBack = serde_json::from_reader(open()?).context("grc-json is not JSON")?;
            let clients: usize = report
                .instances
                .iter()
                .map(|i| i.client_privileges.len())
                .sum();
            ensure!(
                doc.resources.0 == clients,
                "{} resources, {clients} clients",
                doc.resources.0
            );
            Ok(None)
        }
        Format::Oscal => {
            // one observation per finding, each with one `finding-key` property (counted in
            // the text: no JSON tree of the fleet's document)
            ensure!(
                starts_with(path, "{\"assessment-results\":{")?,
                "not an OSCAL assessment-results document"
            );
            let keys = count(open()?, "\"name\":\"finding-key\"")?;
            ensure!(
                keys == findings,
                "{keys} OSCAL observations of findings, {findings} findings"
            );
            ensure!(
                contains(open()?, last_instance)?,
                "the last instance is missing"
            );
            Ok(None)
        }
    }
}

/// The JSON report read back: each instance parsed as an [`InstanceAudit`], counted and
/// dropped.
#[derive(Deserialize)]
struct ReportBack {
    schema: String,
    summary: Summary,
    instances: InstancesBack,
}

struct InstancesBack {
    count: usize,
    findings: usize,
}

impl<'de> Deserialize<'de> for InstancesBack {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = InstancesBack;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of instance audits")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<InstancesBack, A::Error> {
                let mut back = InstancesBack {
                    count: 0,
                    findings: 0,
                };
                while let Some(inst) = seq.next_element::<InstanceAudit>()? {
                    back.count += 1;
                    back.findings += inst.findings.len();
                }
                Ok(back)
            }
        }
        d.deserialize_seq(V)
    }
}

/// A SARIF log read back: its version, and its runs counted one at a time.
#[derive(Deserialize)]
struct SarifBack {
    version: String,
    runs: RunsBack,
}

struct RunsBack {
    count: usize,
    results: usize,
    /// Distinct `automationDetails.id`s.
    ids: BTreeSet<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunBack {
    automation_details: AutomationBack,
    results: Counted,
}

#[derive(Deserialize)]
struct AutomationBack {
    id: String,
}

impl<'de> Deserialize<'de> for RunsBack {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RunsBack;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of SARIF runs")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RunsBack, A::Error> {
                let mut back = RunsBack {
                    count: 0,
                    results: 0,
                    ids: BTreeSet::new(),
                };
                while let Some(run) = seq.next_element::<RunBack>()? {
                    back.count += 1;
                    back.results += run.results.0;
                    back.ids.insert(run.automation_details.id);
                }
                Ok(back)
            }
        }
        d.deserialize_seq(V)
    }
}

/// The access review read back: its resources counted.
#[derive(Deserialize)]
struct GrcBack {
    resources: Counted,
}

/// A JSON list's length, its elements skipped as they are read.
struct Counted(usize);

impl<'de> Deserialize<'de> for Counted {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Counted;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Counted, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Counted(n))
            }
        }
        d.deserialize_seq(V)
    }
}

/// Whether the file at `path` starts with `prefix`.
fn starts_with(path: &Path, prefix: &str) -> anyhow::Result<bool> {
    let mut head = Vec::with_capacity(prefix.len());
    std::fs::File::open(path)?
        .take(prefix.len() as u64)
        .read_to_end(&mut head)?;
    Ok(head == prefix.as_bytes())
}

/// Whether the file at `path` ends with `suffix`.
fn ends_with(path: &Path, suffix: &str) -> anyhow::Result<bool> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let n = suffix.len() as u64;
    if len < n {
        return Ok(false);
    }
    f.seek(SeekFrom::Start(len - n))?;
    let mut tail = Vec::with_capacity(suffix.len());
    f.read_to_end(&mut tail)?;
    Ok(tail == suffix.as_bytes())
}

/// Whether `needle` occurs in what `r` reads (chunk by chunk, overlapping by the needle).
fn contains(mut r: impl Read, needle: &str) -> anyhow::Result<bool> {
    let needle = needle.as_bytes();
    let mut buf = vec![0u8; (1 << 16) + needle.len()];
    let mut kept = 0;
    loop {
        let n = r.read(&mut buf[kept..])?;
        if n == 0 {
            return Ok(false);
        }
        let end = kept + n;
        if buf[..end].windows(needle.len()).any(|w| w == needle) {
            return Ok(true);
        }
        kept = needle.len().saturating_sub(1).min(end);
        buf.copy_within(end - kept..end, 0);
    }
}

/// How often `needle` occurs (without overlap) in what `r` reads, byte by byte through a
/// buffer (Knuth-Morris-Pratt), so a match across two reads counts once.
fn count(r: impl Read, needle: &str) -> anyhow::Result<usize> {
    let p = needle.as_bytes();
    if p.is_empty() {
        return Ok(0);
    }
    let mut fail = vec![0usize; p.len()];
    let mut k = 0;
    for i in 1..p.len() {
        while k > 0 && p[i] != p[k] {
            k = fail[k - 1];
        }
        if p[i] == p[k] {
            k += 1;
        }
        fail[i] = k;
    }
    let (mut q, mut found) = (0usize, 0usize);
    for byte in std::io::BufReader::new(r).bytes() {
        let b = byte?;
        while q > 0 && b != p[q] {
            q = fail[q - 1];
        }
        if b == p[q] {
            q += 1;
        }
        if q == p.len() {
            found += 1;
            q = 0;
        }
    }
    Ok(found)
}

/// Entries of the access review: every client, and one per instance that failed.
fn review_entries(report: &AuditReport) -> usize {
    report
        .instances
        .iter()
        .map(|i| {
            if i.error.is_some() {
                1
            } else {
                i.client_privileges.len()
            }
        })
        .sum()
}

/// Records of an RFC 4180 document (CRLF line ends outside quotes) and each one's number of
/// fields, read as a stream.
fn csv_shape(r: impl Read) -> anyhow::Result<(usize, Vec<usize>)> {
    let mut quoted = false;
    let mut fields = 1;
    let mut records = Vec::new();
    // the byte before, when it was a CR outside quotes
    let mut cr = false;
    let mut last = None;
    for (i, b) in BufReader::new(r).bytes().enumerate() {
        let b = b?;
        if cr {
            if b != b'\n' {
                bail!("a bare CR outside quotes at byte {}", i - 1);
            }
            records.push(fields);
            fields = 1;
            cr = false;
            last = Some(b);
            continue;
        }
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => fields += 1,
            b'\r' if !quoted => cr = true,
            b'\n' if !quoted => bail!("a bare LF outside quotes at byte {i}"),
            _ => {}
        }
        last = Some(b);
    }
    ensure!(!cr, "a bare CR at the end");
    ensure!(!quoted, "an unterminated quoted field");
    ensure!(last == Some(b'\n'), "the last record has no CRLF");
    Ok((records.len(), records))
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// A timed phase.
struct Phase {
    name: String,
    wall: Duration,
    cpu: Option<f64>,
}

impl Phase {
    /// The phase started at `t` (wall) and `cpu` (process CPU seconds); samples memory.
    fn end(name: &str, t: Stopwatch, cpu: Option<f64>, mem: &mut MemoryLog) -> Phase {
        let wall = t.elapsed();
        Phase::finish(name, wall, cpu, mem)
    }

    /// A phase whose time is the sum of per-instance calls (the loop's own work excluded; its
    /// CPU time is the loop's, printed once).
    fn summed(name: &str, calls: &[Duration]) -> Phase {
        Phase {
            name: name.to_owned(),
            wall: calls.iter().sum(),
            cpu: None,
        }
    }

    fn finish(name: &str, wall: Duration, cpu: Option<f64>, mem: &mut MemoryLog) -> Phase {
        let cpu = cpu.zip(cpu_secs()).map(|(a, b)| b - a);
        mem.sample(name);
        Phase {
            name: name.to_owned(),
            wall,
            cpu,
        }
    }

    fn print(&self, instances: usize) {
        let cpu = self
            .cpu
            .map_or_else(|| "n/a".to_owned(), |c| format!("{c:.2} s"));
        println!(
            "  {:<28} {:>9}   [{cpu}]   {} per instance",
            self.name,
            secs(self.wall),
            us(self.wall / u32::try_from(instances.max(1)).unwrap_or(u32::MAX))
        );
    }
}

/// Per-call durations.
struct Stats {
    mean: Duration,
    median: Duration,
    p95: Duration,
    max: Duration,
}

impl Stats {
    fn print(&self, what: &str) {
        println!(
            "  {:<28} {what}: mean {}, median {}, p95 {}, max {}",
            "",
            us(self.mean),
            us(self.median),
            us(self.p95),
            us(self.max)
        );
    }

    fn of(calls: &[Duration]) -> Stats {
        let mut sorted = calls.to_vec();
        sorted.sort_unstable();
        let at = |q: f64| {
            let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
            sorted.get(i).copied().unwrap_or_default()
        };
        let n = u32::try_from(sorted.len().max(1)).unwrap_or(u32::MAX);
        Stats {
            mean: sorted.iter().sum::<Duration>() / n,
            median: at(0.5),
            p95: at(0.95),
            max: sorted.last().copied().unwrap_or_default(),
        }
    }
}

/// `VmHWM` and `VmRSS` of this process after each phase.
#[derive(Default)]
struct MemoryLog {
    samples: Vec<(String, Option<(u64, u64)>)>,
}

impl MemoryLog {
    fn sample(&mut self, after: &str) -> Option<(u64, u64)> {
        let m = proc_memory();
        self.samples.push((after.to_owned(), m));
        m
    }

    fn print(&self) {
        println!("  {:<28} {:>10} {:>10}", "after", "VmHWM", "VmRSS");
        for (after, m) in &self.samples {
            match m {
                Some((hwm, rss)) => println!(
                    "  {after:<28} {:>6.1} MiB {:>6.1} MiB",
                    *hwm as f64 / 1024.0,
                    *rss as f64 / 1024.0
                ),
                None => println!("  {after:<28} {:>10} {:>10}", "n/a", "n/a"),
            }
        }
        if let Some((_, Some((hwm, _)))) = self.samples.last() {
            println!(
                "  peak RSS of the run: {:.1} MiB (VmHWM of /proc/self/status)",
                *hwm as f64 / 1024.0
            );
        }
    }
}

/// `(VmHWM, VmRSS)` in KiB, from `/proc/self/status` (`None` off Linux).
fn proc_memory() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(Path::new("/proc/self/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// User plus system CPU seconds of this process (`/proc/self/stat`, at 100 ticks per second,
/// Linux's `USER_HZ`), `None` off Linux.
fn cpu_secs() -> Option<f64> {
    let text = std::fs::read_to_string(Path::new("/proc/self/stat")).ok()?;
    // fields after the command name (which may contain spaces) start at field 3
    let rest = text.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Option<u64> { fields.get(i)?.parse().ok() };
    // utime is field 14, stime field 15 (1-based)
    Some((ticks(14 - 3)? + ticks(15 - 3)?) as f64 / 100.0)
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`).
fn loadavg() -> String {
    std::fs::read_to_string(Path::new("/proc/loadavg"))
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "n/a".to_owned())
}

fn ratio(a: usize, b: usize) -> f64 {
    a as f64 / b.max(1) as f64
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn us(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `1234567` as `1,234,567`.
fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_records_are_counted_as_rfc_4180_says() {
        let (records, fields) =
            csv_shape(&b"a,b\r\n\"x,\r\ny\",\"say \"\"hi\"\"\"\r\n"[..]).expect("valid CSV");
        assert_eq!(records, 2);
        assert_eq!(fields, vec![2, 2]);
        assert!(csv_shape(&b"a,b\nc,d\n"[..]).is_err(), "bare LF");
        assert!(csv_shape(&b"a,\"b\r\n"[..]).is_err(), "unterminated quote");
    }

    #[test]
    fn a_needle_is_found_across_read_chunks() {
        // longer than one chunk, the needle straddling the first chunk's end
        let mut text = "x".repeat((1 << 16) - 3);
        text.push_str("inst-0999 and more");
        assert!(contains(text.as_bytes(), "inst-0999").expect("read"));
        assert!(!contains(text.as_bytes(), "inst-1000").expect("read"));
    }

    #[test]
    fn sarif_runs_are_counted_with_their_results_and_ids() {
        let log: SarifBack = serde_json::from_str(
            r#"{"version":"2.1.0","runs":[
                {"automationDetails":{"id":"a/x/t"},"results":[{},{}],"tool":{}},
                {"automationDetails":{"id":"a/y/t"},"results":[{"k":[1]}]}]}"#,
        )
        .expect("parses");
        assert_eq!(log.runs.count, 2);
        assert_eq!(log.runs.results, 3);
        assert_eq!(log.runs.ids.len(), 2);
    }

    #[test]
    fn a_seed_gives_the_same_instance() {
        let catalogue = RiskCatalogue::builtin().expect("the built-in catalogue parses");
        let privileges = Privileges::load(&catalogue).expect("the catalogue splits");
        assert_eq!(privileges.all.len(), 522);
        let now = Utc
            .with_ymd_and_hms(2026, 11, 20, 9, 30, 0)
            .single()
            .expect("a valid time");
        let shape = Shape {
            roles: 50,
            clients: 50,
        };
        let a = generate(4, 1, shape, &privileges, now).expect("generates");
        let b = generate(4, 1, shape, &privileges, now).expect("generates");
        let c = generate(4, 2, shape, &privileges, now).expect("generates");
        assert_eq!(a.full, b.full);
        assert_eq!(a.desired, b.desired);
        assert_ne!(a.full, c.full);
        // 50 roles and clients plus Warden's, and perhaps a Jamf app's
        assert!((51..=52).contains(&a.full.roles.len()));
        assert!((51..=52).contains(&a.full.clients.len()));
    }
}
