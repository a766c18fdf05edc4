//! Self-contained SVG line charts.
//!
//! Analysts usually want to *look* at a load profile, a net-metering series or
//! a month-by-month comparison rather than read the underlying table. This
//! module renders such data as a standalone SVG document: axes with "nice"
//! tick values, horizontal grid lines, a zero line when values change sign
//! (net energy can be negative), one coloured line per series and a legend.
//!
//! The renderer depends on nothing but `std`. Text is emitted as plain SVG
//! `<text>` elements and laid out with a fixed per-character width estimate,
//! so no font files or font metrics are needed; the viewer (a browser, an
//! image viewer, a notebook) does the actual text rendering.
//!
//! Input is taken as it comes: non-finite `y` values break a line into
//! separate segments (a gap), points with a non-finite `x` are skipped, and a
//! chart with nothing to draw still renders, with a "no data" note. The output
//! is deterministic: the same chart always gives the same bytes.

use std::fmt::Write as _;

/// Default width of the SVG document, in pixels.
pub const DEFAULT_WIDTH: u32 = 960;
/// Default height of the SVG document, in pixels.
pub const DEFAULT_HEIGHT: u32 = 540;

/// Line colours, used in order; a chart with more lines cycles through them.
///
/// Twelve qualitative colours (matplotlib's `tab10` plus two darker tones from
/// `tab20b`), so that the twelve months of a load profile all get a distinct
/// colour that reads well on a white background.
pub const PALETTE: [&str; 12] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939",
];

/// Smallest document size accepted by [`LineChart::to_svg_with_size`].
const MIN_WIDTH: u32 = 320;
const MIN_HEIGHT: u32 = 200;

/// Rough width of one character of 12px sans-serif text.
const CHAR_W: f64 = 7.0;
/// Most ticks an automatic axis gets.
const MAX_TICKS: usize = 10;

const TOP_MARGIN: f64 = 48.0;
const BOTTOM_MARGIN: f64 = 58.0;
const LEGEND_GAP: f64 = 16.0;
const LEGEND_ROW_H: f64 = 18.0;
const LEGEND_SWATCH: f64 = 24.0;
const LEGEND_PAD: f64 = 10.0;

const AXIS_COLOR: &str = "#333333";
const GRID_COLOR: &str = "#e0e0e0";
const ZERO_COLOR: &str = "#888888";
const TEXT_COLOR: &str = "#222222";

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Legend label.
    pub name: String,
    /// The `(x, y)` points, drawn in the given order. A non-finite `y` breaks
    /// the line (a gap); points with a non-finite `x` are skipped.
    pub points: Vec<(f64, f64)>,
}

impl Line {
    /// A line with the given legend label and points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Line {
            name: name.into(),
            points,
        }
    }
}

/// A line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Title above the plot; empty for none.
    pub title: String,
    /// Label below the x axis; empty for none.
    pub x_label: String,
    /// Label left of the y axis (rotated); empty for none.
    pub y_label: String,
    /// The lines, coloured from [`PALETTE`] in order.
    pub lines: Vec<Line>,
    /// Tick labels on the x axis at these x positions; None = about 6-10 "nice" numeric ticks.
    pub x_ticks: Option<Vec<(f64, String)>>,
}

impl LineChart {
    /// The chart as a standalone SVG document (width 960, height 540 by default).
    ///
    /// ```
    /// use espi_analytics::chart::{Line, LineChart};
    ///
    /// let weekday: Vec<(f64, f64)> = (0..24)
    ///     .map(|h| (h as f64, 0.4 + 0.05 * h as f64))
    ///     .collect();
    /// let chart = LineChart {
    ///     title: "Average load, January".to_string(),
    ///     x_label: "Hour of day".to_string(),
    ///     y_label: "kWh".to_string(),
    ///     lines: vec![Line::new("Weekday", weekday)],
    ///     x_ticks: Some(vec![(0.0, "00:00".into()), (12.0, "12:00".into())]),
    /// };
    /// let svg = chart.to_svg();
    /// assert!(svg.contains("<svg"));
    /// assert!(svg.contains("<polyline"));
    /// assert!(svg.trim_end().ends_with("</svg>"));
    /// ```
    pub fn to_svg(&self) -> String {
        self.to_svg_with_size(DEFAULT_WIDTH, DEFAULT_HEIGHT)
    }

    /// The chart as a standalone SVG document of the given size in pixels
    /// (at least 320 x 200; smaller sizes are raised to that).
    pub fn to_svg_with_size(&self, width: u32, height: u32) -> String {
        render(self, width.max(MIN_WIDTH), height.max(MIN_HEIGHT))
    }
}

/// The colour of the line at `index` (cycling through [`PALETTE`]).
pub fn line_color(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

/// The plot rectangle, in pixels.
#[derive(Debug, Clone, Copy)]
struct Frame {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

impl Frame {
    fn width(&self) -> f64 {
        self.right - self.left
    }

    fn height(&self) -> f64 {
        self.bottom - self.top
    }
}

/// A numeric axis: its range and its ticks (position, label).
#[derive(Debug, Clone)]
struct Axis {
    lo: f64,
    hi: f64,
    ticks: Vec<(f64, String)>,
}

impl Axis {
    /// Where `v` lies in the range, 0 at `lo` and 1 at `hi`. Computed on
    /// halves so that ranges as wide as the whole f64 line do not overflow.
    fn frac(&self, v: f64) -> f64 {
        let den = self.hi / 2.0 - self.lo / 2.0;
        if den > 0.0 && den.is_finite() {
            (v / 2.0 - self.lo / 2.0) / den
        } else {
            0.5
        }
    }
}

fn render(chart: &LineChart, width: u32, height: u32) -> String {
    let w = f64::from(width);
    let h = f64::from(height);
    let mut out = String::new();
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n"
    );
    if !chart.title.is_empty() {
        let _ = writeln!(out, "<title>{}</title>", escape(&chart.title));
    }
    out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    if !chart.title.is_empty() {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"28\" text-anchor=\"middle\" font-size=\"18\" \
             font-weight=\"bold\" fill=\"{TEXT_COLOR}\">{}</text>",
            coord(w / 2.0),
            escape(&chart.title)
        );
    }

    let x_bounds = bounds(
        chart
            .lines
            .iter()
            .flat_map(|l| drawn_points(&l.points).map(|p| p.0)),
    );
    let y_bounds = bounds(
        chart
            .lines
            .iter()
            .flat_map(|l| drawn_points(&l.points).map(|p| p.1)),
    );

    match (x_bounds, y_bounds) {
        (Some((x_min, x_max)), Some((y_min, y_max))) => {
            let x_axis = x_axis(x_min, x_max, chart.x_ticks.as_deref());
            let y_axis = y_axis(y_min, y_max);
            let frame = plot_frame(chart, &y_axis, w, h);
            render_plot(&mut out, chart, &frame, &x_axis, &y_axis, w);
        }
        _ => render_no_data(&mut out, chart, w, h),
    }

    out.push_str("</svg>\n");
    out
}

