//! `wardenctl audit [INSTANCE...] [--last]` and `wardenctl audit client INSTANCE/CLIENT`: the
//! risk audit, rendered here from the daemon's `warden.audit/1` report in the format asked for,
//! to stdout or a file. Exit 1 when an unsuppressed finding at or above `--fail-on` exists;
//! exit 2 when an instance could not be audited.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::Path;

use anyhow::Context as _;
use warden_core::audit::render::{Format, render_to};
use warden_core::audit::{AuditReport, Category, Finding, Framework, compliance};
use warden_core::protocol::{AuditRequest, Response};

use crate::cli::{AuditArgs, AuditCommand, AuditFormat, AuditOutput, RotateTarget};
use crate::client::unexpected;
use crate::{Ctx, Exit};

/// Runs `audit` or `audit client`.
pub async fn run(ctx: &Ctx, args: AuditArgs) -> anyhow::Result<Exit> {
    let (request, output, client) = match args.command {
        Some(AuditCommand::Client { target, output }) => {
            let RotateTarget { instance, client } = target;
            let request = AuditRequest {
                instances: vec![instance],
                client: Some(client.clone()),
                last: args.last,
                stream: true,
            };
            (request, output, Some(client))
        }
        None => {
            let request = AuditRequest {
                instances: args.instances,
                client: None,
                last: args.last,
                stream: true,
            };
            (request, args.output, None)
        }
    };
    if args.framework.is_some() {
        compliance_format(ctx, &output)?;
    }
    let mut conn = ctx.connect().await?;
    let cannot_read =
        |e| anyhow::anyhow!("the daemon sent an audit report this wardenctl cannot read: {e}");
    let report: AuditReport = match conn.call("audit", request).await? {
        // a daemon that predates parts answers in one frame
        Response::Report(answer) => answer.body.decode().map_err(cannot_read)?,
        Response::ReportStart(start) => {
            let mut report: AuditReport = start.body.decode().map_err(cannot_read)?;
            // each part's privilege names shared with the catalogue's as it arrives: a fleet
            // report then holds each name once, not once per client
            let names = warden_core::audit::RiskCatalogue::builtin().ok();
            conn.parts(
                "audit",
                |mut items: Vec<warden_core::audit::InstanceAudit>| {
                    if let Some(c) = &names {
                        items.iter_mut().for_each(|i| c.share_names(i));
                    }
                    report.instances.extend(items);
                },
            )
            .await?;
            report
        }
        other => return Err(unexpected("report", &other)),
    };
    match args.framework {
        Some(framework) => emit_compliance(ctx, &report, &output, framework.into())?,
        None => emit(ctx, &report, &output, client.as_deref())?,
    }
    let errors: Vec<String> = report
        .instances
        .iter()
        .filter_map(|i| i.error.as_ref().map(|e| format!("{}: {e}", i.instance)))
        .collect();
    if !errors.is_empty() {
        anyhow::bail!(
            "{} instance(s) could not be audited:\n  {}",
            errors.len(),
            errors.join("\n  ")
        );
    }
    let failing = output
        .fail_on
        .severity()
        .map_or(0, |s| report.summary.at_or_above(s));
    Ok(if failing > 0 {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

/// Renders the report and writes it to stdout or `--output`, as it is rendered.
fn emit(
    ctx: &Ctx,
    report: &AuditReport,
    output: &AuditOutput,
    client: Option<&str>,
) -> anyhow::Result<()> {
    let format = output.format.unwrap_or(if ctx.json() {
        AuditFormat::Json
    } else {
        AuditFormat::Table
    });
    let color = output.output.is_none() && ctx.color();
    let what = Format::from(format).as_str();
    match (format, client) {
        (AuditFormat::Table, Some(name)) => {
            // one client's view: small
            let text = render_client(report, name, color);
            write_report(ctx, output, what, |w| w.write_all(text.as_bytes()))
        }
        (format, _) => write_report(ctx, output, what, |w| {
            render_to(report, Format::from(format), color, w)
        }),
    }
}

/// Renders the report grouped by `framework`'s controls and writes it to stdout or `--output`.
fn emit_compliance(
    ctx: &Ctx,
    report: &AuditReport,
    output: &AuditOutput,
    framework: Framework,
) -> anyhow::Result<()> {
    let view = compliance::by_control(report, framework);
    let format = compliance_format(ctx, output)?;
    write_report(
        ctx,
        output,
        &format!("{framework} control"),
        |w| match format {
            AuditFormat::Markdown => compliance::render_markdown_to(&view, w),
            AuditFormat::Json => compliance::render_json_to(&view, w),
            _ => compliance::render_text_to(&view, w),
        },
    )
}

/// The format of the `--framework` view: table (default), markdown or json.
fn compliance_format(ctx: &Ctx, output: &AuditOutput) -> anyhow::Result<AuditFormat> {
    match output.format {
        None if ctx.json() => Ok(AuditFormat::Json),
        None => Ok(AuditFormat::Table),
        Some(f @ (AuditFormat::Table | AuditFormat::Markdown | AuditFormat::Json)) => Ok(f),
        Some(other) => anyhow::bail!(
            "--framework renders table, markdown or json, not {}: drop --format or choose one of these",
            Format::from(other).as_str()
        ),
    }
}

/// Writes a report with `write` to stdout, or to `--output` (saying so unless quiet). Stdout
/// is written through a buffer; a reader that closes the pipe early (`| head`) ends the
/// output cleanly.
fn write_report(
    ctx: &Ctx,
    output: &AuditOutput,
    what: &str,
    write: impl FnOnce(&mut dyn io::Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    match &output.output {
        None => {
            let mut out = io::BufWriter::new(io::stdout().lock());
            match write(&mut out).and_then(|()| out.flush()) {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("failed to write to stdout"),
            }
        }
        Some(path) => {
            write_atomically(path, write)?;
            if !ctx.global.quiet {
                eprintln!("wardenctl: wrote the {what} report to {}", path.display());
            }
            Ok(())
        }
    }
}

/// Writes with `write` to a temporary file beside `path` (buffered, then synced), then renames
/// it over `path`, so a reader never sees half a report.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn io::Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = std::fs::File::create(&tmp)
        .and_then(|f| {
            let mut w = io::BufWriter::new(f);
            write(&mut w)?;
            w.into_inner().map_err(io::IntoInnerError::into_error)
        })
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

/// "What can this client do?": its effective privileges by risk category, then each finding
/// that applies to it and why.
pub fn render_client(report: &AuditReport, client: &str, color: bool) -> String {
    let mut out = String::new();
    let Some(inst) = report.instances.first() else {
        return "no instance audited\n".to_owned();
    };
    let Some(c) = inst.client_privileges.iter().find(|c| c.name == client) else {
        return format!("no API client named {client:?} on {}\n", inst.instance);
    };
    let _ = writeln!(
        out,
        "Client {:?} on {} ({}): {}, {}, token lifetime {} s, {}",
        c.name,
        inst.instance,
        inst.url,
        if c.enabled { "enabled" } else { "disabled" },
        c.app_type,
        c.token_lifetime,
        if c.declared {
            "declared in the desired state"
        } else {
            "NOT declared in the desired state"
        }
    );
    let _ = writeln!(out, "Roles: {}", c.roles.join(", "));
    let _ = writeln!(
        out,
        "Effective privileges: {} (the union over its roles)",
        c.privileges.len()
    );
    for category in Category::ALL {
        if let Some(list) = c.by_category.get(&category) {
            let _ = writeln!(out, "  {} ({}):", category.label(), list.len());
            for p in list {
                let _ = writeln!(out, "    - {p}");
            }
        }
    }
    if !c.unclassified.is_empty() {
        let _ = writeln!(out, "  unclassified ({}):", c.unclassified.len());
        for p in &c.unclassified {
            let _ = writeln!(out, "    - {p}");
        }
    }
    let risky: usize = c.by_category.values().map(Vec::len).sum();
    let _ = writeln!(
        out,
        "  other privileges: {}",
        c.privileges.len() - risky - c.unclassified.len()
    );
    out.push('\n');
    if inst.findings.is_empty() {
        out.push_str("No finding applies to this client.\n");
        return out;
    }
    let _ = writeln!(out, "Findings that apply ({}):", inst.findings.len());
    for f in &inst.findings {
        write_finding(&mut out, f, report, color);
    }
    out
}

fn write_finding(out: &mut String, f: &Finding, report: &AuditReport, color: bool) {
    let severity = f.severity.as_str().to_uppercase();
    let severity = if color {
        let code = match f.severity {
            warden_core::audit::Severity::Critical => "\x1b[1;31m",
            warden_core::audit::Severity::High => "\x1b[31m",
            warden_core::audit::Severity::Medium => "\x1b[33m",
            warden_core::audit::Severity::Low => "\x1b[36m",
        };
        format!("{code}{severity}\x1b[0m")
    } else {
        severity
    };
    let via = match f.subject.kind {
        warden_core::audit::SubjectKind::Role => format!(" (through role {:?})", f.subject.name),
        _ => String::new(),
    };
    let _ = writeln!(out, "- {severity} {} {}{via}", f.rule, f.title);
    let _ = writeln!(out, "    why: {}", f.rationale);
    if !f.evidence.privileges.is_empty() {
        let _ = writeln!(out, "    privileges: {}", f.evidence.privileges.join(", "));
    }
    for (k, v) in &f.evidence.facts {
        let _ = writeln!(out, "    {k}: {v}");
    }
    let _ = writeln!(out, "    fix: {}", f.fix);
    if let Some(s) = f.suppressed_by.and_then(|i| report.suppressions.get(i)) {
        let _ = writeln!(
            out,
            "    suppressed by {} until {}: {}",
            s.owner,
            s.expires
                .map_or_else(|| "never".to_owned(), |d| d.to_string()),
            s.reason
        );
    }
}
