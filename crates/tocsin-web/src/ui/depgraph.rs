//! The dependency picture on a service page, drawn on the server as SVG
//! (plotters' SVG backend): three columns, what the service needs → the
//! service → what needs it, with arrows in the direction trouble travels.
//! Server-side drawing keeps the page free of JavaScript; the page also
//! lists the same names as links, for screen readers and for anyone the
//! picture does not reach.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const WIDTH: i32 = 720;
const BOX_W: i32 = 180;
const BOX_H: i32 = 34;
const ROW: i32 = 46;
const TOP: i32 = 44;
/// Left edges of the three columns.
const COLS: [i32; 3] = [10, 270, 530];
/// Longer names are cut in the picture (the text list has them whole).
const MAX_CHARS: usize = 20;

const INK: RGBColor = RGBColor(0x14, 0x21, 0x3d);
const MUTED: RGBColor = RGBColor(0x4a, 0x4a, 0x4a);
const PANEL: RGBColor = RGBColor(0xf4, 0xf5, 0xf7);
const ACCENT: RGBColor = RGBColor(0x0b, 0x5c, 0xad);

/// The SVG markup, with a `<title>` and `<desc>` naming every box so the
/// picture has a text equivalent. Empty if drawing failed (the page still
/// has the text list).
pub fn render(service: &str, needs: &[String], needed_by: &[String]) -> String {
    let rows = needs.len().max(needed_by.len()).max(1) as i32;
    let height = TOP + rows * ROW + 6;
    let mut svg = String::new();
    let drawn = draw(&mut svg, height, service, needs, needed_by);
    if let Err(e) = drawn {
        tracing::warn!(error = %e, service, "dependency picture not drawn");
        return String::new();
    }
    label(svg, service, needs, needed_by)
}

fn draw(
    buf: &mut String,
    height: i32,
    service: &str,
    needs: &[String],
    needed_by: &[String],
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut b = SVGBackend::with_string(buf, (WIDTH as u32, height as u32));
    let heading = TextStyle::from(("sans-serif", 17).into_font().style(FontStyle::Bold))
        .color(&INK)
        .pos(Pos::new(HPos::Center, VPos::Center));
    let name = TextStyle::from(("sans-serif", 18).into_font())
        .color(&INK)
        .pos(Pos::new(HPos::Center, VPos::Center));
    let none = TextStyle::from(("sans-serif", 17).into_font().style(FontStyle::Italic))
        .color(&MUTED)
        .pos(Pos::new(HPos::Center, VPos::Center));
    for (col, title) in COLS.iter().zip(["Needs", "This service", "Needed by"]) {
        b.draw_text(title, &heading, (col + BOX_W / 2, 16))?;
    }
    let rows = (height - TOP) / ROW;
    // The service sits in the middle of the tallest column.
    let mid_y = TOP + (rows * ROW) / 2 - BOX_H / 2;
    let mid = (COLS[1], mid_y);
    let bold = TextStyle::from(("sans-serif", 18).into_font().style(FontStyle::Bold))
        .color(&WHITE)
        .pos(Pos::new(HPos::Center, VPos::Center));
    b.draw_rect(mid, (mid.0 + BOX_W, mid.1 + BOX_H), &ACCENT, true)?;
    b.draw_text(
        &short(service),
        &bold,
        (mid.0 + BOX_W / 2, mid.1 + BOX_H / 2),
    )?;
    let line = ShapeStyle {
        color: INK.to_rgba(),
        filled: false,
        stroke_width: 2,
    };
    for (side, names) in [(0, needs), (2, needed_by)] {
        let x = COLS[side];
        if names.is_empty() {
            b.draw_text("nothing", &none, (x + BOX_W / 2, mid_y + BOX_H / 2))?;
            continue;
        }
        // Centre the column against the tallest one.
        let y0 = TOP + ((rows - names.len() as i32) * ROW) / 2;
        for (i, n) in names.iter().enumerate() {
            let y = y0 + i as i32 * ROW;
            b.draw_rect((x, y), (x + BOX_W, y + BOX_H), &PANEL, true)?;
            b.draw_rect((x, y), (x + BOX_W, y + BOX_H), &line, false)?;
            b.draw_text(&short(n), &name, (x + BOX_W / 2, y + BOX_H / 2))?;
            let (from, to) = if side == 0 {
                ((x + BOX_W, y + BOX_H / 2), (COLS[1], mid_y + BOX_H / 2))
            } else {
                ((COLS[1] + BOX_W, mid_y + BOX_H / 2), (x, y + BOX_H / 2))
            };
            b.draw_line(from, to, &line)?;
            b.fill_polygon(arrow_head(from, to), &INK)?;
        }
    }
    b.present()?;
    Ok(())
}

/// A filled triangle whose tip is at `to`, pointing away from `from`.
fn arrow_head(from: (i32, i32), to: (i32, i32)) -> Vec<(i32, i32)> {
    let (dx, dy) = (f64::from(to.0 - from.0), f64::from(to.1 - from.1));
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    let (ux, uy) = (dx / len, dy / len);
    let (back, half) = (10.0, 5.0);
    let bx = f64::from(to.0) - ux * back;
    let by = f64::from(to.1) - uy * back;
    let p = |x: f64, y: f64| (x.round() as i32, y.round() as i32);
    vec![
        to,
        p(bx - uy * half, by + ux * half),
        p(bx + uy * half, by - ux * half),
    ]
}

fn short(name: &str) -> String {
    if name.chars().count() <= MAX_CHARS {
        name.to_owned()
    } else {
        let mut s: String = name.chars().take(MAX_CHARS - 1).collect();
        s.push('…');
        s
    }
}

/// Makes the drawing an image with a name and a description.
fn label(svg: String, service: &str, needs: &[String], needed_by: &[String]) -> String {
    let list = |names: &[String]| {
        if names.is_empty() {
            "nothing".to_owned()
        } else {
            names.join(", ")
        }
    };
    let title = format!("Dependencies of {service}");
    let desc = format!(
        "{service} needs: {}. Needed by: {}.",
        list(needs),
        list(needed_by)
    );
    let Some(body) = svg.strip_prefix("<svg ") else {
        return svg;
    };
    let Some(end) = body.find('>') else {
        return svg;
    };
    format!(
        "<svg role=\"img\" aria-labelledby=\"deps-title deps-desc\" class=\"deps\" {}><title id=\"deps-title\">{}</title><desc id=\"deps-desc\">{}</desc>{}",
        &body[..end],
        escape(&title),
        escape(&desc),
        &body[end + 1..]
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_three_columns_with_a_text_equivalent() {
        let svg = render("checkout", &["ledger".into(), "postgres".into()], &[]);
        assert!(svg.starts_with("<svg role=\"img\""), "{svg}");
        assert!(
            svg.contains("<title id=\"deps-title\">Dependencies of checkout</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("checkout needs: ledger, postgres. Needed by: nothing."),
            "{svg}"
        );
        for text in [
            ">\nNeeds\n<",
            ">\nledger\n<",
            ">\npostgres\n<",
            ">\ncheckout\n<",
            ">\nnothing\n<",
        ] {
            assert!(svg.contains(text), "{text:?} missing in {svg}");
        }
        assert_eq!(
            svg.matches("<polygon").count(),
            2,
            "one arrow per dependency"
        );
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn long_names_are_cut_and_markup_is_escaped() {
        assert_eq!(
            short("a-very-long-service-name-indeed"),
            "a-very-long-service…"
        );
        let svg = render("x<y", &[], &[]);
        assert!(svg.contains("Dependencies of x&lt;y"), "{svg}");
        assert!(!svg.contains("x<y"));
    }
}
