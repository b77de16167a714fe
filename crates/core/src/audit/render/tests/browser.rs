//! The HTML report in a real browser: headless Chromium (Debian's `chromium`, installed by
//! `scripts/install-chromium.sh`) renders a fleet report to a PDF, a screenshot and its DOM,
//! and must do so without a Content-Security-Policy violation or a console message, with the
//! three charts and the table of contents in the rendered DOM.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::*;

/// An instance name that would be markup if it were not escaped.
const HOSTILE: &str = "paris <script>alert(1)</script>";

/// The browser: `WARDEN_CHROMIUM_BIN`, else what `scripts/install-chromium.sh` finds or
/// installs. Missing: a failure under CI, else `None` (the caller skips, said on stderr).
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WARDEN_CHROMIUM_BIN") {
        return Some(PathBuf::from(p));
    }
    let script = repo_file("../../scripts/install-chromium.sh");
    let installed = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output();
    if let Ok(out) = &installed
        && out.status.success()
    {
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if path.is_file() {
            return Some(path);
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "chromium is missing and {} could not install it ({installed:?}); install Debian's chromium package",
            script.display()
        );
    }
    eprintln!("SKIPPED: chromium is not installed (scripts/install-chromium.sh failed)");
    None
}

/// Runs headless Chromium on `page` with `args` (a fresh profile in `profile`, killed after
/// 120 s); returns its output.
fn headless(browser: &Path, profile: &Path, page: &Path, args: &[String]) -> Output {
    Command::new("timeout")
        .args(["--kill-after=5", "120"])
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .output()
        .expect("chromium runs")
}

/// Lines of Chromium's log that show the page misbehaving: a console message (the report has
/// no script, so it has none), a CSP violation, an uncaught error.
fn page_problems(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| {
            l.contains(":CONSOLE")
                || l.contains("Content Security Policy")
                || l.contains("Refused to")
                || l.contains("Uncaught")
        })
        .map(str::to_owned)
        .collect()
}

/// The test fixture grown into a fleet: `prod`, `staging` (not audited), `berlin` and an
/// instance with a hostile name, with findings, managed secrets (one past its maximum age)
/// and trend points over several days.
fn fleet_report() -> AuditReport {
    let mut r = report();
    let prod = r.instances[0].clone();
    for (name, days_back, rotated_days) in [(HOSTILE, 5, 120), ("berlin", 3, 40)] {
        let mut inst = prod.clone();
        inst.instance = name.to_owned();
        inst.url = format!("https://{}.example.com", name.len());
        for f in &mut inst.findings {
            f.instance = name.to_owned();
        }
        if name == "berlin" {
            inst.findings.retain(|f| f.severity < Severity::High);
        }
        for c in &mut inst.client_privileges {
            if let Some(s) = &mut c.secret
                && s.rotated_at.is_some()
            {
                s.rotated_at = Some(now() - Duration::days(rotated_days));
            }
        }
        inst.since_last = None;
        inst.trend = vec![
            TrendPoint {
                at: now() - Duration::days(days_back),
                critical: 1,
                high: 2,
                medium: 3,
                low: 1,
                suppressed: 0,
            },
            TrendPoint {
                at: now() - Duration::minutes(3),
                high: 1,
                medium: 2,
                ..TrendPoint::default()
            },
        ];
        r.instances.push(inst);
    }
    r.recount();
    r
}