/// Points that are drawn: both coordinates finite.
fn drawn_points(points: &[(f64, f64)]) -> impl Iterator<Item = (f64, f64)> + '_ {
    points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
}

/// Minimum and maximum of the values, or None when there are none.
fn bounds(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// The lines split into drawable segments: a non-finite `y` ends a segment,
/// a point with a non-finite `x` is skipped.
fn segments(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut segs = Vec::new();
    let mut current = Vec::new();
    for &(x, y) in points {
        if !x.is_finite() {
            continue;
        }
        if !y.is_finite() {
            if !current.is_empty() {
                segs.push(std::mem::take(&mut current));
            }
            continue;
        }
        current.push((x, y));
    }
    if !current.is_empty() {
        segs.push(current);
    }
    segs
}

fn render_no_data(out: &mut String, chart: &LineChart, w: f64, h: f64) {
    let frame = Frame {
        left: 60.0,
        top: TOP_MARGIN,
        right: w - 20.0,
        bottom: h - BOTTOM_MARGIN,
    };
    let _ = writeln!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{GRID_COLOR}\"/>",
        coord(frame.left),
        coord(frame.top),
        coord(frame.width()),
        coord(frame.height())
    );
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"16\" fill=\"#888888\">no data</text>",
        coord((frame.left + frame.right) / 2.0),
        coord((frame.top + frame.bottom) / 2.0)
    );
    axis_labels(out, chart, &frame, h);
}

/// The plot rectangle for a chart with data, leaving room for the y tick
/// labels on the left and the legend on the right.
fn plot_frame(chart: &LineChart, y_axis: &Axis, w: f64, h: f64) -> Frame {
    let label_chars = y_axis
        .ticks
        .iter()
        .map(|(_, s)| s.chars().count())
        .max()
        .unwrap_or(1);
    let y_label_room = if chart.y_label.is_empty() { 8.0 } else { 30.0 };
    let left = (y_label_room + label_chars as f64 * CHAR_W + 12.0).clamp(50.0, w * 0.3);
    let top = TOP_MARGIN;
    let bottom = h - BOTTOM_MARGIN;
    let right = if chart.lines.is_empty() {
        w - 20.0
    } else {
        let layout = legend_layout(&legend_names(chart), bottom - top, w * 0.35);
        w - LEGEND_GAP - layout.width() - 4.0
    };
    Frame {
        left,
        top,
        right,
        bottom,
    }
}

fn render_plot(out: &mut String, chart: &LineChart, frame: &Frame, xa: &Axis, ya: &Axis, w: f64) {
    let px = |x: f64| frame.left + xa.frac(x) * frame.width();
    let py = |y: f64| frame.bottom - ya.frac(y) * frame.height();

    // Horizontal grid lines.
    let _ = writeln!(
        out,
        "<g class=\"grid\" stroke=\"{GRID_COLOR}\" stroke-width=\"1\">"
    );
    for (v, _) in &ya.ticks {
        let y = py(*v);
        if y.is_finite() {
            let _ = writeln!(
                out,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
                coord(frame.left),
                coord(y),
                coord(frame.right),
                coord(y)
            );
        }
    }
    out.push_str("</g>\n");

    // Zero line when the range spans both signs.
    if ya.lo < 0.0 && ya.hi > 0.0 {
        let y = py(0.0);
        let _ = writeln!(
            out,
            "<line class=\"zero\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{ZERO_COLOR}\" stroke-width=\"1.2\"/>",
            coord(frame.left),
            coord(y),
            coord(frame.right),
            coord(y)
        );
    }

    // Axes.
    let _ = writeln!(
        out,
        "<path class=\"axes\" d=\"M{} {}V{}H{}\" fill=\"none\" stroke=\"{AXIS_COLOR}\" stroke-width=\"1\"/>",
        coord(frame.left),
        coord(frame.top),
        coord(frame.bottom),
        coord(frame.right)
    );

    // Y tick labels.
    let _ = writeln!(
        out,
        "<g class=\"y-ticks\" text-anchor=\"end\" fill=\"{TEXT_COLOR}\">"
    );
    for (v, label) in &ya.ticks {
        let y = py(*v);
        if y.is_finite() {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" dy=\"0.32em\">{}</text>",
                coord(frame.left - 6.0),
                coord(y),
                escape(label)
            );
        }
    }
    out.push_str("</g>\n");

    // X tick marks and labels.
    let _ = writeln!(
        out,
        "<g class=\"x-ticks\" text-anchor=\"middle\" fill=\"{TEXT_COLOR}\">"
    );
    for (v, label) in &xa.ticks {
        let x = px(*v);
        if x.is_finite() {
            let _ = writeln!(
                out,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{AXIS_COLOR}\"/>",
                coord(x),
                coord(frame.bottom),
                coord(x),
                coord(frame.bottom + 5.0)
            );
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\">{}</text>",
                coord(x),
                coord(frame.bottom + 19.0),
                escape(label)
            );
        }
    }
    out.push_str("</g>\n");

    axis_labels(out, chart, frame, frame.bottom + BOTTOM_MARGIN);

    // The lines.
    for (i, line) in chart.lines.iter().enumerate() {
        let color = line_color(i);
        let _ = writeln!(out, "<g class=\"line\">");
        let _ = writeln!(out, "<title>{}</title>", escape(&legend_name(i, line)));
        for seg in segments(&line.points) {
            let pts: Vec<(f64, f64)> = seg
                .iter()
                .map(|&(x, y)| (px(x), py(y)))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            match pts.as_slice() {
                [] => {}
                [(x, y)] => {
                    let _ = writeln!(
                        out,
                        "<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"{color}\"/>",
                        coord(*x),
                        coord(*y)
                    );
                }
                _ => {
                    let mut list = String::new();
                    for (k, (x, y)) in pts.iter().enumerate() {
                        if k > 0 {
                            list.push(' ');
                        }
                        let _ = write!(list, "{},{}", coord(*x), coord(*y));
                    }
                    let _ = writeln!(
                        out,
                        "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.8\" \
                         stroke-linejoin=\"round\" stroke-linecap=\"round\" points=\"{list}\"/>"
                    );
                }
            }
        }
        out.push_str("</g>\n");
    }

    if !chart.lines.is_empty() {
        render_legend(out, chart, frame, w);
    }
}

