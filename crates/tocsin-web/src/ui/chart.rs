//! Charts for the pages that show figures over time (uptime, latency, error
//! budgets, trends): SVG drawn on the server with plotters, so pages need no
//! JavaScript and every chart is a picture with a text equivalent (ADR 0009).
//! Each chart comes with a `<title>` and a `<desc>` summarising its data;
//! pages should also show the key figures as text.

use plotters::prelude::*;

const INK: RGBColor = RGBColor(0x14, 0x21, 0x3d);
const GRID: RGBColor = RGBColor(0xd0, 0xd0, 0xd0);
const ACCENT: RGBColor = RGBColor(0x0b, 0x5c, 0xad);

/// One series of points: x is seconds (or any increasing number), y a value.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    pub label: &'a str,
    pub points: &'a [(f64, f64)],
}

/// A line chart of one or more series over a shared x range. `x_label`
/// formats an x value for the axis ("14:00", "Mon"), `y_unit` is appended
/// to y values ("ms", "%").
pub fn line_chart(
    title: &str,
    series: &[Series<'_>],
    x_label: &dyn Fn(f64) -> String,
    y_unit: &str,
    size: (u32, u32),
) -> Result<String, String> {
    let (xs, ys): (Vec<f64>, Vec<f64>) =
        series.iter().flat_map(|s| s.points.iter().copied()).unzip();
    let (x0, x1) = bounds(&xs);
    let (_, y1) = bounds(&ys);
    let y0 = 0.0_f64.min(ys.iter().copied().fold(f64::INFINITY, f64::min));
    let y1 = if y1 <= y0 { y0 + 1.0 } else { y1 * 1.05 };
    let x1 = if x1 <= x0 { x0 + 1.0 } else { x1 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18).into_font().color(&INK))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .light_line_style(GRID.mix(0.4))
            .bold_line_style(GRID)
            .axis_style(INK)
            .label_style(("sans-serif", 13).into_font().color(&INK))
            .x_labels(6)
            .y_labels(5)
            .x_label_formatter(&|x| x_label(*x))
            .y_label_formatter(&|y| format!("{y:.0}{y_unit}"))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, s) in series.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            let colour = if i == 0 { ACCENT.to_rgba() } else { colour };
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?
                .label(s.label);
        }
        root.present().map_err(|e| e.to_string())?;
    }
    let desc: Vec<String> = series
        .iter()
        .map(|s| {
            let (lo, hi) = bounds(&s.points.iter().map(|p| p.1).collect::<Vec<_>>());
            format!(
                "{}: {} points from {lo:.1}{y_unit} to {hi:.1}{y_unit}",
                s.label,
                s.points.len()
            )
        })
        .collect();
    Ok(with_text_equivalent(svg, title, &desc.join("; ")))
}

fn bounds(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

/// Adds `role="img"`, `<title>` and `<desc>` right after the opening tag.
fn with_text_equivalent(svg: String, title: &str, desc: &str) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    match svg.find('>') {
        Some(end) if svg.starts_with("<svg") => {
            let (open, rest) = svg.split_at(end);
            format!(
                "{open} role=\"img\"><title>{}</title><desc>{}</desc>{}",
                esc(title),
                esc(desc),
                &rest[1..]
            )
        }
        _ => svg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_labelled_line_chart() {
        let points: Vec<(f64, f64)> = (0..24)
            .map(|h| (h as f64 * 3600.0, 40.0 + (h % 5) as f64 * 10.0))
            .collect();
        let svg = line_chart(
            "Latency p95 <checkout>",
            &[Series {
                label: "p95",
                points: &points,
            }],
            &|x| format!("{:02}:00", (x / 3600.0) as i64),
            " ms",
            (640, 240),
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..60]);
        assert!(
            svg.contains("role=\"img\"><title>Latency p95 &lt;checkout&gt;</title>"),
            "escaped title"
        );
        assert!(svg.contains("<desc>p95: 24 points from 40.0 ms to 80.0 ms</desc>"));
        assert!(svg.contains("<polyline"), "the series is drawn");
        assert!(
            svg.contains("00:00") && svg.contains("80 ms"),
            "axis labels"
        );
    }

    #[test]
    fn empty_series_still_draw_axes() {
        let svg = line_chart("Nothing yet", &[], &|x| format!("{x}"), "", (300, 120)).unwrap();
        assert!(svg.contains("<title>Nothing yet</title>"));
    }
}
