//! The HTML report's charts and table of contents: the chart data built from reports made for
//! one chart each, and the SVG drawn from it (bar lengths, the max-age line, empty states,
//! escaping).

use super::*;
use crate::audit::SecretView;
use crate::audit::render::charts::{
    AgeHistogram, BAR_LEFT, BAR_RIGHT, BARS_SHOWN, FleetTrend, PLOT_LEFT, PLOT_RIGHT, SeverityBars,
    TREND_DAYS, age_x, bin_width,
};
use crate::audit::render::html::anchors;

fn select(css: &str) -> scraper::Selector {
    scraper::Selector::parse(css).expect("a valid selector")
}

fn html(r: &AuditReport) -> scraper::Html {
    let text = render(r, Format::Html, false);
    let doc = scraper::Html::parse_document(&text);
    assert!(doc.errors.is_empty(), "parse errors: {:?}", doc.errors);
    doc
}

fn num(e: &scraper::ElementRef<'_>, attr: &str) -> f64 {
    e.value()
        .attr(attr)
        .unwrap_or_else(|| panic!("no {attr}"))
        .parse()
        .unwrap_or_else(|e| panic!("{attr}: {e}"))
}

fn text_of(doc: &scraper::Html, css: &str) -> String {
    doc.select(&select(css)).flat_map(|e| e.text()).collect()
}

/// The fixture's `prod` named `name` with its first `keep` unsuppressed findings only.
fn prod_as(r: &AuditReport, name: &str, keep: usize) -> InstanceAudit {
    let mut inst = r.instances[0].clone();
    inst.instance = name.to_owned();
    inst.findings.retain(|f| f.suppressed_by.is_none());
    inst.findings.truncate(keep);
    for f in &mut inst.findings {
        f.instance = name.to_owned();
    }
    inst
}

fn point(days_ago: i64, counts: [usize; 4]) -> TrendPoint {
    TrendPoint {
        at: now() - Duration::days(days_ago),
        critical: counts[0],
        high: counts[1],
        medium: counts[2],
        low: counts[3],
        suppressed: 0,
    }
}