/// The x label below the plot and the rotated y label left of it.
fn axis_labels(out: &mut String, chart: &LineChart, frame: &Frame, h: f64) {
    if !chart.x_label.is_empty() {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\" fill=\"{TEXT_COLOR}\">{}</text>",
            coord((frame.left + frame.right) / 2.0),
            coord(h - 12.0),
            escape(&chart.x_label)
        );
    }
    if !chart.y_label.is_empty() {
        let x = 18.0;
        let y = (frame.top + frame.bottom) / 2.0;
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\" fill=\"{TEXT_COLOR}\" \
             transform=\"rotate(-90 {} {})\">{}</text>",
            coord(x),
            coord(y),
            coord(x),
            coord(y),
            escape(&chart.y_label)
        );
    }
}

// ---------------------------------------------------------------------------
// Legend
// ---------------------------------------------------------------------------

/// How the legend entries are arranged: column-major, `rows` per column.
#[derive(Debug, Clone, PartialEq)]
struct LegendLayout {
    cols: usize,
    rows: usize,
    col_width: f64,
    /// Names longer than this (in characters) are shortened with an ellipsis.
    max_chars: usize,
    /// How many entries are shown; when fewer than all, a last "+N more"
    /// entry follows.
    shown: usize,
}

impl LegendLayout {
    fn width(&self) -> f64 {
        self.cols as f64 * self.col_width
    }
}

/// The legend label of line `index`: its name, or "line N" when unnamed.
fn legend_name(index: usize, line: &Line) -> String {
    if line.name.trim().is_empty() {
        format!("line {}", index + 1)
    } else {
        line.name.clone()
    }
}

fn legend_names(chart: &LineChart) -> Vec<String> {
    chart
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| legend_name(i, l))
        .collect()
}

fn legend_layout(names: &[String], avail_h: f64, max_width: f64) -> LegendLayout {
    let n = names.len().max(1);
    let rows_fit = ((avail_h / LEGEND_ROW_H).floor() as usize).max(1);
    let longest = names
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(1)
        .clamp(1, 30);
    let natural_width = LEGEND_SWATCH + longest as f64 * CHAR_W + LEGEND_PAD;
    let min_width = LEGEND_SWATCH + 8.0 * CHAR_W + LEGEND_PAD;
    let cols_needed = n.div_ceil(rows_fit);
    let max_cols = ((max_width / min_width).floor() as usize).max(1);
    let cols = cols_needed.min(max_cols);
    let col_width = natural_width.min(max_width / cols as f64).max(min_width);
    let max_chars = (((col_width - LEGEND_SWATCH - LEGEND_PAD) / CHAR_W).floor() as usize).max(1);
    let capacity = cols * rows_fit;
    let shown = if n > capacity { capacity - 1 } else { n };
    let rows = rows_fit.min(n);
    LegendLayout {
        cols,
        rows,
        col_width,
        max_chars,
        shown,
    }
}

fn render_legend(out: &mut String, chart: &LineChart, frame: &Frame, w: f64) {
    let names = legend_names(chart);
    let layout = legend_layout(&names, frame.height(), w * 0.35);
    let x0 = frame.right + LEGEND_GAP;
    let y0 = frame.top + 6.0;
    let slot = |k: usize| {
        let col = k / layout.rows;
        let row = k % layout.rows;
        (
            x0 + col as f64 * layout.col_width,
            y0 + row as f64 * LEGEND_ROW_H,
        )
    };
    let _ = writeln!(out, "<g class=\"legend\" fill=\"{TEXT_COLOR}\">");
    for (i, name) in names.iter().enumerate().take(layout.shown) {
        let (x, y) = slot(i);
        let _ = writeln!(
            out,
            "<g><title>{}</title><line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" \
             stroke-width=\"3\"/><text x=\"{}\" y=\"{}\" dy=\"0.32em\">{}</text></g>",
            escape(name),
            coord(x),
            coord(y),
            coord(x + LEGEND_SWATCH - 6.0),
            coord(y),
            line_color(i),
            coord(x + LEGEND_SWATCH),
            coord(y),
            escape(&truncate(name, layout.max_chars))
        );
    }
    if layout.shown < names.len() {
        let (x, y) = slot(layout.shown);
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" dy=\"0.32em\" fill=\"#666666\">+{} more</text>",
            coord(x + LEGEND_SWATCH),
            coord(y),
            names.len() - layout.shown
        );
    }
    out.push_str("</g>\n");
}

/// `s` cut to at most `max_chars` characters, ending in an ellipsis when cut.
fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    t.push('\u{2026}');
    t
}

// ---------------------------------------------------------------------------
// Axes and ticks
// ---------------------------------------------------------------------------

