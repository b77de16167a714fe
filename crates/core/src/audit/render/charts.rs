//! The HTML report's pictures: inline SVG charts, drawn from the report alone. No script, no
//! external asset (the report's Content-Security-Policy forbids both), and readable printed in
//! greyscale: the severities differ in lightness, every bar carries its number as text, and
//! every chart has a legend in words.
//!
//! - findings by severity per instance (stacked bars; the [`BARS_SHOWN`] instances with most
//!   findings, the others counted in a note);
//! - the age of managed secrets (a histogram with the policies' maximum age as a line);
//! - the fleet's trend over past audits (stacked columns per day, [`TREND_DAYS`] at most).
//!
//! Each chart is built as data first ([`SeverityBars`], [`AgeHistogram`], [`FleetTrend`]),
//! then drawn; a chart without data says why in words instead of drawing an empty box. Every
//! text that comes from Jamf or the configuration is escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::NaiveDate;

use super::fleet::{self, COLUMNS};
use super::markup::escape;
use super::out::Out;
use super::{severity_label, truncate};
use crate::audit::{AuditReport, Severity};

/// At most this many instances get a bar; the rest are counted in a note.
pub(super) const BARS_SHOWN: usize = 30;
/// At most this many days of the fleet's trend are drawn (the newest).
pub(super) const TREND_DAYS: usize = 90;

/// Width of every chart, in SVG user units (the `viewBox`; the CSS scales it down).
const W: f64 = 720.0;
/// Characters of an instance name shown next to its bar (the whole name is its tooltip).
const NAME_CHARS: usize = 28;

/// The fill of a severity: lightness falls with severity, so greyscale keeps them apart.
fn fill(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "#4d0000",
        Severity::High => "#c0392b",
        Severity::Medium => "#e69500",
        Severity::Low => "#cfe0f5",
    }
}

/// The colour of a number written on a bar of `severity`.
fn ink(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "#fff",
        Severity::Medium | Severity::Low => "#000",
    }
}

/// The charts section of the HTML report.
pub(super) fn write(out: &mut Out<'_>, report: &AuditReport) {
    out.push_str("<section id=\"charts\">\n<h2>Charts</h2>\n");
    severity_bars(out, &SeverityBars::of(report));
    age_histogram(out, &AgeHistogram::of(report));
    fleet_trend(out, &FleetTrend::of(report));
    out.push_str("</section>\n");
}

// ---------------------------------------------------------------------------------------------
// Findings by severity per instance

/// One instance's bar.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Bar<'a> {
    pub name: &'a str,
    /// Unsuppressed findings, most severe first (critical, high, medium, low).
    pub counts: [usize; 4],
}

impl Bar<'_> {
    fn total(&self) -> usize {
        self.counts.iter().sum()
    }
}

/// Unsuppressed findings by severity of the audited instances with most findings.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct SeverityBars<'a> {
    /// Most findings first (ties in the report's order).
    pub bars: Vec<Bar<'a>>,
    /// Audited instances left out (fewer findings than the ones shown).
    pub more: usize,
    /// Their findings.
    pub more_findings: usize,
}