#[test]
fn chromium_renders_the_html_report_with_its_charts_and_contents() {
    let Some(browser) = chromium() else { return };
    let r = fleet_report();
    let dir = tempfile::tempdir().expect("a temp dir");
    let page = dir.path().join("audit.html");
    std::fs::write(&page, render(&r, Format::Html, false)).expect("written");

    // the DOM as Chromium built it
    let out = headless(
        &browser,
        &dir.path().join("profile-dom"),
        &page,
        &["--dump-dom".to_owned()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium --dump-dom failed: {stderr}");
    assert_eq!(page_problems(&stderr), Vec::<String>::new(), "{stderr}");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    let doc = scraper::Html::parse_document(&dom);
    let select = |css: &str| scraper::Selector::parse(css).expect("a valid selector");
    for id in ["svg-severity", "svg-secret-age", "svg-trend"] {
        let svg = doc
            .select(&select(&format!("svg#{id}[role=img]")))
            .next()
            .unwrap_or_else(|| panic!("the rendered DOM lacks the chart {id}"));
        assert!(svg.value().attr("aria-label").is_some(), "{id}");
        assert!(svg.select(&select("title")).next().is_some(), "{id}");
        assert!(
            svg.select(&select("rect")).count() > 0,
            "{id} draws nothing"
        );
    }
    // one bar per audited instance; the hostile name is text, not a script
    assert_eq!(doc.select(&select("#svg-severity g.bar")).count(), 3);
    assert_eq!(doc.select(&select("script")).count(), 0);
    let toc: Vec<(String, String)> = doc
        .select(&select("nav#contents a[href]"))
        .map(|a| {
            (
                a.value().attr("href").unwrap_or_default().to_owned(),
                a.text().collect(),
            )
        })
        .collect();
    for inst in &r.instances {
        let (href, _) = toc
            .iter()
            .find(|(_, text)| *text == inst.instance)
            .unwrap_or_else(|| panic!("the contents lack {}", inst.instance));
        let section = doc
            .select(&select(&format!("section{href}")))
            .next()
            .unwrap_or_else(|| panic!("{href} names no section"));
        let heading: String = section
            .select(&select("h2"))
            .next()
            .expect("a heading")
            .text()
            .collect();
        assert_eq!(heading, format!("Instance {}", inst.instance));
    }
    for section in ["#summary", "#evidence", "#suppressions", "#rules"] {
        assert!(
            toc.iter().any(|(h, _)| h == section),
            "{section} in {toc:?}"
        );
    }

    // printed: a PDF of some pages
    let pdf = dir.path().join("audit.pdf");
    let out = headless(
        &browser,
        &dir.path().join("profile-pdf"),
        &page,
        &[
            format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer".to_owned(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "chromium --print-to-pdf failed: {stderr}"
    );
    assert_eq!(page_problems(&stderr), Vec::<String>::new(), "{stderr}");
    let bytes = std::fs::read(&pdf).expect("the PDF is written");
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let pages = bytes.windows(10).filter(|w| w == b"/Type /Pag").count();
    assert!(
        bytes.len() > 20_000 && pages > 3,
        "a trivial PDF: {} bytes, {pages} page object(s)",
        bytes.len()
    );

    // on screen: a screenshot of the top (contents, summary, fleet, charts)
    let png = dir.path().join("audit.png");
    let out = headless(
        &browser,
        &dir.path().join("profile-png"),
        &page,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2400".to_owned(),
            "--hide-scrollbars".to_owned(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "chromium --screenshot failed: {stderr}"
    );
    assert_eq!(page_problems(&stderr), Vec::<String>::new(), "{stderr}");
    let bytes = std::fs::read(&png).expect("the screenshot is written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let width = u32::from_be_bytes(bytes[16..20].try_into().expect("4 bytes"));
    let height = u32::from_be_bytes(bytes[20..24].try_into().expect("4 bytes"));
    assert_eq!((width, height), (1280, 2400));
    assert!(
        bytes.len() > 50_000,
        "a blank screenshot: {} bytes",
        bytes.len()
    );

    // WARDEN_BROWSER_KEEP=DIR keeps the page, the PDF and the screenshot for a look
    if let Some(keep) = std::env::var_os("WARDEN_BROWSER_KEEP") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).expect("the keep dir");
        for file in [&page, &pdf, &png] {
            let name = file.file_name().expect("a file name");
            std::fs::copy(file, keep.join(name)).expect("kept");
        }
    }
}

/// The check above would see a violation: a page under the report's CSP that tries to run a
/// script and load an image is reported in Chromium's log.
#[test]
fn chromium_logs_what_the_report_s_csp_blocks() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let page = dir.path().join("bad.html");
    let html = render(&report(), Format::Html, false).replace(
        "</body>",
        "<script>console.log('ran')</script><img src=\"http://127.0.0.1:9/x.png\" alt=\"\"></body>",
    );
    std::fs::write(&page, html).expect("written");
    let out = headless(
        &browser,
        &dir.path().join("profile"),
        &page,
        &["--dump-dom".to_owned()],
    );
    assert!(out.status.success());
    let problems = page_problems(&String::from_utf8_lossy(&out.stderr));
    assert!(
        problems.len() >= 2
            && problems
                .iter()
                .all(|l| l.contains("Content Security Policy")),
        "{problems:?}"
    );
}