/// True when `hi - lo` is zero or negligible next to the magnitudes involved.
fn degenerate(lo: f64, hi: f64) -> bool {
    let span = hi - lo;
    let scale = lo.abs().max(hi.abs());
    span <= 0.0 || (span.is_finite() && span <= scale * 1e-12)
}

/// A non-degenerate range around a degenerate one (a single x value, say).
fn widen(lo: f64, hi: f64) -> (f64, f64) {
    if !degenerate(lo, hi) {
        return (lo, hi);
    }
    let c = lo / 2.0 + hi / 2.0;
    if c == 0.0 {
        return (-1.0, 1.0);
    }
    let pad = 10f64.powi(c.abs().log10().floor() as i32);
    let pad = if pad.is_finite() && pad > 0.0 {
        pad.min(c.abs())
    } else {
        c.abs()
    };
    let mut a = c - pad;
    let mut b = c + pad;
    if !a.is_finite() {
        a = c;
    }
    if !b.is_finite() {
        b = c;
    }
    if a < b {
        (a, b)
    } else {
        (c.min(0.0), c.max(0.0))
    }
}

/// Tick steps are `m * 10^k` for these mantissas.
const STEP_MANTISSAS: [f64; 4] = [1.0, 2.0, 2.5, 5.0];

/// How many multiples of `step` cover `[lo, hi]` (`extend`: the smallest
/// run of multiples enclosing the range) or lie inside it (not `extend`).
fn tick_count(lo: f64, hi: f64, step: f64, extend: bool) -> f64 {
    if extend {
        (hi / step).ceil() - (lo / step).floor() + 1.0
    } else {
        (hi / step).floor() - (lo / step).ceil() + 1.0
    }
}

/// The smallest nice step (1, 2, 2.5 or 5 times a power of ten) that gives at
/// most `max_ticks` ticks; None when the range is not usable.
fn nice_step(lo: f64, hi: f64, max_ticks: usize, extend: bool) -> Option<f64> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0 && lo.is_finite() && hi.is_finite()) {
        return None;
    }
    let raw = span / max_ticks as f64;
    if raw.is_nan() || raw <= 0.0 {
        return None;
    }
    // Within the f64 exponent range, so the `as` conversion is exact.
    let mut exp = raw.log10().floor().clamp(-330.0, 310.0) as i32 - 1;
    for _ in 0..4 {
        for m in STEP_MANTISSAS {
            let step = m * 10f64.powi(exp);
            if !(step.is_finite() && step > 0.0) {
                continue;
            }
            let n = tick_count(lo, hi, step, extend);
            if n.is_finite() && n >= 1.0 && n <= max_ticks as f64 {
                return Some(step);
            }
        }
        exp += 1;
    }
    None
}

/// Multiples of `step` covering (`extend`) or inside `[lo, hi]`.
fn ticks_at(lo: f64, hi: f64, step: f64, extend: bool) -> Vec<f64> {
    let (first, last) = if extend {
        ((lo / step).floor(), (hi / step).ceil())
    } else {
        ((lo / step).ceil(), (hi / step).floor())
    };
    let mut out = Vec::new();
    let mut i = first;
    while i <= last && out.len() <= MAX_TICKS + 1 {
        let v = i * step;
        // Avoid "-0".
        out.push(if v == 0.0 { 0.0 } else { v });
        i += 1.0;
    }
    out
}

/// Nice tick values covering `[lo, hi]` and their step: the first tick is at
/// or below `lo`, the last at or above `hi`, with about 5 to 10 ticks.
fn nice_ticks(lo: f64, hi: f64) -> (f64, Vec<f64>) {
    if let Some(step) = nice_step(lo, hi, MAX_TICKS, true) {
        let v = ticks_at(lo, hi, step, true);
        if v.len() >= 2 && v.iter().all(|t| t.is_finite()) {
            return (step, v);
        }
    }
    (hi / 2.0 - lo / 2.0, fallback_ticks(lo, hi))
}

/// Ticks for ranges that nice steps cannot handle (overflowing spans).
fn fallback_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mid = lo / 2.0 + hi / 2.0;
    let mut t = vec![lo];
    if mid > lo && mid < hi {
        t.push(mid);
    }
    if hi > lo {
        t.push(hi);
    }
    t
}

/// The y axis for data between `y_min` and `y_max`.
///
/// Zero is included when all values are on one side of it and the range is
/// not a narrow band far from zero (the rule spreadsheet programs use: the
/// gap to zero is included when the data's spread is at least a sixth of its
/// largest magnitude). A range that spans both signs always contains zero.
fn y_axis(y_min: f64, y_max: f64) -> Axis {
    let (mut lo, mut hi) = (y_min, y_max);
    if lo > 0.0 && (lo < hi * 5.0 / 6.0 || degenerate(lo, hi)) {
        lo = 0.0;
    }
    if hi < 0.0 && (hi > lo * 5.0 / 6.0 || degenerate(lo, hi)) {
        hi = 0.0;
    }
    if lo == 0.0 && hi == 0.0 {
        hi = 1.0;
    }
    let (lo, hi) = widen(lo, hi);
    let (step, values) = nice_ticks(lo, hi);
    let a_lo = values.first().copied().unwrap_or(lo).min(lo);
    let a_hi = values.last().copied().unwrap_or(hi).max(hi);
    let labels = format_ticks(&values, step);
    Axis {
        lo: a_lo,
        hi: a_hi,
        ticks: values.into_iter().zip(labels).collect(),
    }
}

