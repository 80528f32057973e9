//! SVG drawn by the server: the dashboard's chart of recent block intervals and difficulty, and the network
//! page's block tree. Plain strings of SVG markup (no script, no inline style), sized by `viewBox` so they
//! scale to a phone's width; every number in them is computed here and every text is escaped.

use std::fmt::Write;

use ferrochain_core::Height;

use crate::ui::tree::Tree;
use crate::views::leading_zero_bits;
use ferrochain_node::Node;

/// One block of the chart: height, seconds since its parent, leading zero bits of its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntervalPoint {
    /// The block's height.
    pub height: u64,
    /// Seconds between its parent's timestamp and its own (may be negative: timestamps are the miners').
    pub interval_secs: f64,
    /// The leading zero bits its hash needed.
    pub zero_bits: u32,
}

/// The last `count` active blocks' intervals and difficulty (blocking: reads the block index).
pub fn interval_points(node: &Node, count: u64) -> Vec<IntervalPoint> {
    let state = node.state();
    let tip = state.tip().height.0;
    // The genesis timestamp is fixed by the chain spec, so the first block's interval says nothing: start at 2.
    let first = tip.saturating_sub(count).max(2);
    if first > tip {
        return Vec::new();
    }
    let mut points = Vec::new();
    let mut prev_time = state
        .hash_at(Height(first - 1))
        .and_then(|h| state.header(&h))
        .map(|r| r.header.time_ms);
    for h in first..=tip {
        let Some(rec) = state
            .hash_at(Height(h))
            .and_then(|hash| state.header(&hash))
        else {
            break;
        };
        if let Some(p) = prev_time {
            points.push(IntervalPoint {
                height: h,
                interval_secs: (rec.header.time_ms as f64 - p as f64) / 1000.0,
                zero_bits: leading_zero_bits(rec.header.bits),
            });
        }
        prev_time = Some(rec.header.time_ms);
    }
    points
}

/// The dashboard chart for the last `count` blocks of `node` (blocking).
pub fn intervals_chart(node: &Node, count: u64) -> String {
    let target = node.network().spec().target_block_time_ms as f64 / 1000.0;
    draw_intervals(&interval_points(node, count), target)
}

/// Draws block intervals as bars (left axis, seconds; a dashed line at the target interval) and the
/// difficulty as a line of leading zero bits (right axis).
pub fn draw_intervals(points: &[IntervalPoint], target_secs: f64) -> String {
    const W: f64 = 640.0;
    const H: f64 = 240.0;
    const LEFT: f64 = 44.0;
    const RIGHT: f64 = 40.0;
    const TOP: f64 = 16.0;
    const BOTTOM: f64 = 30.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"chart-title\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title id=\"chart-title\">Seconds between recent blocks \
         (bars) and difficulty in leading zero bits (line)</title>"
    );
    if points.is_empty() {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"muted\">No block intervals yet: mine a \
             block or two.</text></svg>",
            W / 2.0,
            H / 2.0
        );
        return s;
    }
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let max_secs = points
        .iter()
        .map(|p| p.interval_secs)
        .fold(target_secs, f64::max)
        .max(1.0)
        * 1.1;
    let max_bits = points.iter().map(|p| p.zero_bits).max().unwrap_or(0).max(1) as f64 + 2.0;
    let n = points.len() as f64;
    let slot = plot_w / n;
    let bar = (slot * 0.7).max(1.0);
    let y_of = |secs: f64| TOP + plot_h - (secs.clamp(0.0, max_secs) / max_secs) * plot_h;
    let yb_of = |bits: f64| TOP + plot_h - (bits / max_bits) * plot_h;
    // Axes and grid.
    for i in 0..=4 {
        let v = max_secs * f64::from(i) / 4.0;
        let y = y_of(v);
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"axis\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 4.0,
            y + 4.0,
            axis_secs(v)
        );
    }
    for (i, p) in points.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let y = y_of(p.interval_secs);
        let h = (TOP + plot_h - y).max(0.5);
        let _ = write!(
            s,
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\">\
             <title>block {}: {:.1} s after its parent, {} leading zero bits</title></rect>",
            p.height, p.interval_secs, p.zero_bits
        );
    }
    if target_secs > 0.0 {
        let y = y_of(target_secs);
        let _ = write!(
            s,
            "<line class=\"target\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"axis\" x=\"{}\" y=\"{:.1}\">target {target_secs:.0}s</text>",
            W - RIGHT,
            LEFT + 4.0,
            y - 4.0
        );
    }
    let mut path = String::new();
    for (i, p) in points.iter().enumerate() {
        let x = LEFT + slot * (i as f64 + 0.5);
        let y = yb_of(f64::from(p.zero_bits));
        let _ = write!(path, "{}{x:.1},{y:.1} ", if i == 0 { "M" } else { "L" });
    }
    let _ = write!(s, "<path class=\"difficulty\" d=\"{}\"/>", path.trim_end());
    let last_bits = points.last().map_or(0, |p| p.zero_bits);
    let _ = write!(
        s,
        "<text class=\"axis difficulty-label\" x=\"{}\" y=\"{:.1}\">{last_bits} bits</text>",
        W - RIGHT + 2.0,
        yb_of(f64::from(last_bits)) + 4.0
    );
    let first = points.first().map_or(0, |p| p.height);
    let last = points.last().map_or(0, |p| p.height);
    let _ = write!(
        s,
        "<text class=\"axis\" x=\"{LEFT}\" y=\"{}\">#{first}</text>\
         <text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">#{last}</text></svg>",
        H - 8.0,
        W - RIGHT,
        H - 8.0
    );
    s
}