#[test]
fn bars_are_proportional_to_the_findings_most_first() {
    let mut r = report();
    let open = r.instances[0]
        .findings
        .iter()
        .filter(|f| f.suppressed_by.is_none())
        .count();
    assert!(open >= 8, "the fixture has {open} open findings");
    let small = prod_as(&r, "small", 3);
    let middle = prod_as(&r, "middle", 6);
    r.instances.insert(0, small);
    r.instances.push(middle);
    r.recount();

    let bars = SeverityBars::of(&r);
    let order: Vec<(&str, usize)> = bars
        .bars
        .iter()
        .map(|b| (b.name, b.counts.iter().sum()))
        .collect();
    // `staging` could not be audited: no bar
    assert_eq!(order, [("prod", open), ("middle", 6), ("small", 3)]);
    assert_eq!((bars.more, bars.more_findings), (0, 0));

    let doc = html(&r);
    let unit = (BAR_RIGHT - BAR_LEFT) / open as f64;
    let mut drawn = Vec::new();
    for bar in doc.select(&select("#svg-severity g.bar")) {
        let total = num(&bar, "data-total");
        let mut length = 0.0;
        for seg in bar.select(&select("rect.seg")) {
            let n = num(&seg, "data-n");
            let w = num(&seg, "width");
            assert!((w - n * unit).abs() < 0.02, "{n} findings drawn {w} long");
            length += w;
        }
        assert!((length - total * unit).abs() < 0.1, "{total}: {length}");
        drawn.push(
            bar.value()
                .attr("data-instance")
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(drawn, ["prod", "middle", "small"]);
    // the longest bar spans the plot
    assert!((open as f64 * unit - (BAR_RIGHT - BAR_LEFT)).abs() < 1e-9);
}

#[test]
fn a_big_fleet_draws_the_instances_with_most_findings_and_counts_the_rest() {
    let mut r = report();
    let base = r.instances[0].clone();
    let open = base
        .findings
        .iter()
        .filter(|f| f.suppressed_by.is_none())
        .count();
    r.instances = (0..BARS_SHOWN + 5)
        .map(|i| prod_as(&r, &format!("site-{i:02}"), i % (open + 1)))
        .collect();
    r.recount();
    let bars = SeverityBars::of(&r);
    assert_eq!(bars.bars.len(), BARS_SHOWN);
    assert_eq!(bars.more, 5);
    let totals: Vec<usize> = bars.bars.iter().map(|b| b.counts.iter().sum()).collect();
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "{totals:?}");
    let left_out: usize = r.summary.total() - totals.iter().sum::<usize>();
    assert_eq!(bars.more_findings, left_out);
    assert!(
        bars.more_findings <= 5 * totals[BARS_SHOWN - 1],
        "only instances with fewer findings are left out"
    );

    let doc = html(&r);
    assert_eq!(
        doc.select(&select("#svg-severity g.bar")).count(),
        BARS_SHOWN
    );
    let caption = text_of(&doc, "#chart-severity figcaption");
    assert!(
        caption.contains(&format!(
            "5 more instance(s) with {left_out} finding(s) not drawn"
        )),
        "{caption}"
    );
    // the contents still link every instance
    assert_eq!(
        doc.select(&select("nav#contents ol.instances a")).count(),
        BARS_SHOWN + 5
    );
}

/// `prod`'s five clients with managed secrets: rotated 10, 120 and 50 days before the audit
/// (maximum ages 90, 90 and 30 days), never rotated (no maximum age), and unreadable.
fn with_secrets(r: &mut AuditReport) {
    let at = r.instances[0].checked_at.expect("checked");
    let views = [
        Some((10, Some(90))),
        Some((120, Some(90))),
        Some((50, Some(30))),
        None,
    ];
    let clients = &mut r.instances[0].client_privileges;
    assert_eq!(clients.len(), 5);
    for (c, view) in clients.iter_mut().zip(views) {
        c.secret = Some(match view {
            Some((days, max)) => SecretView {
                strategy: "single".into(),
                rotated_at: Some(at - Duration::days(days)),
                max_age_days: max,
                ..SecretView::default()
            },
            None => SecretView {
                strategy: "single".into(),
                ..SecretView::default()
            },
        });
    }
    clients[4].secret = Some(SecretView {
        error: Some("vault is sealed".into()),
        ..SecretView::default()
    });
}

#[test]
fn secret_ages_are_binned_with_the_usual_maximum_age_as_the_line() {
    let mut r = report();
    with_secrets(&mut r);
    let h = AgeHistogram::of(&r);
    assert_eq!(
        (h.managed, h.never, h.unreadable, h.no_max_age),
        (5, 1, 1, 1)
    );
    assert_eq!(h.max_age, Some(90));
    assert_eq!(h.other_max_ages, [(30, 1)]);
    // ages 10, 50 and 120 days: bins of 14 days cover 0..=125
    assert_eq!(h.bin_days, 14);
    assert_eq!(h.bins, [1, 0, 0, 1, 0, 0, 0, 0, 1]);

    let doc = html(&r);
    let line = doc
        .select(&select("#svg-secret-age g.max-age"))
        .next()
        .expect("the max-age line");
    assert_eq!(line.value().attr("data-days"), Some("90"));
    let l = line.select(&select("line")).next().expect("a line");
    let x = num(&l, "x1");
    let expected = PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * 90.0 / (9.0 * 14.0);
    assert!((x - expected).abs() < 0.01, "{x} vs {expected}");
    assert!((x - age_x(90, 9, 14)).abs() < 0.01);
    assert!(age_x(84, 9, 14) < x && x < age_x(98, 9, 14));
    assert!(text_of(&doc, "#svg-secret-age g.max-age").contains("max age 90 d"));
    // columns past the line are dark, the others not
    let fill = |from: &str| {
        doc.select(&select(&format!(
            "#svg-secret-age g.bin[data-from=\"{from}\"] rect"
        )))
        .next()
        .and_then(|e| e.value().attr("fill").map(str::to_owned))
    };
    assert_eq!(fill("112").as_deref(), Some("#7f0000"));
    assert_ne!(fill("0").as_deref(), Some("#7f0000"));
    assert_eq!(fill("14"), None, "an empty bin has no column");
    let caption = text_of(&doc, "#chart-secret-age figcaption");
    for needle in [
        "3 of 5 managed secret(s)",
        "maximum age most policies set (90 days)",
        "other maximum ages: 30 days (1 client(s))",
        "1 without a maximum age",
        "1 never rotated by Warden",
        "1 unreadable",
    ] {
        assert!(caption.contains(needle), "{needle} not in {caption}");
    }
}

#[test]
fn bins_widen_with_the_oldest_secret() {
    assert_eq!(bin_width(0), 1);
    assert_eq!(bin_width(14), 1);
    assert_eq!(bin_width(15), 2);
    assert_eq!(bin_width(119), 14);
    assert_eq!(bin_width(400), 30);
    assert_eq!(bin_width(5000), 365);
    assert_eq!(bin_width(20_000), 365 * 4);
    for span in [0, 7, 29, 90, 365, 1000, 9999] {
        assert!(span / bin_width(span) < 15, "{span}");
    }
}

#[test]
fn the_fleet_trend_counts_each_instance_with_its_latest_audit_per_day() {
    let mut r = report();
    let mut berlin = prod_as(&r, "berlin", 1);
    r.instances[0].trend = vec![point(3, [0, 0, 0, 5]), point(1, [0, 0, 0, 1])];
    berlin.trend = vec![point(2, [0, 2, 0, 0])];
    r.instances.push(berlin);
    let t = FleetTrend::of(&r);
    let day = |ago: i64| (now() - Duration::days(ago)).date_naive();
    assert_eq!(
        t.days,
        [
            (day(3), [0, 0, 0, 5]),
            (day(2), [0, 2, 0, 5]),
            (day(1), [0, 2, 0, 1]),
        ]
    );
    assert_eq!((t.all_days, t.runs), (3, 2));
    let doc = html(&r);
    let totals: Vec<f64> = doc
        .select(&select("#svg-trend g.day"))
        .map(|g| num(&g, "data-total"))
        .collect();
    assert_eq!(totals, [5.0, 7.0, 3.0]);

    // a long history is cut to the newest days
    r.instances[0].trend = (0..TREND_DAYS as i64 + 10)
        .rev()
        .map(|d| point(d + 1, [0, 0, 1, 0]))
        .collect();
    let t = FleetTrend::of(&r);
    assert_eq!((t.days.len(), t.all_days), (TREND_DAYS, TREND_DAYS + 10));
    let caption = text_of(&html(&r), "#chart-trend figcaption");
    assert!(
        caption.contains(&format!(
            "the last {TREND_DAYS} of {} days kept",
            TREND_DAYS + 10
        )),
        "{caption}"
    );
}

#[test]
fn charts_without_data_say_why_instead_of_drawing_an_empty_box() {
    let empty_of = |doc: &scraper::Html, chart: &str| -> String {
        assert_eq!(
            doc.select(&select(&format!("#chart-{chart} svg"))).count(),
            0,
            "{chart} draws a box"
        );
        text_of(doc, &format!("#chart-{chart} p.chart-empty"))
    };
    // no managed secret, one audit so far
    let mut r = report();
    for c in &mut r.instances[0].client_privileges {
        c.secret = None;
    }
    r.instances[0].trend.truncate(1);
    let doc = html(&r);
    assert!(empty_of(&doc, "secret-age").contains("No managed secrets"));
    assert!(empty_of(&doc, "trend").contains("One audit so far"));
    assert_eq!(doc.select(&select("#svg-severity")).count(), 1);

    // several audits, all on one day
    r.instances[0].trend = vec![point(0, [0, 1, 0, 0]), point(0, [0, 0, 0, 1])];
    r.instances[0].trend[0].at -= Duration::hours(1);
    assert!(empty_of(&html(&r), "trend").contains("Audits on one day so far"));

    // secrets Warden never rotated, no history, no findings
    let mut r = report();
    for c in &mut r.instances[0].client_privileges {
        if let Some(s) = &mut c.secret {
            s.rotated_at = None;
        }
    }
    r.instances[0].trend.clear();
    r.instances[0].findings.clear();
    r.recount();
    let doc = html(&r);
    assert!(empty_of(&doc, "secret-age").contains("No managed secret has a known age"));
    assert!(empty_of(&doc, "trend").contains("No audit history yet"));
    assert!(empty_of(&doc, "severity").contains("No unsuppressed findings"));

    // nothing audited
    let mut r = report();
    r.instances.remove(0);
    r.recount();
    let doc = html(&r);
    assert!(empty_of(&doc, "severity").contains("No instance could be audited"));
}

#[test]
fn hostile_instance_names_are_text_and_get_distinct_safe_anchors() {
    let mut r = report();
    let names = [
        "<script>alert(1)</script>",
        "a b",
        "a-b",
        "",
        "Ünïcode \"quoted\"",
    ];
    for name in names {
        let inst = prod_as(&r, name, 2);
        r.instances.push(inst);
    }
    r.recount();
    let ids = anchors(&r);
    assert_eq!(
        ids[2..],
        [
            "instance-script-alert-1-script",
            "instance-a-b",
            "instance-a-b-2",
            "instance-unnamed",
            "instance-n-code-quoted",
        ]
    );
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());

    let text = render(&r, Format::Html, false);
    assert!(
        !text.to_lowercase().contains("<script"),
        "markup got through"
    );
    let doc = html(&r);
    assert_eq!(doc.select(&select("script")).count(), 0);
    let bars: Vec<(String, String)> = doc
        .select(&select("#svg-severity g.bar"))
        .map(|g| {
            (
                g.value()
                    .attr("data-instance")
                    .unwrap_or_default()
                    .to_owned(),
                g.select(&select("title"))
                    .next()
                    .map(|t| t.text().collect())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let hostile = bars
        .iter()
        .find(|(name, _)| name == names[0])
        .expect("a bar for the hostile name");
    assert!(hostile.1.starts_with(names[0]), "{hostile:?}");
    for (inst, id) in r.instances.iter().zip(&ids) {
        let heading = text_of(&doc, &format!("section#{id} > h2"));
        assert_eq!(heading, format!("Instance {}", inst.instance));
        let link = doc
            .select(&select(&format!("nav#contents a[href=\"#{id}\"]")))
            .next()
            .expect("a contents link");
        assert_eq!(link.text().collect::<String>(), inst.instance);
    }
}
