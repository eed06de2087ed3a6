//! SVG charts for `results/README.md`: grouped bars (a group per program and a bar per
//! contender), on a log scale (ratios of 0.5x and 2x are the same distance from 1x), and lines (a
//! point per record of the history, or per value of a sweep), on a linear scale from zero so a
//! flat line looks flat, each point labelled with its value.
//!
//! Drawing only: the values come in ready-made, and nothing here reads records or decides what a
//! number means. plotters is built with its SVG backend only; text is left to the SVG viewer's
//! fonts.

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::text_anchor;
use std::path::Path;

/// One chart's data: per series (contender) a value per group (program), `None` where missing.
pub struct Bars<'a> {
    /// The chart's title.
    pub title: &'a str,
    /// What the y axis measures.
    pub y_label: &'a str,
    /// The group names along the x axis.
    pub groups: &'a [String],
    /// The series: a name and a value per group.
    pub series: &'a [(String, Vec<Option<f64>>)],
    /// Where bars start: 1.0 for ratios (bars below it point down), else below the smallest value.
    pub base: Option<f64>,
    /// How a y-axis value is printed.
    pub y_format: fn(&f64) -> String,
}

/// Draws `bars` as an SVG file at `path`.
pub fn draw(path: &Path, bars: &Bars) -> Result<()> {
    draw_inner(path, bars).map_err(|e| anyhow!("cannot draw {}: {e}", path.display()))
}

fn draw_inner(path: &Path, bars: &Bars) -> Result<(), Box<dyn std::error::Error>> {
    let values: Vec<f64> =
        bars.series.iter().flat_map(|(_, v)| v.iter().flatten().copied()).collect();
    let (low, high) = y_range(&values, bars.base);
    let base = bars.base.unwrap_or(low);
    let width = 160 + 60 * bars.groups.len().max(1) as u32 * bars.series.len().max(1) as u32 / 2;
    let root = SVGBackend::new(path, (width.clamp(480, 1600), 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(bars.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..bars.groups.len() as f64, (low..high).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(bars.y_label)
        .y_label_formatter(&bars.y_format)
        .draw()?;
    let slot = 0.8 / bars.series.len().max(1) as f64;
    for (index, (name, series)) in bars.series.iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        let rects = series.iter().enumerate().filter_map(|(group, value)| {
            let left = group as f64 + 0.1 + slot * index as f64;
            value.map(|v| Rectangle::new([(left, base), (left + slot * 0.9, v)], color.filled()))
        });
        chart
            .draw_series(rects)?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    for (group, name) in bars.groups.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(group as f64 + 0.5, low));
        let style = TextStyle::from(("sans-serif", 14))
            .pos(text_anchor::Pos::new(text_anchor::HPos::Center, text_anchor::VPos::Top));
        root.draw(&Text::new(name.as_str(), (x, y + 8), style))?;
    }
    root.present()?;
    Ok(())
}

/// One line chart's data: per series a value at each of the evenly spaced x positions.
pub struct Lines<'a> {
    /// The chart's title.
    pub title: &'a str,
    /// What the x axis shows.
    pub x_label: &'a str,
    /// What the y axis measures.
    pub y_label: &'a str,
    /// The label of each x position.
    pub x_labels: &'a [String],
    /// The series: a name and a value per x position (`None` leaves a gap).
    pub series: &'a [(String, Vec<Option<f64>>)],
    /// How a y-axis value is printed.
    pub y_format: fn(&f64) -> String,
}

/// Draws `lines` as an SVG file at `path`.
pub fn draw_lines(path: &Path, lines: &Lines) -> Result<()> {
    draw_lines_inner(path, lines).map_err(|e| anyhow!("cannot draw {}: {e}", path.display()))
}

fn draw_lines_inner(path: &Path, lines: &Lines) -> Result<(), Box<dyn std::error::Error>> {
    let values: Vec<f64> =
        lines.series.iter().flat_map(|(_, v)| v.iter().flatten().copied()).collect();
    // Headroom above the highest point for the legend, in the upper left corner.
    let high = values.iter().copied().filter(|v| v.is_finite()).fold(0.0, f64::max).max(1e-9) * 1.4;
    let count = lines.x_labels.len().max(1);
    let width = (200 + 70 * count as u32).clamp(640, 1600);
    let root = SVGBackend::new(path, (width, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let labels = lines.x_labels;
    let x_format = |x: &f64| {
        let index = x.round();
        let near = (x - index).abs() < 1e-6 && index >= 0.0;
        near.then(|| labels.get(index as usize).cloned()).flatten().unwrap_or_default()
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(lines.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.5f64..count as f64 - 0.5, 0f64..high)?;
    chart
        .configure_mesh()
        .x_labels(count)
        .x_label_formatter(&x_format)
        .x_desc(lines.x_label)
        .y_desc(lines.y_label)
        .y_label_formatter(&lines.y_format)
        .draw()?;
    for (index, (name, series)) in lines.series.iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        let points: Vec<(f64, f64)> = series
            .iter()
            .enumerate()
            .filter_map(|(x, value)| value.map(|v| (x as f64, v)))
            .collect();
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        // Each point carries its value: the axis alone is too coarse to read one off.
        let value_style = TextStyle::from(("sans-serif", 11)).color(&color);
        let format = lines.y_format;
        chart.draw_series(
            points.iter().map(|&(x, y)| Text::new(format(&y), (x + 0.06, y), value_style.clone())),
        )?;
        chart
            .draw_series(std::iter::once(PathElement::new(points, color.stroke_width(2))))?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// A log-scale range holding every value and the base, with some room above and below.
fn y_range(values: &[f64], base: Option<f64>) -> (f64, f64) {
    let positive = values.iter().copied().filter(|v| *v > 0.0 && v.is_finite());
    let (min, max) =
        positive.chain(base).fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if min > max {
        return (0.1, 10.0);
    }
    (min / 2.0, max * 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_hold_values_and_base() {
        assert_eq!(y_range(&[2.0, 8.0], Some(1.0)), (0.5, 16.0));
        assert_eq!(y_range(&[0.0, f64::NAN], None), (0.1, 10.0));
    }

    #[test]
    fn a_line_chart_is_an_svg_naming_its_points_and_series() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lines.svg");
        let series = vec![("auto".to_string(), vec![Some(3.0), None, Some(2.0)])];
        let x_labels = vec!["abc1234".to_string(), "def5678".to_string(), "0123abc".to_string()];
        let lines = Lines {
            title: "t",
            x_label: "commit",
            y_label: "ratio",
            x_labels: &x_labels,
            series: &series,
            y_format: |v| format!("{v}x"),
        };
        draw_lines(&path, &lines).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        for name in ["abc1234", "0123abc", "auto", "<polyline"] {
            assert!(svg.contains(name), "{name} missing");
        }
    }

    #[test]
    fn a_chart_is_an_svg_naming_groups_and_series() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.svg");
        let series = vec![
            ("interp".to_string(), vec![Some(30.0), None]),
            ("v8".to_string(), vec![Some(0.8), Some(1.5)]),
        ];
        let groups = vec!["nbody".to_string(), "sha256".to_string()];
        let bars = Bars {
            title: "t",
            y_label: "y",
            groups: &groups,
            series: &series,
            base: Some(1.0),
            y_format: |v| format!("{v}x"),
        };
        draw(&path, &bars).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg") || svg.contains("<svg"));
        for name in ["nbody", "sha256", "interp", "v8"] {
            assert!(svg.contains(name), "{name} missing");
        }
    }
}