impl<'a> SeverityBars<'a> {
    pub(super) fn of(report: &'a AuditReport) -> SeverityBars<'a> {
        let mut bars: Vec<Bar<'a>> = fleet::fleet(report)
            .matrix
            .into_iter()
            .filter(|r| r.error.is_none())
            .map(|r| Bar {
                name: r.instance,
                counts: r.counts,
            })
            .collect();
        // stable: equal totals keep the report's (configuration) order
        bars.sort_by(|a, b| b.total().cmp(&a.total()).then(b.counts.cmp(&a.counts)));
        let rest = bars.split_off(bars.len().min(BARS_SHOWN));
        SeverityBars {
            bars,
            more: rest.len(),
            more_findings: rest.iter().map(Bar::total).sum(),
        }
    }
}

pub(super) const BAR_LEFT: f64 = 200.0;
pub(super) const BAR_RIGHT: f64 = W - 56.0;
const ROW: f64 = 22.0;
const BAR_H: f64 = 16.0;

/// The length of a bar of `n` findings when the longest has `max` findings.
pub(super) fn bar_length(n: usize, max: usize) -> f64 {
    if max == 0 {
        return 0.0;
    }
    (BAR_RIGHT - BAR_LEFT) * n as f64 / max as f64
}

fn severity_bars(out: &mut Out<'_>, data: &SeverityBars<'_>) {
    let title = "Unsuppressed findings by severity per instance";
    open_figure(out, "severity", title);
    let max = data.bars.iter().map(Bar::total).max().unwrap_or(0);
    if data.bars.is_empty() {
        empty(out, "No instance could be audited: nothing to draw.");
        return;
    }
    if max == 0 {
        empty(
            out,
            &format!(
                "No unsuppressed findings on any of the {} audited instance(s).",
                data.bars.len()
            ),
        );
        return;
    }
    let top = 30.0;
    let height = top + ROW * data.bars.len() as f64 + 8.0;
    open_svg(
        out,
        "severity",
        height,
        title,
        &format!(
            "{} instance(s), the longest bar {max} finding(s); stacked critical, high, medium, low",
            data.bars.len()
        ),
    );
    legend(out, 0.0);
    for (i, bar) in data.bars.iter().enumerate() {
        let y = top + ROW * i as f64;
        let total = bar.total();
        let _ = write!(
            out,
            "<g class=\"bar\" data-instance=\"{}\" data-total=\"{total}\"><title>{}: {}</title>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            escape(bar.name),
            escape(bar.name),
            counts_words(&bar.counts),
            BAR_LEFT - 8.0,
            y + BAR_H - 4.0,
            escape(&truncate(bar.name, NAME_CHARS))
        );
        let mut x = BAR_LEFT;
        for (sev, n) in COLUMNS.iter().zip(bar.counts) {
            if n == 0 {
                continue;
            }
            let w = bar_length(n, max);
            segment(out, *sev, n, x, y, w, BAR_H);
            x += w;
        }
        let _ = writeln!(
            out,
            "<text class=\"total\" x=\"{:.1}\" y=\"{:.1}\">{total}</text></g>",
            x + 6.0,
            y + BAR_H - 4.0
        );
    }
    out.push_str("</svg>\n");
    let mut caption = format!(
        "Unsuppressed findings by severity, most findings first ({} instance(s) shown)",
        data.bars.len()
    );
    if data.more > 0 {
        let _ = write!(
            caption,
            "; {} more instance(s) with {} finding(s) not drawn (see the Fleet table)",
            data.more, data.more_findings
        );
    }
    caption.push('.');
    let _ = writeln!(out, "<figcaption>{caption}</figcaption>\n</figure>");
}

/// `2 critical, 0 high, 1 medium, 4 low`.
fn counts_words(counts: &[usize; 4]) -> String {
    COLUMNS
        .iter()
        .zip(counts)
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One stacked segment: a rectangle with its number on it when the number fits.
fn segment(out: &mut Out<'_>, sev: Severity, n: usize, x: f64, y: f64, w: f64, h: f64) {
    let _ = write!(
        out,
        "<rect class=\"seg sev-{}\" data-n=\"{n}\" x=\"{x:.2}\" y=\"{y:.2}\" width=\"{w:.2}\" \
         height=\"{h:.2}\" fill=\"{}\" stroke=\"#000\" stroke-width=\"0.5\"/>",
        sev.as_str(),
        fill(sev)
    );
    let digits = n.to_string().len() as f64;
    if w >= 7.0 * digits + 4.0 && h >= 11.0 {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{}\" \
             font-size=\"11\">{n}</text>",
            x + w / 2.0,
            y + h / 2.0 + 4.0,
            ink(sev)
        );
    }
}

/// The severities' swatches and names in a row at `y`.
fn legend(out: &mut Out<'_>, y: f64) {
    out.push_str("<g class=\"legend\">");
    let mut x = BAR_LEFT;
    for sev in COLUMNS {
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\" \
             stroke=\"#000\" stroke-width=\"0.5\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            y + 4.0,
            fill(sev),
            x + 16.0,
            y + 14.0,
            severity_label(sev)
        );
        x += 90.0;
    }
    out.push_str("</g>\n");
}

