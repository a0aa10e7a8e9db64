//! Transfer functions of library calls: what a source, sink, sanitizer, constructor or
//! propagator rule does to the values at a call site.
//!
//! Monotonicity contract: for argument values `a ⊑ b`, the effect on `a` is ⊑ the effect on `b`
//! (labels only ever flow forward; a sanitizer marks labels, never drops them).

use super::facts::Facts;
use super::lattice::{Endpoint, Label, Value, UNKNOWN_TEXT};
use super::Hit;
use crate::findings::Transport;
use crate::graph::{FnId, Program};
use crate::ir::Span;
use crate::rules::index::{Propagation, RuleIndex, RuleRef};

/// A call site as the transfer functions see it.
pub struct CallSite<'a> {
    /// The receiver's value (methods and macros).
    pub recv: Option<&'a Value>,
    /// Argument values.
    pub args: &'a [Value],
    /// The method or function name.
    pub span: Span,
    /// File index.
    pub file: usize,
    /// Enclosing function.
    pub fid: FnId,
    /// Crate index.
    pub krate: usize,
    /// Under a consent guard.
    pub guarded: bool,
}

/// The effect of the matched rules.
#[derive(Debug, Default)]
pub struct Effect {
    /// The call's result, when a rule decides it.
    pub result: Option<Value>,
    /// The receiver's new value, for rules that mutate it.
    pub receiver_update: Option<Value>,
    /// Source labels the result gains.
    pub labels: Vec<Label>,
    /// The result is what the closure arguments return.
    pub closure_result: bool,
    /// New values for arguments passed as `&mut` (`encrypt_in_place(.., &mut buf)`).
    pub arg_updates: Vec<(usize, Value)>,
}