/// An axis label for a number of seconds: `0`, `12s`, `5m`, `3h`.
fn axis_secs(v: f64) -> String {
    if v <= 0.0 {
        "0".into()
    } else if v < 120.0 {
        format!("{v:.0}s")
    } else if v < 7200.0 {
        format!("{:.0}m", v / 60.0)
    } else {
        format!("{:.0}h", v / 3600.0)
    }
}

/// Draws the block tree: heights left to right, the active chain on the top lane, each side branch on a lane
/// below; every block links to its page.
pub fn draw_tree(tree: &Tree) -> String {
    const DX: f64 = 74.0;
    const DY: f64 = 46.0;
    const BW: f64 = 60.0;
    const BH: f64 = 26.0;
    const PAD: f64 = 12.0;
    const TOP: f64 = 22.0;
    if tree.blocks.is_empty() {
        return "<p class=\"muted\">No blocks to draw.</p>".into();
    }
    let cols = (tree.max_height - tree.min_height + 1) as f64;
    let w = PAD * 2.0 + cols * DX;
    let h = TOP + PAD + tree.lanes.max(1) as f64 * DY;
    let pos = |height: u64, lane: usize| {
        (
            PAD + (height - tree.min_height) as f64 * DX,
            TOP + lane as f64 * DY,
        )
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"tree\" viewBox=\"0 0 {w:.0} {h:.0}\" width=\"{w:.0}\" height=\"{h:.0}\" role=\"img\" \
         aria-label=\"block tree\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    let by_hash: std::collections::HashMap<&str, &crate::ui::tree::Placed> =
        tree.blocks.iter().map(|b| (b.hash.as_str(), b)).collect();
    for b in &tree.blocks {
        if let Some(parent) = by_hash.get(b.parent.as_str()) {
            let (x1, y1) = pos(parent.height, parent.lane);
            let (x2, y2) = pos(b.height, b.lane);
            let class = if b.active { "edge" } else { "edge stale" };
            let _ = write!(
                s,
                "<path class=\"{class}\" d=\"M{:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\"/>",
                x1 + BW,
                y1 + BH / 2.0,
                x1 + BW + 8.0,
                y1 + BH / 2.0,
                x2 - 8.0,
                y2 + BH / 2.0,
                x2,
                y2 + BH / 2.0
            );
        }
    }
    let mut labelled = std::collections::BTreeSet::new();
    for b in &tree.blocks {
        let (x, y) = pos(b.height, b.lane);
        if labelled.insert(b.height) {
            let _ = write!(
                s,
                "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">#{}</text>",
                x + BW / 2.0,
                TOP - 8.0,
                b.height
            );
        }
        let class = if b.invalid {
            "blk invalid"
        } else if b.active {
            "blk active"
        } else {
            "blk stale"
        };
        let state = if b.invalid {
            "invalid"
        } else if b.active {
            "active chain"
        } else if b.has_body {
            "stale side branch"
        } else {
            "header only"
        };
        let _ = write!(
            s,
            "<a href=\"/ui/block/{hash}\"><rect class=\"{class}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{BW}\" \
             height=\"{BH}\" rx=\"4\"><title>#{height} {hash} ({state})</title></rect>\
             <text class=\"blk-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></a>",
            x + BW / 2.0,
            y + BH / 2.0 + 4.0,
            minijinja::HtmlEscape(&b.hash[b.hash.len().saturating_sub(6)..]),
            hash = minijinja::HtmlEscape(&b.hash),
            height = b.height,
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_chart_says_so_and_a_full_one_has_a_bar_per_block() {
        assert!(draw_intervals(&[], 10.0).contains("No block intervals yet"));
        let points: Vec<IntervalPoint> = (1..=5)
            .map(|h| IntervalPoint {
                height: h,
                interval_secs: h as f64 * 2.0,
                zero_bits: 16,
            })
            .collect();
        let svg = draw_intervals(&points, 10.0);
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 5);
        assert!(svg.contains("target 10s") && svg.contains("16 bits") && svg.ends_with("</svg>"));
        // Negative intervals (miners' clocks) are drawn as flat bars, not upside down.
        let odd = draw_intervals(
            &[IntervalPoint {
                height: 1,
                interval_secs: -5.0,
                zero_bits: 1,
            }],
            0.0,
        );
        assert!(!odd.contains("height=\"-"));
    }
}