/// The start of a chart's `<svg>`: its size, role, accessible name and description.
fn open_svg(out: &mut Out<'_>, id: &str, height: f64, title: &str, desc: &str) {
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"svg-{id}\" \
         viewBox=\"0 0 {W} {height:.0}\" width=\"{W}\" height=\"{height:.0}\" role=\"img\" \
         aria-label=\"{}\" aria-describedby=\"desc-{id}\" font-size=\"12\" fill=\"#1b1b1b\">\
         \n<title>{}</title><desc id=\"desc-{id}\">{}</desc>",
        escape(title),
        escape(title),
        escape(desc)
    );
}

/// The start of a chart's figure, with its title as a heading.
fn open_figure(out: &mut Out<'_>, id: &str, title: &str) {
    let _ = writeln!(
        out,
        "<figure class=\"chart\" id=\"chart-{id}\">\n<h3>{}</h3>",
        escape(title)
    );
}

/// A chart without data: why, in words, instead of an empty box; ends the figure.
fn empty(out: &mut Out<'_>, why: &str) {
    let _ = writeln!(
        out,
        "<p class=\"chart-empty\" role=\"note\">{}</p>\n</figure>",
        escape(why)
    );
}

// ---------------------------------------------------------------------------------------------
// Secret age

/// The age of managed secrets when their instance was audited, in bins of `bin_days`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct AgeHistogram {
    /// Clients whose secret Warden manages.
    pub managed: usize,
    /// Secrets per bin: bin `i` holds ages `i * bin_days ..= (i + 1) * bin_days - 1`.
    pub bins: Vec<usize>,
    pub bin_days: i64,
    /// The maximum age most managed clients' policies set (the line), in days.
    pub max_age: Option<i64>,
    /// Other maximum ages and how many clients have each.
    pub other_max_ages: Vec<(i64, usize)>,
    /// Managed clients without a maximum age.
    pub no_max_age: usize,
    /// Secrets Warden has never rotated (age unknown).
    pub never: usize,
    /// Secrets whose status could not be read.
    pub unreadable: usize,
}

/// Bin widths the histogram picks from (days), then whole years.
const BIN_DAYS: [i64; 10] = [1, 2, 5, 7, 14, 30, 60, 90, 180, 365];
/// At most this many bins.
const MAX_BINS: i64 = 15;

impl AgeHistogram {
    pub(super) fn of(report: &AuditReport) -> AgeHistogram {
        let mut ages = Vec::new();
        let mut max_ages: BTreeMap<i64, usize> = BTreeMap::new();
        let (mut managed, mut no_max_age, mut never, mut unreadable) = (0, 0, 0, 0);
        for inst in &report.instances {
            let at = inst.checked_at.unwrap_or(report.generated_at);
            for c in &inst.client_privileges {
                let Some(secret) = &c.secret else { continue };
                managed += 1;
                if secret.error.is_some() {
                    unreadable += 1;
                    continue;
                }
                match secret.max_age_days {
                    Some(days) => *max_ages.entry(days).or_default() += 1,
                    None => no_max_age += 1,
                }
                match c.secret_rotated_at() {
                    Some(rotated) => ages.push((at - rotated).num_days().max(0)),
                    None => never += 1,
                }
            }
        }
        // the most common maximum age is the line (ties: the shortest)
        let max_age = max_ages
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(d, _)| *d);
        let other_max_ages = max_ages
            .into_iter()
            .filter(|(d, _)| Some(*d) != max_age)
            .collect();
        let span = ages
            .iter()
            .copied()
            .chain(max_age)
            .max()
            .unwrap_or(0)
            .max(0);
        let bin_days = bin_width(span);
        let mut bins = vec![
            0;
            if ages.is_empty() {
                0
            } else {
                (span / bin_days + 1) as usize
            }
        ];
        for age in ages {
            bins[(age / bin_days) as usize] += 1;
        }
        AgeHistogram {
            managed,
            bins,
            bin_days,
            max_age,
            other_max_ages,
            no_max_age,
            never,
            unreadable,
        }
    }

    /// Secrets with a known age.
    fn dated(&self) -> usize {
        self.bins.iter().sum()
    }
}