/// Applies every matched rule (`matched`, entries of `rules`); the most specific rule decides
/// the result (sink and constructor over sanitizer over propagator). Sources, hits and channel
/// contents go to `facts`; `prog` tells which fields a serializer skips.
pub fn apply(
    facts: &mut Facts,
    prog: &Program,
    rules: &RuleIndex,
    matched: &[RuleRef],
    call: &CallSite<'_>,
) -> Effect {
    let mut effect = Effect::default();
    let mut rank = 0;
    let mut decide = |effect: &mut Effect, r: u8, v: Value| {
        if r > rank {
            rank = r;
            effect.result = Some(v);
        }
    };
    for &rule in matched {
        match rule {
            RuleRef::Source(i) => {
                let label = facts.new_label(rules, i, call.file, call.span, call.fid);
                effect.labels.push(label);
            }
            RuleRef::Sink(i) => {
                let v = sink(facts, prog, rules, i, call);
                decide(&mut effect, 4, v);
            }
            RuleRef::Constructor(i) => {
                let c = &rules.raw.constructors[i];
                let inherited = c.inherit.and_then(|k| arg_or_recv(call, k));
                let mut ep = inherited.and_then(|v| v.endpoint.clone());
                // `Framed::new(tcp_stream, codec)`: the wrapped socket's kind fixes the transport
                // whatever its endpoint says (a raw TCP stream is plaintext).
                if let Some(t) = inherited
                    .and_then(|v| v.kind)
                    .and_then(|k| rules.kinds.get(k as usize))
                    .and_then(|k| k.transport)
                {
                    ep.get_or_insert_with(Endpoint::default).transport = Some(t);
                }
                if let Some(e) = c
                    .endpoint
                    .and_then(|k| call.args.get(k))
                    .map(endpoint_of_value)
                {
                    ep = Some(merge(&e, ep.as_ref()));
                }
                if let Some(t) = rules.constructor_transport(i) {
                    ep.get_or_insert_with(Endpoint::default).transport = Some(t);
                }
                if c.mutates_receiver {
                    if let Some(r) = call.recv {
                        let mut updated = r.clone();
                        if let Some(ep) = &ep {
                            updated.endpoint = Some(merge(ep, r.endpoint.as_ref()));
                        }
                        effect.receiver_update = Some(updated);
                    }
                    decide(&mut effect, 3, Value::default());
                    continue;
                }
                let kind = c.kind.as_deref().and_then(|k| rules.kind_id(k));
                let mut v = Value {
                    kind,
                    endpoint: ep,
                    ..Value::default()
                };
                if c.pair {
                    v.cell = Some(facts.cell_at(call.file, call.span));
                    let mut pair = Value::default();
                    let fields = std::sync::Arc::make_mut(&mut pair.fields);
                    fields.insert("0".to_string().into(), v.clone());
                    fields.insert("1".to_string().into(), v);
                    decide(&mut effect, 3, pair);
                    continue;
                }
                if let Some(el) = c.element {
                    let mut t = Value::default();
                    std::sync::Arc::make_mut(&mut t.fields).insert(el.to_string().into(), v);
                    v = t;
                }
                decide(&mut effect, 3, v);
            }
            RuleRef::Sanitizer(i) => {
                let s = &rules.raw.sanitizers[i];
                let encrypt = s.effect == "encrypt";
                let mut marked = Value::default();
                for (k, a) in call.args.iter().enumerate() {
                    if s.data.is_empty() || s.data.contains(&k) {
                        let mut one = Value::default();
                        for mut l in a.flatten(&|_, _| false) {
                            if encrypt {
                                l.encrypted = true;
                            } else {
                                l.hashed = true;
                            }
                            one.add_label(l);
                        }
                        marked.add_labels(&one.labels);
                        effect.arg_updates.push((k, one));
                    }
                }
                if s.into_receiver {
                    // `hasher.update(x)` returns nothing, `hasher.chain_update(x)` the hasher:
                    // either way the result is the updated receiver.
                    let mut updated = call.recv.cloned().unwrap_or_default();
                    updated.add_labels(&marked.labels);
                    effect.receiver_update = Some(updated.clone());
                    decide(&mut effect, 2, updated);
                } else {
                    decide(&mut effect, 2, marked);
                }
            }
            RuleRef::Propagator(i) => match rules.propagation(i) {
                Propagation::Clean => decide(&mut effect, 1, Value::default()),
                Propagation::Receiver | Propagation::Accessor => {
                    let mut v = call.recv.cloned().unwrap_or_default();
                    v.closure = None;
                    decide(&mut effect, 1, v);
                }
                Propagation::IntoReceiver => {
                    if let Some(r) = call.recv {
                        let mut updated = r.clone();
                        for a in call.args {
                            updated.join_in(&a.data_only());
                        }
                        updated.text = None;
                        effect.receiver_update = Some(updated);
                    }
                    decide(&mut effect, 1, Value::default());
                }
                Propagation::Identity => {
                    let v = call.args.first().or(call.recv).cloned().unwrap_or_default();
                    decide(&mut effect, 1, v);
                }
                Propagation::Closure => effect.closure_result = true,
                Propagation::Store => {
                    if let Some(cell) = call.recv.and_then(|r| r.cell) {
                        let mut data = Value::default();
                        for a in call.args {
                            data.join_in(&a.data_only());
                        }
                        facts.store_cell(cell, &data);
                    }
                    decide(&mut effect, 1, Value::default());
                }
                Propagation::Load => {
                    let mut v = call.recv.map(Value::data_only).unwrap_or_default();
                    if let Some(cell) = call.recv.and_then(|r| r.cell) {
                        v.join_in(&facts.load_cell(cell));
                    }
                    decide(&mut effect, 1, v);
                }
                Propagation::Environment => {
                    let v = Value {
                        dynamic: true,
                        env_only: true,
                        ..Value::default()
                    };
                    decide(&mut effect, 1, v);
                }
                Propagation::Reset => {
                    effect.receiver_update = Some(Value::default());
                    decide(&mut effect, 1, Value::default());
                }
            },
        }
    }
    effect
}

fn arg_or_recv<'a>(call: &CallSite<'a>, k: i64) -> Option<&'a Value> {
    if k < 0 {
        call.recv
    } else {
        usize::try_from(k).ok().and_then(|k| call.args.get(k))
    }
}

