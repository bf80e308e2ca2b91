//! The lab's results as a terminal table, and as an HTML page with one SVG timeline per
//! scenario (who held the VIP when, where the fault came, the window the model predicted).

use super::{LabResult, ScenarioResult};

fn names(v: &[String]) -> String {
    if v.is_empty() {
        "nobody".into()
    } else {
        v.join(" + ")
    }
}

fn predicted(kind: &str, v: &[String]) -> String {
    match kind {
        "either" => format!("{} (either)", v.join(" or ")),
        "split" => format!("{} (split)", v.join(" + ")),
        _ => names(v),
    }
}

/// The terminal table.
pub fn human(r: &LabResult) -> String {
    let mut s = format!(
        "\nhaconf lab: cluster `{}`, network {} ({})\n",
        r.cluster,
        r.network,
        r.nodes
            .iter()
            .map(|n| format!("{} {} on {}", n.name, n.address, n.interface))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let head = [
        "scenario",
        "instance",
        "before",
        "predicted",
        "observed",
        "takeover",
        "window",
        "split",
        "moves",
        "",
    ];
    let mut rows: Vec<[String; 10]> = Vec::new();
    for sc in &r.scenarios {
        for (k, i) in sc.instances.iter().enumerate() {
            rows.push([
                if k == 0 {
                    sc.name.to_owned()
                } else {
                    String::new()
                },
                i.instance.clone(),
                names(&i.before),
                predicted(i.predicted_kind, &i.predicted),
                names(&i.observed),
                i.takeover_seconds
                    .map_or("-".into(), |t| format!("{t:.2} s")),
                i.predicted_window
                    .map_or("-".into(), |w| format!("{:.1}–{:.1} s", w[0], w[1])),
                i.split_brain_samples.to_string(),
                i.vip_moves.to_string(),
                if i.agrees {
                    "ok".into()
                } else {
                    "DISAGREES".into()
                },
            ]);
        }
    }
    let mut w = [0usize; 10];
    for (c, h) in head.iter().enumerate() {
        w[c] = h.chars().count();
    }
    for r in &rows {
        for c in 0..10 {
            w[c] = w[c].max(r[c].chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::from(" ");
        for (c, v) in cells.iter().enumerate() {
            let pad = w[c] - v.chars().count();
            l.push(' ');
            l.push_str(v);
            if c + 1 < cells.len() {
                l.push_str(&" ".repeat(pad + 1));
            }
        }
        l.trim_end().to_owned() + "\n"
    };
    s.push_str(&line(&head.map(str::to_owned)));
    for r in &rows {
        s.push_str(&line(r));
    }
    let mut findings = 0;
    for sc in &r.scenarios {
        for f in &sc.findings {
            findings += 1;
            s.push_str(&format!("  ✗ {}: {f}\n", sc.name));
        }
        for i in &sc.instances {
            if i.split_brain_samples == 0 {
                continue;
            }
            if i.predicted_kind == "split" {
                s.push_str(&format!(
                    "  ! {}: split brain: `{}` ({}) was on {} at once, as the model predicts\n",
                    sc.name,
                    i.instance,
                    i.vip,
                    i.observed.join(" and ")
                ));
            } else if i.agrees {
                s.push_str(&format!(
                    "  · {}: {} sample{} with `{}` on two nodes during the handover\n",
                    sc.name,
                    i.split_brain_samples,
                    if i.split_brain_samples == 1 { "" } else { "s" },
                    i.instance
                ));
            }
        }
    }
    let runs: usize = r.scenarios.iter().map(|s| s.instances.len()).sum();
    let agree: usize = r
        .scenarios
        .iter()
        .flat_map(|s| &s.instances)
        .filter(|i| i.agrees)
        .count();
    s.push_str(&format!(
        "\n{agree} of {runs} predictions agree with real keepalived{}\n",
        if findings == 0 {
            String::new()
        } else {
            format!(
                "; {findings} disagreement{}",
                if findings == 1 { "" } else { "s" }
            )
        }
    ));
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const COLORS: [&str; 6] = [
    "#2f6fdb", "#e08a1e", "#2a9d5c", "#9b4dca", "#c7356b", "#4a8b99",
];

/// One scenario's timeline: a lane per node, a bar where it held the VIP of the first
/// instance (a lane per instance and node when there are several), the fault at 0, the
/// predicted takeover window shaded, split-brain samples marked in red, and the client's
/// failed requests as grey ticks.
fn svg(r: &LabResult, sc: &ScenarioResult) -> String {
    let lanes: Vec<(usize, usize)> = (0..sc.instances.len())
        .flat_map(|wi| (0..r.nodes.len()).map(move |n| (wi, n)))
        .collect();
    let (x0, width, lane_h, top) = (150.0, 760.0, 26.0, 28.0);
    let tmin = sc.samples.first().map_or(-2.0, |s| s.t.min(0.0));
    let tmax = sc.samples.last().map_or(1.0, |s| s.t).max(
        sc.instances
            .iter()
            .filter_map(|i| i.predicted_window)
            .map(|w| w[1])
            .fold(1.0, f64::max),
    );
    let x = |t: f64| x0 + (t - tmin) / (tmax - tmin).max(0.1) * width;
    let h = top + lanes.len() as f64 * lane_h + 60.0;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{h}" viewBox="0 0 {} {h}" role="img" aria-label="VIP holder over time, scenario {}">"#,
        x0 + width + 20.0,
        x0 + width + 20.0,
        esc(sc.name)
    );
    for (wi, i) in sc.instances.iter().enumerate() {
        if let Some(w) = i.predicted_window {
            let ys = top + (wi * r.nodes.len()) as f64 * lane_h;
            s.push_str(&format!(
                r##"<rect x="{:.1}" y="{ys:.1}" width="{:.1}" height="{:.1}" fill="#f3e9a8" opacity="0.7"><title>model: takeover between {:.1} and {:.1} s</title></rect>"##,
                x(w[0]),
                (x(w[1]) - x(w[0])).max(1.0),
                r.nodes.len() as f64 * lane_h,
                w[0],
                w[1]
            ));
        }
    }
    for (li, &(wi, n)) in lanes.iter().enumerate() {
        let y = top + li as f64 * lane_h;
        let label = if sc.instances.len() > 1 {
            format!("{} · {}", sc.instances[wi].instance, r.nodes[n].name)
        } else {
            r.nodes[n].name.clone()
        };
        s.push_str(&format!(
            r##"<text x="8" y="{:.1}" font-size="13" fill="#222">{}</text><line x1="{x0}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#ddd"/>"##,
            y + 17.0,
            esc(&label),
            y + lane_h,
            x0 + width,
            y + lane_h
        ));
        // Bars: consecutive samples where this node held the VIP.
        let mut k = 0;
        while k < sc.samples.len() {
            if !sc.samples[k].holders[wi].contains(&n) {
                k += 1;
                continue;
            }
            let start = k;
            while k < sc.samples.len() && sc.samples[k].holders[wi].contains(&n) {
                k += 1;
            }
            let t1 = sc.samples.get(k).map_or(sc.samples[k - 1].t, |s| s.t);
            s.push_str(&format!(
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}" rx="2"><title>{} holds {} from {:.2} to {:.2} s</title></rect>"#,
                x(sc.samples[start].t),
                y + 5.0,
                (x(t1) - x(sc.samples[start].t)).max(2.0),
                lane_h - 10.0,
                COLORS[n % COLORS.len()],
                esc(&r.nodes[n].name),
                esc(&sc.instances[wi].vip),
                sc.samples[start].t,
                t1
            ));
        }
    }
    // Split brain and failed requests, under the lanes.
    let yb = top + lanes.len() as f64 * lane_h + 4.0;
    for smp in &sc.samples {
        if smp.holders.iter().any(|h| h.len() > 1) {
            s.push_str(&format!(
                r##"<rect x="{:.1}" y="{yb:.1}" width="3" height="8" fill="#d11"/>"##,
                x(smp.t)
            ));
        }
        if smp.answered.iter().any(|a| !a) {
            s.push_str(&format!(
                r##"<rect x="{:.1}" y="{:.1}" width="2" height="8" fill="#888"/>"##,
                x(smp.t),
                yb + 10.0
            ));
        }
    }
    // The fault, and the axis.
    s.push_str(&format!(
        r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#d11" stroke-width="2"/><text x="{:.1}" y="18" font-size="12" fill="#d11">fault</text>"##,
        x(0.0),
        top - 6.0,
        x(0.0),
        yb + 18.0,
        x(0.0) + 4.0
    ));
    let step = if tmax - tmin > 30.0 {
        5.0
    } else if tmax - tmin > 12.0 {
        2.0
    } else {
        1.0
    };
    let mut t = (tmin / step).ceil() * step;
    while t <= tmax {
        s.push_str(&format!(
            r##"<text x="{:.1}" y="{:.1}" font-size="11" fill="#555" text-anchor="middle">{t}s</text>"##,
            x(t),
            yb + 34.0
        ));
        t += step;
    }
    s.push_str("</svg>");
    s
}

/// The HTML report: self-contained, no script, no external resource.
pub fn html(results: &[LabResult]) -> String {
    let mut s = String::from(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>haconf lab</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:980px}
h1{font-size:22px} h2{font-size:18px;margin-top:28px} h3{font-size:15px;margin:18px 0 4px}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
.bad{color:#b00;font-weight:600} .ok{color:#176b2c} .legend span{display:inline-block;margin-right:14px;font-size:12px}
.sw{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:4px}
</style></head><body>
<h1>haconf lab</h1>
"#,
    );
    for r in results {
        s.push_str(&format!(
            "<h2>Cluster <code>{}</code>, network {}</h2>\n<p>{}</p>\n",
            esc(&r.cluster),
            r.network,
            r.nodes
                .iter()
                .map(|n| format!(
                    "{} {} on {}",
                    esc(&n.name),
                    esc(&n.address),
                    esc(&n.interface)
                ))
                .collect::<Vec<_>>()
                .join(" · ")
        ));
        s.push_str("<div class=\"legend\">");
        for (k, n) in r.nodes.iter().enumerate() {
            s.push_str(&format!(
                "<span><i class=\"sw\" style=\"background:{}\"></i>{} holds the VIP</span>",
                COLORS[k % COLORS.len()],
                esc(&n.name)
            ));
        }
        s.push_str("<span><i class=\"sw\" style=\"background:#f3e9a8\"></i>predicted takeover window</span><span><i class=\"sw\" style=\"background:#d11\"></i>split brain</span><span><i class=\"sw\" style=\"background:#888\"></i>client got no answer</span></div>\n");
        s.push_str("<table><tr><th>scenario</th><th>instance</th><th>predicted</th><th>observed</th><th>takeover</th><th>window</th><th>split samples</th><th>moves</th><th></th></tr>\n");
        for sc in &r.scenarios {
            for i in &sc.instances {
                s.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>\n",
                    sc.name,
                    esc(&i.instance),
                    esc(&predicted(i.predicted_kind, &i.predicted)),
                    esc(&names(&i.observed)),
                    i.takeover_seconds.map_or("-".into(), |t| format!("{t:.2} s")),
                    i.predicted_window.map_or("-".into(), |w| format!("{:.1}–{:.1} s", w[0], w[1])),
                    i.split_brain_samples,
                    i.vip_moves,
                    if i.agrees { "ok" } else { "bad" },
                    if i.agrees { "agrees" } else { "disagrees" }
                ));
            }
        }
        s.push_str("</table>\n");
        for sc in &r.scenarios {
            s.push_str(&format!("<h3>{} — {}</h3>\n", sc.name, esc(&sc.fault)));
            for f in &sc.findings {
                s.push_str(&format!("<p class=\"bad\">✗ {}</p>\n", esc(f)));
            }
            s.push_str(&svg(r, sc));
            s.push('\n');
        }
    }
    s.push_str("</body></html>\n");
    s
}
