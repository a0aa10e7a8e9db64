//! The data map: the flow graph as one picture, sources → categories → sending code → recipients.
//!
//! Takes the numbered flows of a [`super::documents::Document`], gives Mermaid text (for Markdown)
//! and a self-contained SVG (for HTML), both laid out in four columns with every edge that carries
//! a plaintext flow drawn red. Every label is escaped for its target; node order is the order of
//! first appearance in the (sorted) findings, so the picture is deterministic.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::documents::FlowView;

/// The data map in both notations.
#[derive(Debug, Clone, Serialize)]
pub struct DataMap {
    /// `flowchart LR` Mermaid source (no code fence).
    pub mermaid: String,
    /// An `<svg>` element, escaped, ready to inline.
    pub svg: String,
}

struct Node {
    title: String,
    sub: String,
}

#[derive(Default, Clone, Copy)]
struct EdgeStyle {
    plaintext: bool,
    unknown: bool,
    flows: usize,
}

/// Title of a recipient node whose host matches no declared recipient.
const UNDECLARED: &str = "undeclared recipient";

const LAYERS: [&str; 4] = [
    "Where the identifier comes from",
    "Personal data",
    "Code that sends it",
    "Recipient",
];

/// Builds the map from `flows`.
#[must_use]
pub fn build(flows: &[FlowView]) -> DataMap {
    let mut layers: [Vec<(String, Node)>; 4] = Default::default();
    let mut edges: BTreeMap<(usize, usize, usize), EdgeStyle> = BTreeMap::new();
    for f in flows {
        let keys = [
            (
                f.source_at.clone(),
                Node {
                    title: short_fn(f.source.function.as_deref(), &f.source_rule),
                    sub: f.source_at.clone(),
                },
            ),
            (
                f.category.clone(),
                Node {
                    title: f.category_name.clone(),
                    sub: f.category.clone(),
                },
            ),
            (
                f.sink_at.clone(),
                Node {
                    title: short_fn(f.sink.function.as_deref(), &f.sink_rule),
                    sub: f.sink_at.clone(),
                },
            ),
            {
                let host = f.host.clone().unwrap_or_else(|| "unknown host".to_string());
                let title = f
                    .recipient
                    .as_ref()
                    .map_or_else(|| UNDECLARED.to_string(), |r| r.name.clone());
                let sub = match f.recipient.as_ref().and_then(|r| r.country.as_deref()) {
                    Some(c) => format!("{host} · {c}"),
                    None => host.clone(),
                };
                (host, Node { title, sub })
            },
        ];
        let mut idx = [0usize; 4];
        for (layer, (key, node)) in keys.into_iter().enumerate() {
            idx[layer] = match layers[layer].iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    layers[layer].push((key, node));
                    layers[layer].len() - 1
                }
            };
        }
        for layer in 0..3 {
            let e = edges
                .entry((layer, idx[layer], idx[layer + 1]))
                .or_default();
            e.plaintext |= f.transport == "plaintext" && !f.encrypted;
            e.unknown |= f.transport == "unknown" && !f.encrypted;
            e.flows += 1;
        }
    }
    DataMap {
        mermaid: mermaid(&layers, &edges),
        svg: svg(&layers, &edges),
    }
}

/// The last two path segments of a function (`device::read_imei`), or the rule id.
fn short_fn(function: Option<&str>, rule: &str) -> String {
    match function {
        Some(f) => {
            let parts: Vec<&str> = f.split("::").collect();
            parts[parts.len().saturating_sub(2)..].join("::")
        }
        None => rule.to_string(),
    }
}

type Layers = [Vec<(String, Node)>; 4];
type Edges = BTreeMap<(usize, usize, usize), EdgeStyle>;

const PREFIX: [&str; 4] = ["s", "c", "k", "r"];

fn mermaid(layers: &Layers, edges: &Edges) -> String {
    let mut out = String::from("flowchart LR\n");
    for (layer, nodes) in layers.iter().enumerate() {
        let _ = writeln!(
            out,
            "  subgraph L{layer}[\"{}\"]",
            mermaid_text(LAYERS[layer])
        );
        for (i, (_, node)) in nodes.iter().enumerate() {
            let _ = writeln!(
                out,
                "    {}{i}[\"{}<br/><small>{}</small>\"]",
                PREFIX[layer],
                mermaid_text(&node.title),
                mermaid_text(&node.sub)
            );
        }
        out.push_str("  end\n");
    }
    let mut red = Vec::new();
    let mut amber = Vec::new();
    for (n, ((layer, from, to), style)) in edges.iter().enumerate() {
        let label = if *layer == 2 {
            if style.plaintext {
                "-- \"plaintext\" -->"
            } else if style.unknown {
                "-- \"transport?\" -->"
            } else {
                "-- \"TLS\" -->"
            }
        } else {
            "-->"
        };
        let _ = writeln!(
            out,
            "  {}{from} {label} {}{to}",
            PREFIX[*layer],
            PREFIX[layer + 1]
        );
        if style.plaintext {
            red.push(n.to_string());
        } else if style.unknown {
            amber.push(n.to_string());
        }
    }
    if !red.is_empty() {
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:#c62828,stroke-width:3px",
            red.join(",")
        );
    }
    if !amber.is_empty() {
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:#b26a00,stroke-width:2px,stroke-dasharray:4",
            amber.join(",")
        );
    }
    out
}