/// The narrowest bin width from [`BIN_DAYS`] (then whole years) that covers ages
/// `0..=span` in at most [`MAX_BINS`] bins.
pub(super) fn bin_width(span: i64) -> i64 {
    BIN_DAYS
        .into_iter()
        .chain((2..).map(|y| 365 * y))
        .find(|w| span / w < MAX_BINS)
        .unwrap_or(365)
}

pub(super) const PLOT_LEFT: f64 = 56.0;
pub(super) const PLOT_RIGHT: f64 = W - 16.0;
const PLOT_TOP: f64 = 34.0;
pub(super) const PLOT_H: f64 = 160.0;

/// The x of `days` on a histogram of `bins` bins of `bin_days`.
pub(super) fn age_x(days: i64, bins: usize, bin_days: i64) -> f64 {
    let span = (bins as i64 * bin_days).max(1) as f64;
    PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * days as f64 / span
}

/// The height of a column of `n` when the highest is `max`.
pub(super) fn column_height(n: usize, max: usize) -> f64 {
    if max == 0 {
        return 0.0;
    }
    PLOT_H * n as f64 / max as f64
}

fn age_histogram(out: &mut Out<'_>, h: &AgeHistogram) {
    let title = "Age of managed secrets";
    open_figure(out, "secret-age", title);
    if h.managed == 0 {
        empty(
            out,
            "No managed secrets: Warden manages no client's secret in this report.",
        );
        return;
    }
    if h.bins.is_empty() {
        empty(
            out,
            &format!(
                "No managed secret has a known age: {} never rotated by Warden, {} unreadable.",
                h.never, h.unreadable
            ),
        );
        return;
    }
    let max = h.bins.iter().copied().max().unwrap_or(0);
    let height = PLOT_TOP + PLOT_H + 44.0;
    let base = PLOT_TOP + PLOT_H;
    open_svg(
        out,
        "secret-age",
        height,
        title,
        &format!(
            "{} secret(s) by age in days, in bins of {} day(s){}",
            h.dated(),
            h.bin_days,
            h.max_age
                .map_or_else(String::new, |d| format!("; maximum age {d} days"))
        ),
    );
    axes(out, max, "secrets");
    let step = label_step(h.bins.len(), 12);
    for (i, n) in h.bins.iter().enumerate() {
        let from = i as i64 * h.bin_days;
        let x0 = age_x(from, h.bins.len(), h.bin_days);
        let x1 = age_x(from + h.bin_days, h.bins.len(), h.bin_days);
        let over = h.max_age.is_some_and(|m| from >= m);
        let col_h = column_height(*n, max);
        let _ = write!(
            out,
            "<g class=\"bin\" data-from=\"{from}\" data-n=\"{n}\"><title>{n} secret(s) {} to {} \
             days old</title>",
            from,
            from + h.bin_days - 1
        );
        if *n > 0 {
            let _ = write!(
                out,
                "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{col_h:.2}\" fill=\"{}\" \
                 stroke=\"#000\" stroke-width=\"0.5\"/><text x=\"{:.1}\" y=\"{:.1}\" \
                 text-anchor=\"middle\">{n}</text>",
                x0 + 1.0,
                base - col_h,
                (x1 - x0 - 2.0).max(1.0),
                if over { "#7f0000" } else { "#6f8fb8" },
                (x0 + x1) / 2.0,
                base - col_h - 4.0
            );
        }
        if i % step == 0 {
            let _ = write!(
                out,
                "<text x=\"{x0:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{from}</text>",
                base + 16.0
            );
        }
        out.push_str("</g>\n");
    }
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">secret age (days since the last \
         rotation by Warden)</text>",
        (PLOT_LEFT + PLOT_RIGHT) / 2.0,
        base + 36.0
    );
    if let Some(m) = h.max_age {
        let x = age_x(m, h.bins.len(), h.bin_days);
        let _ = writeln!(
            out,
            "<g class=\"max-age\" data-days=\"{m}\"><line x1=\"{x:.2}\" y1=\"{:.1}\" \
             x2=\"{x:.2}\" y2=\"{base:.1}\" stroke=\"#000\" stroke-width=\"2\" \
             stroke-dasharray=\"6 3\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{}\" \
             font-weight=\"600\">max age {m} d</text></g>",
            PLOT_TOP - 14.0,
            if x > W - 120.0 { x - 4.0 } else { x + 4.0 },
            PLOT_TOP - 16.0,
            if x > W - 120.0 { "end" } else { "start" }
        );
    }
    out.push_str("</svg>\n");
    let mut caption = format!(
        "{} of {} managed secret(s) by days since Warden last rotated them, when their \
         instance was audited",
        h.dated(),
        h.managed
    );
    match h.max_age {
        Some(m) => {
            let _ = write!(
                caption,
                "; the dashed line is the maximum age most policies set ({m} days), bars past \
                 it are dark"
            );
        }
        None => caption.push_str("; no policy sets a maximum age"),
    }
    if !h.other_max_ages.is_empty() {
        let others: Vec<String> = h
            .other_max_ages
            .iter()
            .map(|(d, n)| format!("{d} days ({n} client(s))"))
            .collect();
        let _ = write!(caption, "; other maximum ages: {}", others.join(", "));
    }
    if h.no_max_age > 0 && h.max_age.is_some() {
        let _ = write!(caption, "; {} without a maximum age", h.no_max_age);
    }
    if h.never > 0 {
        let _ = write!(
            caption,
            "; {} never rotated by Warden (age unknown, not drawn)",
            h.never
        );
    }
    if h.unreadable > 0 {
        let _ = write!(caption, "; {} unreadable (not drawn)", h.unreadable);
    }
    caption.push('.');
    let _ = writeln!(
        out,
        "<figcaption>{}</figcaption>\n</figure>",
        escape(&caption)
    );
}