/// Records hits for every label in the sink's data arguments; gives the call's result.
fn sink(
    facts: &mut Facts,
    prog: &Program,
    rules: &RuleIndex,
    i: usize,
    call: &CallSite<'_>,
) -> Value {
    let s = &rules.raw.sinks[i];
    let recv_kind = call.recv.and_then(|r| r.kind);
    let fixed = recv_kind
        .and_then(|k| rules.kinds.get(k as usize))
        .and_then(|k| k.transport);
    let arg_ep = s
        .endpoint
        .and_then(|k| call.args.get(k))
        .map(endpoint_of_value);
    let recv_ep = call.recv.and_then(|r| r.endpoint.clone());
    let transport = fixed
        .or(arg_ep.as_ref().and_then(|e| e.transport))
        .or(recv_ep.as_ref().and_then(|e| e.transport))
        .unwrap_or(Transport::Unknown);
    let host = arg_ep
        .as_ref()
        .and_then(|e| e.host.clone())
        .or_else(|| recv_ep.as_ref().and_then(|e| e.host.clone()))
        .filter(|h| !h.is_empty());
    let data: Vec<usize> = if s.data.is_empty() {
        (0..call.args.len()).collect()
    } else {
        s.data.clone()
    };
    let mut labels = Vec::new();
    {
        let skip = serde_skip(prog, call.krate);
        for k in data {
            if let Some(a) = call.args.get(k) {
                labels.extend(a.flatten(&skip));
            }
        }
        if s.receiver_data {
            if let Some(r) = call.recv {
                labels.extend(r.flatten(&skip));
            }
        }
    }
    for label in labels {
        facts.record_hit(Hit {
            label,
            sink_rule: i,
            file: call.file,
            span: call.span,
            func: call.fid,
            transport,
            host: host.clone(),
            guarded: call.guarded,
        });
    }
    let returns = s
        .returns
        .as_deref()
        .and_then(|k| rules.kind_id(k))
        .or(recv_kind);
    let endpoint = match (&arg_ep, &recv_ep) {
        (Some(a), b) => Some(merge(a, b.as_ref())),
        (None, b) => b.clone(),
    };
    Value {
        kind: returns,
        endpoint,
        ..Value::default()
    }
}

/// Whether a serializer leaves out field `field` of a value (`#[serde(skip)]` on its type's
/// definition in crate `krate`).
pub(super) fn serde_skip(prog: &Program, krate: usize) -> impl Fn(&Value, &str) -> bool + '_ {
    move |v: &Value, field: &str| {
        v.type_name()
            .and_then(|t| prog.struct_def(krate, t))
            .is_some_and(|d| {
                d.fields
                    .iter()
                    .any(|f| f.name == field && f.skip_serializing)
            })
    }
}

fn merge(top: &Endpoint, under: Option<&Endpoint>) -> Endpoint {
    Endpoint {
        transport: top.transport.or(under.and_then(|u| u.transport)),
        host: top
            .host
            .clone()
            .or_else(|| under.and_then(|u| u.host.clone())),
    }
}

fn endpoint_of_value(v: &Value) -> Endpoint {
    match (&v.endpoint, &v.text) {
        (Some(e), _) => e.clone(),
        (None, Some(t)) => endpoint_of(t),
        (None, None) => Endpoint::default(),
    }
}

/// Transport and host of a URL or `host:port` text.
#[must_use]
pub fn endpoint_of(text: &str) -> Endpoint {
    let text = text.trim();
    if let Some((scheme, rest)) = text.split_once("://") {
        let transport = if scheme.contains(UNKNOWN_TEXT) {
            None
        } else {
            scheme_transport(&scheme.to_ascii_lowercase())
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let authority = authority.rsplit('@').next().unwrap_or("");
        let host = host_part(authority);
        return Endpoint { transport, host };
    }
    let authority = text.split('/').next().unwrap_or("");
    let host = host_part(authority).filter(|h| h.contains('.') || h == "localhost");
    Endpoint {
        transport: None,
        host,
    }
}

fn host_part(authority: &str) -> Option<String> {
    let host = if authority.starts_with('[') {
        authority.split(']').next().map(|h| format!("{h}]"))?
    } else {
        authority.split(':').next()?.to_string()
    };
    (!host.is_empty() && !host.contains(UNKNOWN_TEXT) && !host.contains(' '))
        .then(|| host.to_ascii_lowercase())
}

fn scheme_transport(scheme: &str) -> Option<Transport> {
    match scheme {
        "https" | "wss" | "mqtts" | "ssl" | "tls" | "grpcs" | "amqps" | "ftps" | "h2" => {
            Some(Transport::Tls)
        }
        "http" | "ws" | "mqtt" | "tcp" | "udp" | "amqp" | "ftp" | "grpc" => {
            Some(Transport::Plaintext)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scheme decides the transport; the host is lower-cased and stripped of port and path.
    #[test]
    fn endpoints_from_urls() {
        let e = endpoint_of("https://API.example.com:8443/v1?x=1");
        assert_eq!(e.transport, Some(Transport::Tls));
        assert_eq!(e.host.as_deref(), Some("api.example.com"));
        let e = endpoint_of("collector.example.net:7000");
        assert_eq!(
            (e.transport, e.host.as_deref()),
            (None, Some("collector.example.net"))
        );
        let e = endpoint_of("http://\u{fffd}/x");
        assert_eq!((e.transport, e.host), (Some(Transport::Plaintext), None));
    }
}