/// The x axis for data between `x_min` and `x_max`: the data range itself
/// (widened to include any custom tick positions), with either the custom
/// ticks or nice ticks inside the range.
fn x_axis(x_min: f64, x_max: f64, custom: Option<&[(f64, String)]>) -> Axis {
    match custom {
        Some(ticks) => {
            let finite: Vec<(f64, String)> = ticks
                .iter()
                .filter(|(v, _)| v.is_finite())
                .cloned()
                .collect();
            let (lo, hi) = finite
                .iter()
                .fold((x_min, x_max), |(lo, hi), (v, _)| (lo.min(*v), hi.max(*v)));
            let (lo, hi) = widen(lo, hi);
            Axis {
                lo,
                hi,
                ticks: finite,
            }
        }
        None => {
            let (lo, hi) = widen(x_min, x_max);
            let (step, values) = match nice_step(lo, hi, MAX_TICKS, false) {
                Some(step) => (step, ticks_at(lo, hi, step, false)),
                None => (hi / 2.0 - lo / 2.0, fallback_ticks(lo, hi)),
            };
            let labels = format_ticks(&values, step);
            Axis {
                lo,
                hi,
                ticks: values.into_iter().zip(labels).collect(),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Number formatting
// ---------------------------------------------------------------------------

/// Compact labels for tick values `step` apart: as few decimals as tell the
/// ticks apart exactly, a k/M/G/T suffix for large values (2.5k, 1.2M), and
/// scientific notation for very large or very small ones.
fn format_ticks(values: &[f64], step: f64) -> Vec<String> {
    let max_abs = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let mut tol = if step.is_finite() && step > 0.0 {
        step.abs() * 1e-3
    } else {
        max_abs * 1e-3
    };
    if max_abs > 0.0 {
        tol = tol.min(max_abs * 1e-3);
    }

    const SUFFIXES: [(f64, &str); 4] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    if max_abs < 1e15 {
        // The suffix that fits the largest tick, else (when the ticks need
        // more decimals than that allows) plain numbers.
        let suffixed = SUFFIXES.into_iter().find(|(scale, _)| max_abs >= *scale);
        for (scale, suffix) in suffixed.into_iter().chain([(1.0, "")]) {
            for decimals in 0..=4 {
                let labels: Vec<String> =
                    values.iter().map(|&v| fixed(v / scale, decimals)).collect();
                let exact = values
                    .iter()
                    .zip(&labels)
                    .all(|(&v, s)| s.parse::<f64>().is_ok_and(|p| (p * scale - v).abs() <= tol));
                if exact {
                    return labels
                        .into_iter()
                        .map(|s| if s == "0" { s } else { s + suffix })
                        .collect();
                }
            }
        }
    }
    for precision in 0..=16 {
        let labels: Vec<String> = values.iter().map(|&v| scientific(v, precision)).collect();
        let exact = values
            .iter()
            .zip(&labels)
            .all(|(&v, s)| s.parse::<f64>().is_ok_and(|p| (p - v).abs() <= tol));
        if exact || precision == 16 {
            return labels;
        }
    }
    Vec::new()
}

/// `v` with `decimals` decimals, trailing zeros removed, never "-0".
fn fixed(v: f64, decimals: usize) -> String {
    let s = trim_zeros(format!("{v:.decimals$}"));
    if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

/// `v` in scientific notation with `precision` mantissa decimals, trailing
/// zeros removed ("1.5e-7", "2e15").
fn scientific(v: f64, precision: usize) -> String {
    let s = format!("{v:.precision$e}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let m = trim_zeros(mantissa.to_string());
            if m == "0" || m == "-0" {
                "0".to_string()
            } else {
                format!("{m}e{exp}")
            }
        }
        None => s,
    }
}

fn trim_zeros(mut s: String) -> String {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// A pixel coordinate rounded to at most two decimals.
fn coord(v: f64) -> String {
    fixed(v, 2)
}

/// `s` with the XML special characters escaped and characters that XML 1.0
/// does not allow replaced by U+FFFD.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}' => {
                out.push(c)
            }
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small well-formedness check: one root `<svg>` element, properly
    /// nested tags, quoted attributes, and `&` only in known entities.
    fn check_well_formed(svg: &str) -> Result<(), String> {
        let mut rest = svg;
        if let Some(prolog) = rest.strip_prefix("<?xml") {
            let end = prolog.find("?>").ok_or("unterminated prolog")?;
            rest = &prolog[end + 2..];
        }
        let mut stack: Vec<String> = Vec::new();
        let mut roots = 0;
        while !rest.is_empty() {
            match rest.find('<') {
                None => {
                    check_text(rest)?;
                    if !rest.trim().is_empty() {
                        return Err(format!("text after root: {rest:?}"));
                    }
                    break;
                }
                Some(i) => {
                    let text = &rest[..i];
                    check_text(text)?;
                    if stack.is_empty() && !text.trim().is_empty() {
                        return Err(format!("text outside root: {text:?}"));
                    }
                    let after = &rest[i + 1..];
                    let end = tag_end(after).ok_or("unterminated tag")?;
                    let tag = &after[..end];
                    rest = &after[end + 1..];
                    if let Some(name) = tag.strip_prefix('/') {
                        let open = stack.pop().ok_or(format!("stray </{name}>"))?;
                        if open != name.trim() {
                            return Err(format!("<{open}> closed by </{name}>"));
                        }
                    } else {
                        let self_closing = tag.ends_with('/');
                        let body = tag.trim_end_matches('/');
                        let name: String =
                            body.chars().take_while(|c| !c.is_whitespace()).collect();
                        if name.is_empty()
                            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        {
                            return Err(format!("bad tag name in <{tag}>"));
                        }
                        check_attributes(&body[name.len()..])?;
                        if stack.is_empty() {
                            roots += 1;
                        }
                        if !self_closing {
                            stack.push(name);
                        }
                    }
                }
            }
        }
        if !stack.is_empty() {
            return Err(format!("unclosed: {stack:?}"));
        }
        if roots != 1 {
            return Err(format!("{roots} root elements"));
        }
        Ok(())
    }

    /// Index of the `>` that ends a tag, skipping quoted attribute values.
    fn tag_end(s: &str) -> Option<usize> {
        let mut quote = None;
        for (i, c) in s.char_indices() {
            match (quote, c) {
                (None, '"') | (None, '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '>') => return Some(i),
                (None, '<') => return None,
                _ => {}
            }
        }
        None
    }

    fn check_attributes(s: &str) -> Result<(), String> {
        let mut rest = s.trim();
        while !rest.is_empty() {
            let eq = rest
                .find('=')
                .ok_or(format!("attribute without value: {rest}"))?;
            let name = rest[..eq].trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(format!("bad attribute name {name:?}"));
            }
            let value = rest[eq + 1..].trim_start();
            let q = value.chars().next().ok_or("missing value")?;
            if q != '"' && q != '\'' {
                return Err(format!("unquoted attribute {name}"));
            }
            let close = value[1..].find(q).ok_or("unterminated value")?;
            let v = &value[1..1 + close];
            if v.contains('<') {
                return Err(format!("'<' in attribute {name}"));
            }
            check_text(v)?;
            rest = value[close + 2..].trim_start();
        }
        Ok(())
    }

    fn check_text(s: &str) -> Result<(), String> {
        if s.contains('>') && s.contains("]]>") {
            return Err("]]> in text".into());
        }
        let mut rest = s;
        while let Some(i) = rest.find('&') {
            let after = &rest[i + 1..];
            let semi = after.find(';').ok_or("bare &")?;
            let ent = &after[..semi];
            if !matches!(ent, "amp" | "lt" | "gt" | "quot" | "apos") {
                return Err(format!("unknown entity &{ent};"));
            }
            rest = &after[semi + 1..];
        }
        Ok(())
    }

    fn assert_valid(svg: &str) {
        if let Err(e) = check_well_formed(svg) {
            panic!("not well-formed: {e}\n{svg}");
        }
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches("</svg>").count(), 1);
        for bad in ["NaN", "inf", "e+", "-0,", "-0 "] {
            assert!(!svg.contains(bad), "{bad:?} in output:\n{svg}");
        }
    }

    fn chart(lines: Vec<Line>) -> LineChart {
        LineChart {
            title: "Load".into(),
            x_label: "Hour".into(),
            y_label: "kWh".into(),
            lines,
            x_ticks: None,
        }
    }

    fn polylines(svg: &str) -> Vec<&str> {
        svg.lines().filter(|l| l.starts_with("<polyline")).collect()
    }

    /// The numbers in the `points` attribute of a polyline.
    fn point_numbers(polyline: &str) -> Vec<&str> {
        let start = polyline.find("points=\"").unwrap() + 8;
        let end = start + polyline[start..].find('"').unwrap();
        polyline[start..end]
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .collect()
    }

    #[test]
    fn renders_a_simple_chart() {
        let pts: Vec<(f64, f64)> = (0..24).map(|h| (h as f64, 0.3 + 0.1 * h as f64)).collect();
        let svg = chart(vec![Line::new("January", pts)]).to_svg();
        assert_valid(&svg);
        assert!(svg.contains("width=\"960\" height=\"540\""));
        assert_eq!(polylines(&svg).len(), 1);
        assert!(svg.contains("fill=\"none\""));
        assert!(svg.contains(">January</text>"));
        assert!(svg.contains(">Load</text>"));
        assert!(svg.contains(">Hour</text>"));
        assert!(svg.contains(">kWh</text>"));
        assert!(!svg.contains("no data"));
        // y range 0.3..2.6 includes 0; ticks like 0, 0.5, ..., 3.
        assert!(svg.contains(">0</text>"));
        assert!(!svg.contains("0000000"));
    }

    #[test]
    fn coordinates_have_at_most_two_decimals() {
        let pts: Vec<(f64, f64)> = (0..50)
            .map(|i| (i as f64 / 7.0, (i as f64 / 3.0).sin() * 1e4 / 3.0))
            .collect();
        let svg = chart(vec![Line::new("a", pts)]).to_svg();
        assert_valid(&svg);
        let line = polylines(&svg)[0];
        let nums = point_numbers(line);
        assert_eq!(nums.len(), 100);
        for n in nums {
            assert!(n.parse::<f64>().is_ok(), "{n}");
            if let Some((_, frac)) = n.split_once('.') {
                assert!(frac.len() <= 2, "{n}");
            }
        }
    }

    #[test]
    fn output_is_deterministic() {
        let lines: Vec<Line> = (0..12)
            .map(|m| {
                Line::new(
                    format!("month {m}"),
                    (0..24).map(|h| (h as f64, (m * h) as f64 / 7.0)).collect(),
                )
            })
            .collect();
        let c = chart(lines);
        assert_eq!(c.to_svg(), c.clone().to_svg());
    }

    #[test]
    fn escapes_all_text() {
        let c = LineChart {
            title: "A & B <c> \"d\" 'e'".into(),
            x_label: "x<1>".into(),
            y_label: "y&y".into(),
            lines: vec![Line::new("<script>&\"'", vec![(0.0, 1.0), (1.0, 2.0)])],
            x_ticks: Some(vec![(0.0, "Jan & Feb".into()), (1.0, "<1>".into())]),
        };
        let svg = c.to_svg();
        assert_valid(&svg);
        assert!(svg.contains("A &amp; B &lt;c&gt; &quot;d&quot; &apos;e&apos;"));
        assert!(svg.contains("x&lt;1&gt;"));
        assert!(svg.contains("y&amp;y"));
        assert!(svg.contains("&lt;script&gt;&amp;&quot;&apos;"));
        assert!(svg.contains("Jan &amp; Feb"));
        assert!(svg.contains("&lt;1&gt;"));
        assert!(!svg.contains("<script"));
        assert!(!svg.contains("<c>"));
    }

    #[test]
    fn escape_replaces_characters_xml_forbids() {
        assert_eq!(escape("a\u{0}b\u{1b}c"), "a\u{FFFD}b\u{FFFD}c");
        assert_eq!(escape("tab\there"), "tab\there");
        assert_eq!(escape("kWh \u{2013} \u{20ac}"), "kWh \u{2013} \u{20ac}");
    }

    #[test]
    fn empty_charts_say_no_data() {
        let cases = vec![
            chart(vec![]),
            chart(vec![Line::new("empty", vec![])]),
            chart(vec![Line::new(
                "nan",
                vec![(0.0, f64::NAN), (1.0, f64::INFINITY)],
            )]),
            chart(vec![Line::new(
                "bad x",
                vec![(f64::NAN, 1.0), (f64::NEG_INFINITY, 2.0)],
            )]),
            LineChart {
                title: String::new(),
                x_label: String::new(),
                y_label: String::new(),
                lines: vec![],
                x_ticks: Some(vec![(1.0, "one".into())]),
            },
        ];
        for c in cases {
            let svg = c.to_svg();
            assert_valid(&svg);
            assert!(svg.contains("no data"), "{svg}");
            assert!(polylines(&svg).is_empty());
        }
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let cases: Vec<Vec<(f64, f64)>> = vec![
            vec![(1.0, 5.0)],
            vec![(0.0, 0.0)],
            vec![(3.0, 2.0), (3.0, 4.0)],
            vec![(0.0, 7.0), (1.0, 7.0), (2.0, 7.0)],
            vec![(0.0, -7.0), (1.0, -7.0)],
            vec![(0.0, 0.0), (1.0, 0.0)],
            vec![(0.0, f64::MAX), (1.0, -f64::MAX)],
            vec![(-f64::MAX, 1.0), (f64::MAX, 2.0)],
            vec![(f64::MAX, f64::MAX)],
            vec![(f64::MIN_POSITIVE, 1e-300), (1e-300, 5e-324)],
            vec![(0.0, 5e-324), (1.0, -5e-324)],
            vec![(1e15, 1e15), (1e15 + 0.125, 1e15 + 0.25)],
            vec![(0.0, 1e-9), (1.0, 3e-9), (2.0, 2e-9)],
            vec![(0.0, 1.23e20), (1.0, 4.56e20)],
            vec![(0.0, 1000.0), (1.0, 1000.001)],
            vec![(0.0, -3.0), (1.0, 4.0), (2.0, f64::NAN), (3.0, -1.0)],
            vec![(f64::NAN, f64::NAN), (2.0, 1.0)],
        ];
        for pts in cases {
            let c = chart(vec![Line::new("x", pts.clone())]);
            let svg = c.to_svg();
            assert_valid(&svg);
            assert!(!svg.contains("no data"), "{pts:?}");
            let small = c.to_svg_with_size(0, 0);
            assert_valid(&small);
        }
    }

    #[test]
    fn single_point_is_drawn_as_a_dot() {
        let svg = chart(vec![Line::new("one", vec![(2.0, 3.0)])]).to_svg();
        assert_valid(&svg);
        assert!(svg.contains("<circle"));
        assert!(polylines(&svg).is_empty());
    }

    #[test]
    fn gaps_split_lines() {
        let pts = vec![
            (0.0, 1.0),
            (1.0, 2.0),
            (2.0, f64::NAN),
            (3.0, 2.0),
            (4.0, 3.0),
            (f64::NAN, 9.0),
            (5.0, 1.0),
            (6.0, f64::INFINITY),
            (7.0, f64::NAN),
            (8.0, 4.0),
        ];
        let segs = segments(&pts);
        assert_eq!(
            segs,
            vec![
                vec![(0.0, 1.0), (1.0, 2.0)],
                vec![(3.0, 2.0), (4.0, 3.0), (5.0, 1.0)],
                vec![(8.0, 4.0)],
            ]
        );
        let svg = chart(vec![Line::new("gappy", pts)]).to_svg();
        assert_valid(&svg);
        let lines = polylines(&svg);
        assert_eq!(lines.len(), 2);
        assert_eq!(point_numbers(lines[0]).len(), 4);
        assert_eq!(point_numbers(lines[1]).len(), 6);
        assert_eq!(svg.matches("<circle").count(), 1);
    }

    #[test]
    fn palette_cycles() {
        assert_eq!(line_color(0), PALETTE[0]);
        assert_eq!(line_color(11), PALETTE[11]);
        assert_eq!(line_color(12), PALETTE[0]);
        assert_eq!(line_color(25), PALETTE[1]);
        let mut distinct = PALETTE.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 12);

        let lines: Vec<Line> = (0..14)
            .map(|i| {
                Line::new(
                    format!("L{i}"),
                    vec![(0.0, i as f64), (1.0, i as f64 + 1.0)],
                )
            })
            .collect();
        let svg = chart(lines).to_svg();
        assert_valid(&svg);
        let strokes: Vec<&str> = polylines(&svg)
            .iter()
            .map(|l| {
                let s = l.find("stroke=\"").unwrap() + 8;
                &l[s..s + 7]
            })
            .collect();
        assert_eq!(strokes.len(), 14);
        for (i, s) in strokes.iter().enumerate() {
            assert_eq!(*s, PALETTE[i % 12]);
        }
        for i in 0..14 {
            assert!(svg.contains(&format!(">L{i}</text>")));
        }
    }

    #[test]
    fn legend_overflow_is_summarised() {
        let lines: Vec<Line> = (0..200)
            .map(|i| {
                Line::new(
                    format!("meter number {i} with a long name"),
                    vec![(0.0, 1.0), (1.0, 2.0)],
                )
            })
            .collect();
        let svg = chart(lines).to_svg();
        assert_valid(&svg);
        assert!(svg.contains(" more</text>"));
        assert!(svg.contains('\u{2026}'));
        assert_eq!(polylines(&svg).len(), 200);
    }

    #[test]
    fn unnamed_lines_get_a_label() {
        let svg = chart(vec![Line::new("", vec![(0.0, 1.0), (1.0, 2.0)])]).to_svg();
        assert_valid(&svg);
        assert!(svg.contains(">line 1</text>"));
    }

    #[test]
    fn zero_line_only_when_range_spans_zero() {
        let mixed = chart(vec![Line::new("net", vec![(0.0, -2.0), (1.0, 3.0)])]).to_svg();
        assert_valid(&mixed);
        assert!(mixed.contains("class=\"zero\""));
        assert!(mixed.contains(">-2</text>"));
        let positive = chart(vec![Line::new("use", vec![(0.0, 2.0), (1.0, 3.0)])]).to_svg();
        assert!(!positive.contains("class=\"zero\""));
        let negative = chart(vec![Line::new("gen", vec![(0.0, -2.0), (1.0, -3.0)])]).to_svg();
        assert_valid(&negative);
        assert!(!negative.contains("class=\"zero\""));
    }

    #[test]
    fn y_axis_includes_zero_for_one_sided_data() {
        let a = y_axis(0.3, 2.6);
        assert_eq!(a.lo, 0.0);
        assert!(a.hi >= 2.6);
        let a = y_axis(-5.0, -1.0);
        assert_eq!(a.hi, 0.0);
        assert!(a.lo <= -5.0);
        // All equal: the range runs from zero to the value.
        let a = y_axis(7.0, 7.0);
        assert_eq!(a.lo, 0.0);
        assert!(a.hi >= 7.0);
        let a = y_axis(0.0, 0.0);
        assert!(a.lo <= 0.0 && a.hi > 0.0);
        // A narrow band far from zero keeps its own range.
        let a = y_axis(230.0, 240.0);
        assert!(a.lo > 200.0 && a.lo <= 230.0);
        assert!(a.hi >= 240.0);
    }

    #[test]
    fn nice_ticks_cover_the_range() {
        let (step, t) = nice_ticks(0.0, 7.3);
        assert_eq!(step, 1.0);
        assert_eq!(t, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);

        let (step, t) = nice_ticks(0.0, 1.0);
        assert_eq!(step, 0.2);
        assert_eq!(t.len(), 6);

        let (step, t) = nice_ticks(-3.0, 4.0);
        assert_eq!(step, 1.0);
        assert_eq!(t.first(), Some(&-3.0));
        assert_eq!(t.last(), Some(&4.0));

        let ranges = [
            (0.0, 7.3),
            (0.0, 1.0),
            (0.3, 2.6),
            (-12.5, 40.1),
            (0.0, 0.001234),
            (0.0, 98765.0),
            (1e6, 3.3e6),
            (-1e-7, 2e-7),
            (230.0, 240.0),
            (0.0, 12.0),
            (0.0, 25.0),
            (-1.0, 1.0),
            (0.0, 123456789.0),
        ];
        for (lo, hi) in ranges {
            let (step, t) = nice_ticks(lo, hi);
            assert!(t.len() >= 4 && t.len() <= MAX_TICKS, "{lo}..{hi}: {t:?}");
            assert!(t[0] <= lo && *t.last().unwrap() >= hi, "{lo}..{hi}: {t:?}");
            assert!(
                t[1] > lo && t[t.len() - 2] < hi,
                "not tight: {lo}..{hi}: {t:?}"
            );
            let exp = step.log10().floor();
            let mantissa = step / 10f64.powf(exp);
            assert!(
                STEP_MANTISSAS.iter().any(|m| (m - mantissa).abs() < 1e-9),
                "{lo}..{hi}: step {step}"
            );
        }
    }

    #[test]
    fn x_ticks_stay_inside_the_data_range() {
        let a = x_axis(0.0, 23.0, None);
        assert_eq!((a.lo, a.hi), (0.0, 23.0));
        assert!(a.ticks.len() >= 4 && a.ticks.len() <= MAX_TICKS);
        assert!(a.ticks.iter().all(|(v, _)| *v >= 0.0 && *v <= 23.0));

        let a = x_axis(
            1.0,
            12.0,
            Some(&[(0.0, "start".into()), (f64::NAN, "bad".into())]),
        );
        assert_eq!((a.lo, a.hi), (0.0, 12.0));
        assert_eq!(a.ticks, vec![(0.0, "start".to_string())]);

        let a = x_axis(5.0, 5.0, None);
        assert!(a.lo < 5.0 && a.hi > 5.0);
    }

    #[test]
    fn tick_labels_are_compact() {
        let (step, t) = nice_ticks(0.0, 0.7);
        let labels = format_ticks(&t, step);
        assert!(labels.contains(&"0.3".to_string()), "{labels:?}");
        assert_eq!(labels[0], "0");

        assert_eq!(
            format_ticks(&[0.0, 2500.0, 5000.0], 2500.0),
            ["0", "2.5k", "5k"]
        );
        assert_eq!(
            format_ticks(&[1.0e6, 1.2e6, 1.4e6], 2e5),
            ["1M", "1.2M", "1.4M"]
        );
        assert_eq!(
            format_ticks(&[0.0, 500.0, 1000.0], 500.0),
            ["0", "0.5k", "1k"]
        );
        assert_eq!(
            format_ticks(&[0.0, 2.5, 5.0, 7.5], 2.5),
            ["0", "2.5", "5", "7.5"]
        );
        assert_eq!(format_ticks(&[-10.0, 0.0, 10.0], 10.0), ["-10", "0", "10"]);
        assert_eq!(format_ticks(&[3e9, 4e9], 1e9), ["3G", "4G"]);
        assert_eq!(
            format_ticks(&[0.0, 1.5e-7, 3e-7], 1.5e-7),
            ["0", "1.5e-7", "3e-7"]
        );
        assert_eq!(
            format_ticks(&[0.0, 2e15, 4e15], 2e15),
            ["0", "2e15", "4e15"]
        );
        // More precision than one suffix allows: fall back to a smaller one.
        assert_eq!(
            format_ticks(&[1_000_000.0, 1_000_050.0], 50.0),
            ["1000000", "1000050"]
        );
        let (step, t) = nice_ticks(-0.35, 0.35);
        for l in format_ticks(&t, step) {
            assert!(l.len() <= 5, "{l}");
            assert_ne!(l, "-0");
        }
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcdef", 4), "abc\u{2026}");
        assert_eq!(truncate("\u{e9}\u{e9}\u{e9}\u{e9}", 2), "\u{e9}\u{2026}");
        assert_eq!(truncate("abc", 0), "\u{2026}");
    }
}