/// Every `step`-th label is written, so at most about `most` are.
fn label_step(n: usize, most: usize) -> usize {
    n.div_ceil(most.max(1)).max(1)
}

/// The y axis of a plot whose highest value is `max`: ticks at 0, the middle and `max`, with
/// light grid lines, and `unit` as its label.
fn axes(out: &mut Out<'_>, max: usize, unit: &str) {
    let base = PLOT_TOP + PLOT_H;
    let mut ticks = vec![0, max];
    if max >= 4 {
        ticks.insert(1, max / 2);
    }
    out.push_str("<g class=\"axis\">");
    for t in ticks {
        let y = base - column_height(t, max);
        let _ = write!(
            out,
            "<line x1=\"{PLOT_LEFT:.1}\" y1=\"{y:.2}\" x2=\"{PLOT_RIGHT:.1}\" y2=\"{y:.2}\" \
             stroke=\"#bbb\" stroke-width=\"0.5\"/><text x=\"{:.1}\" y=\"{:.1}\" \
             text-anchor=\"end\">{t}</text>",
            PLOT_LEFT - 6.0,
            y + 4.0
        );
    }
    let _ = write!(
        out,
        "<line x1=\"{PLOT_LEFT:.1}\" y1=\"{base:.1}\" x2=\"{PLOT_RIGHT:.1}\" y2=\"{base:.1}\" \
         stroke=\"#000\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
         transform=\"rotate(-90 {:.1} {:.1})\">{unit}</text>",
        14.0,
        PLOT_TOP + PLOT_H / 2.0,
        14.0,
        PLOT_TOP + PLOT_H / 2.0
    );
    out.push_str("</g>\n");
}

// ---------------------------------------------------------------------------------------------
// Trend

/// The fleet's unsuppressed findings by severity per day of the kept audits: each instance
/// counted with its latest audit up to the end of that day.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct FleetTrend {
    /// Oldest first: the day and its findings, most severe first.
    pub days: Vec<(NaiveDate, [usize; 4])>,
    /// Days with kept audits in all (more than `days` holds when cut to [`TREND_DAYS`]).
    pub all_days: usize,
    /// The most kept audits of one instance.
    pub runs: usize,
}