/// Text inside a quoted Mermaid label: entity codes for what would end or inject markup.
fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '`' => out.push_str("#96;"),
            '#' => out.push_str("#35;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text or attribute content in SVG (XML).
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The map's own styles, so the SVG looks the same wherever it is inlined.
const SVG_STYLE: &str = "<style>\
.dm-head{font:600 12px system-ui,sans-serif;fill:#44546a;text-transform:uppercase;letter-spacing:.06em}\
.dm-node rect{fill:#fff;stroke:#9aa9bd;stroke-width:1.2}\
.dm-l1 rect{fill:#eef3fb;stroke:#3b6aa8}\
.dm-l3 rect{fill:#f6f4ee;stroke:#8a7a55}\
.dm-undeclared rect{fill:#fff4dc;stroke:#b26a00;stroke-dasharray:4 3}\
.dm-title{font:600 13px system-ui,sans-serif;fill:#1c2733}\
.dm-sub{font:11px ui-monospace,Menlo,Consolas,monospace;fill:#55606e}\
.dm-edge{fill:none;stroke-width:2}\
.dm-ok{stroke:#2e7d32;fill:none}\
.dm-plain{stroke:#c62828;stroke-width:3}\
.dm-unknown{stroke:#b26a00;stroke-dasharray:5 4}\
.dm-label{font:600 11px system-ui,sans-serif;stroke:none}\
text.dm-ok{fill:#2e7d32}text.dm-plain{fill:#c62828}text.dm-unknown{fill:#b26a00}\
.dm-legend text{font:12px system-ui,sans-serif;fill:#333}\
</style>";

const COL_W: usize = 270;
const GAP: usize = 70;
const NODE_H: usize = 46;
const V_GAP: usize = 16;
const TOP: usize = 44;
const MARGIN: usize = 16;

fn node_y(count: usize, max: usize, i: usize) -> usize {
    let column = count * NODE_H + count.saturating_sub(1) * V_GAP;
    let full = max * NODE_H + max.saturating_sub(1) * V_GAP;
    TOP + (full - column) / 2 + i * (NODE_H + V_GAP)
}

fn svg(layers: &Layers, edges: &Edges) -> String {
    let max = layers.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let width = 2 * MARGIN + 4 * COL_W + 3 * GAP;
    let body = max * NODE_H + (max - 1) * V_GAP;
    let height = TOP + body + 58;
    let x = |layer: usize| MARGIN + layer * (COL_W + GAP);
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"datamap\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"Data map: where identifiers come from and where they are sent\">"
    );
    out.push_str("<title>Data map</title>");
    out.push_str(SVG_STYLE);
    for (layer, title) in LAYERS.iter().enumerate() {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"20\" class=\"dm-head\">{}</text>",
            x(layer),
            xml(title)
        );
    }
    // Edges first, so nodes paint over their ends.
    for ((layer, from, to), style) in edges {
        let x1 = x(*layer) + COL_W;
        let y1 = node_y(layers[*layer].len(), max, *from) + NODE_H / 2;
        let x2 = x(layer + 1);
        let y2 = node_y(layers[layer + 1].len(), max, *to) + NODE_H / 2;
        let mid = (x1 + x2) / 2;
        let class = if style.plaintext {
            "dm-edge dm-plain"
        } else if style.unknown {
            "dm-edge dm-unknown"
        } else {
            "dm-edge dm-ok"
        };
        let _ = write!(
            out,
            "<path class=\"{class}\" d=\"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}\"/>"
        );
        if *layer == 2 {
            let label = if style.plaintext {
                "plaintext"
            } else if style.unknown {
                "transport?"
            } else {
                "TLS"
            };
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" class=\"dm-label {class}\" text-anchor=\"middle\">{label}</text>",
                mid,
                (y1 + y2) / 2 - 5
            );
        }
    }
    for (layer, nodes) in layers.iter().enumerate() {
        for (i, (_, node)) in nodes.iter().enumerate() {
            let y = node_y(nodes.len(), max, i);
            let _ = write!(
                out,
                "<g class=\"dm-node dm-l{layer}{}\"><title>{}: {}</title><rect x=\"{}\" y=\"{y}\" width=\"{COL_W}\" height=\"{NODE_H}\" rx=\"6\"/><text x=\"{}\" y=\"{}\" class=\"dm-title\">{}</text><text x=\"{}\" y=\"{}\" class=\"dm-sub\">{}</text></g>",
                if node.title == UNDECLARED { " dm-undeclared" } else { "" },
                // The labels below are cut to fit the box; the title shows them in full on hover.
                xml(&node.title),
                xml(&node.sub),
                x(layer),
                x(layer) + 10,
                y + 19,
                xml(&super::shorten(&node.title, 32)),
                x(layer) + 10,
                y + 36,
                xml(&super::shorten(&node.sub, 40)),
            );
        }
    }
    let ly = TOP + body + 34;
    let _ = write!(
        out,
        "<g class=\"dm-legend\"><path class=\"dm-edge dm-plain\" d=\"M{m},{ly} h36\"/><text x=\"{t1}\" y=\"{ty}\">plaintext (readable on the network)</text><path class=\"dm-edge dm-unknown\" d=\"M{m2},{ly} h36\"/><text x=\"{t2}\" y=\"{ty}\">transport not determined</text><path class=\"dm-edge dm-ok\" d=\"M{m3},{ly} h36\"/><text x=\"{t3}\" y=\"{ty}\">TLS or encrypted by the app</text></g>",
        m = MARGIN,
        t1 = MARGIN + 44,
        m2 = MARGIN + 300,
        t2 = MARGIN + 344,
        m3 = MARGIN + 560,
        t3 = MARGIN + 604,
        ty = ly + 4,
    );
    out.push_str("</svg>");
    out
}