impl FleetTrend {
    pub(super) fn of(report: &AuditReport) -> FleetTrend {
        let mut dates: Vec<NaiveDate> = report
            .instances
            .iter()
            .flat_map(|i| i.trend.iter().map(|p| p.at.date_naive()))
            .collect();
        dates.sort_unstable();
        dates.dedup();
        let all_days = dates.len();
        let dates = &dates[all_days.saturating_sub(TREND_DAYS)..];
        let mut days: Vec<(NaiveDate, [usize; 4])> = dates.iter().map(|d| (*d, [0; 4])).collect();
        for inst in &report.instances {
            let mut points: Vec<_> = inst.trend.iter().collect();
            points.sort_by_key(|p| p.at);
            let mut next = 0;
            let mut current: Option<[usize; 4]> = None;
            for (day, sums) in &mut days {
                while let Some(p) = points.get(next).filter(|p| p.at.date_naive() <= *day) {
                    current = Some([p.critical, p.high, p.medium, p.low]);
                    next += 1;
                }
                if let Some(c) = current {
                    for (s, n) in sums.iter_mut().zip(c) {
                        *s += n;
                    }
                }
            }
        }
        let runs = report
            .instances
            .iter()
            .map(|i| i.trend.len())
            .max()
            .unwrap_or(0);
        FleetTrend {
            days,
            all_days,
            runs,
        }
    }
}

fn fleet_trend(out: &mut Out<'_>, t: &FleetTrend) {
    let title = "Findings over past audits (fleet, per day)";
    open_figure(out, "trend", title);
    match t.days.as_slice() {
        [] => {
            empty(
                out,
                "No audit history yet: the trend starts with the daemon's scheduled audits.",
            );
            return;
        }
        [(day, counts)] => {
            let what = if t.runs > 1 {
                "Audits on one day so far"
            } else {
                "One audit so far"
            };
            empty(
                out,
                &format!(
                    "{what} ({day}: {}); the trend needs a second day.",
                    counts_words(counts)
                ),
            );
            return;
        }
        _ => {}
    }
    let max = t
        .days
        .iter()
        .map(|(_, c)| c.iter().sum::<usize>())
        .max()
        .unwrap_or(0);
    let base = PLOT_TOP + PLOT_H;
    let height = base + 44.0;
    let first = t.days[0].0;
    let last = t.days[t.days.len() - 1].0;
    open_svg(
        out,
        "trend",
        height,
        title,
        &format!(
            "{} day(s) from {first} to {last}; at most {max} finding(s) on a day; stacked \
             critical, high, medium, low",
            t.days.len()
        ),
    );
    legend(out, 0.0);
    axes(out, max, "findings");
    let n = t.days.len();
    let slot = (PLOT_RIGHT - PLOT_LEFT) / n as f64;
    let gap = if slot > 6.0 { slot * 0.2 } else { 0.0 };
    let step = label_step(n, 6);
    for (i, (day, counts)) in t.days.iter().enumerate() {
        let x = PLOT_LEFT + slot * i as f64 + gap / 2.0;
        let w = slot - gap;
        let total: usize = counts.iter().sum();
        let _ = write!(
            out,
            "<g class=\"day\" data-day=\"{day}\" data-total=\"{total}\"><title>{day}: {}</title>",
            counts_words(counts)
        );
        let mut y = base;
        for (sev, c) in COLUMNS.iter().zip(counts) {
            if *c == 0 {
                continue;
            }
            let h = column_height(*c, max);
            y -= h;
            segment(out, *sev, *c, x, y, w, h);
        }
        if n <= 31 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{total}</text>",
                x + w / 2.0,
                y - 4.0
            );
        }
        if i % step == 0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + w / 2.0,
                base + 16.0,
                day.format("%Y-%m-%d")
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    let mut caption = format!(
        "Unsuppressed findings of the fleet per day from {first} to {last}, each instance \
         counted with its latest scheduled audit up to that day"
    );
    if t.all_days > n {
        let _ = write!(caption, " (the last {n} of {} days kept)", t.all_days);
    }
    caption.push('.');
    let _ = writeln!(out, "<figcaption>{caption}</figcaption>\n</figure>");
}
