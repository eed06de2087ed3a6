//! rust-regex-json: a real-world-shaped workload built from real crates.
//!
//! From a fixed seed (ChaCha8) it generates `argv[1]` web-service log records, serializes them to
//! JSON lines with serde_json, parses them back both as typed structs and as `serde_json::Value`,
//! renders a plain-text access log and scans it with several `regex` patterns, then deflates and
//! inflates the whole corpus with miniz_oxide. It prints counts and checksums: a deterministic
//! digest that is identical natively and on every wasm tier.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use regex::Regex;
use serde::{Deserialize, Serialize};

const SERVICES: &[&str] =
    &["auth", "billing", "search", "gateway", "inventory", "mailer", "profile"];
const METHODS: &[&str] = &["GET", "GET", "GET", "POST", "PUT", "DELETE", "PATCH"];
const LEVELS: &[&str] = &["DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR"];
const WORDS: &[&str] = &[
    "request",
    "completed",
    "user",
    "session",
    "cache",
    "miss",
    "hit",
    "upstream",
    "timeout",
    "connection",
    "refused",
    "retry",
    "token",
    "expired",
    "invoice",
    "created",
    "query",
    "slow",
    "index",
    "rebuilt",
    "payload",
    "rejected",
    "quota",
    "exceeded",
    "ok",
];
const DOMAINS: &[&str] = &["example.com", "mail.test", "corp.invalid", "users.example.org"];
const STATUSES: &[u16] =
    &[200, 200, 200, 200, 201, 204, 301, 304, 400, 401, 403, 404, 429, 500, 502, 503];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Request {
    method: String,
    path: String,
    status: u16,
    latency_ms: f64,
    bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct LogEntry {
    id: u64,
    timestamp: String,
    level: String,
    service: String,
    client_ip: String,
    user: Option<String>,
    request: Request,
    message: String,
    tags: Vec<String>,
    trace_id: String,
}

/// Picks from a slice with a u32 range, so the draw is the same on 32- and 64-bit targets.
fn pick<'a, T: ?Sized>(rng: &mut ChaCha8Rng, items: &'a [&'a T]) -> &'a T {
    items[rng.gen_range(0..items.len() as u32) as usize]
}

fn gen_entry(rng: &mut ChaCha8Rng, id: u64) -> LogEntry {
    let secs = 1_700_000_000u64 + id * 3 + rng.gen_range(0..3u64);
    let (day, rem) = (secs / 86_400, secs % 86_400);
    let timestamp = format!(
        "2023-11-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        day % 28 + 1,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        rng.gen_range(0..1000u32)
    );
    let service = pick(rng, SERVICES).to_string();
    let method = pick(rng, METHODS).to_string();
    let path = match rng.gen_range(0..5u32) {
        0 => format!("/api/v{}/users/{}", rng.gen_range(1..4u32), rng.gen_range(1..100_000u32)),
        1 => format!(
            "/api/v{}/orders/{}/items",
            rng.gen_range(1..4u32),
            rng.gen_range(1..1_000_000u32)
        ),
        2 => {
            format!("/static/{}.{}", pick(rng, WORDS), if rng.gen_bool(0.5) { "js" } else { "css" })
        }
        3 => format!(
            "/search?q={}+{}&page={}",
            pick(rng, WORDS),
            pick(rng, WORDS),
            rng.gen_range(1..20u32)
        ),
        _ => format!("/{}/{}", service, pick(rng, WORDS)),
    };
    let status = STATUSES[rng.gen_range(0..STATUSES.len() as u32) as usize];
    let latency_ms = (rng.gen_range(0.05f64..2500.0) * 1000.0).round() / 1000.0;
    let client_ip = format!(
        "{}.{}.{}.{}",
        rng.gen_range(1..224u32),
        rng.gen_range(0..256u32),
        rng.gen_range(0..256u32),
        rng.gen_range(1..255u32)
    );
    let user = if rng.gen_bool(0.7) {
        Some(format!("{}{}@{}", pick(rng, WORDS), rng.gen_range(0..1000u32), pick(rng, DOMAINS)))
    } else {
        None
    };
    let level = if status >= 500 { "ERROR".to_string() } else { pick(rng, LEVELS).to_string() };
    let nwords = rng.gen_range(3..10u32);
    let mut message = String::new();
    for i in 0..nwords {
        if i > 0 {
            message.push(' ');
        }
        message.push_str(pick(rng, WORDS));
    }
    if rng.gen_bool(0.1) {
        let _ = write!(message, " \"quoted\\path\" \u{e9}t\u{e9} \t{}", rng.gen_range(0..10u32));
    }
    let ntags = rng.gen_range(0..4u32);
    let tags = (0..ntags).map(|_| pick(rng, WORDS).to_string()).collect();
    let trace_id = format!("{:016x}{:016x}", rng.gen::<u64>(), rng.gen::<u64>());
    LogEntry {
        id,
        timestamp,
        level,
        service,
        client_ip,
        user,
        request: Request {
            method,
            path,
            status,
            latency_ms,
            bytes: rng.gen_range(0..5_000_000u64),
        },
        message,
        tags,
        trace_id,
    }
}

/// 64-bit FNV-1a.
fn fnv(hash: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *hash ^= b as u64;
        *hash = hash.wrapping_mul(0x100_0000_01b3);
    }
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("argv[1] must be a record count"))
        .unwrap_or(20_000);
    let mut rng = ChaCha8Rng::seed_from_u64(0x7469_6572_7570);

    // 1. Generate and serialize to JSON lines.
    let entries: Vec<LogEntry> = (0..n).map(|id| gen_entry(&mut rng, id)).collect();
    let mut jsonl = String::new();
    for e in &entries {
        jsonl.push_str(&serde_json::to_string(e).expect("serialize"));
        jsonl.push('\n');
    }
    let pretty_len =
        serde_json::to_string_pretty(&entries[..entries.len().min(500)]).expect("pretty").len();

    // 2. Parse back, typed and untyped.
    let mut roundtrip_ok = 0u64;
    let mut by_service: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    let mut total_bytes = 0u64;
    let mut value_numbers = 0u64;
    for line in jsonl.lines() {
        let e: LogEntry = serde_json::from_str(line).expect("parse typed");
        if e == entries[e.id as usize] {
            roundtrip_ok += 1;
        }
        let v: serde_json::Value = serde_json::from_str(line).expect("parse value");
        total_bytes += v["request"]["bytes"].as_u64().unwrap_or(0);
        let slot = by_service.entry(e.service.clone()).or_insert((0, 0.0));
        slot.0 += 1;
        slot.1 += v["request"]["latency_ms"].as_f64().unwrap_or(0.0);
        fn count_numbers(v: &serde_json::Value) -> u64 {
            match v {
                serde_json::Value::Number(_) => 1,
                serde_json::Value::Array(a) => a.iter().map(count_numbers).sum(),
                serde_json::Value::Object(o) => o.values().map(count_numbers).sum(),
                _ => 0,
            }
        }
        value_numbers += count_numbers(&v);
    }

    // 3. Render a plain-text access log and scan it with regexes.
    let mut text = String::new();
    for e in &entries {
        let _ = writeln!(
            text,
            "{} {} [{}] {} \"{} {}\" {} {} {:.3}ms user={} trace={} msg=\"{}\"",
            e.client_ip,
            e.timestamp,
            e.level,
            e.service,
            e.request.method,
            e.request.path,
            e.request.status,
            e.request.bytes,
            e.request.latency_ms,
            e.user.as_deref().unwrap_or("-"),
            e.trace_id,
            e.message
        );
    }
    let patterns: &[(&str, &str)] = &[
        ("ipv4", r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
        ("email", r"[a-z]+\d+@[a-z.]+\.(?:com|org|test|invalid)"),
        ("server_error", r#"" 5\d\d "#),
        ("user_path", r"/api/v(\d)/users/(\d+)"),
        ("trace_hex", r"trace=[0-9a-f]{32}"),
        ("net_trouble", r"(?i)\b(?:TIMEOUT|REFUSED|retry)\b"),
        ("slow", r" (?:[1-9]\d{3})\.\d{3}ms"),
        ("unicode_word", r"\p{L}*é\p{L}*"),
    ];
    let mut regex_hash = 0xcbf2_9ce4_8422_2325u64;
    let mut regex_counts = Vec::new();
    for (name, pat) in patterns {
        let re = Regex::new(pat).expect("regex");
        let mut count = 0u64;
        for m in re.find_iter(&text) {
            count += 1;
            fnv(&mut regex_hash, m.as_str().as_bytes());
        }
        regex_counts.push((name, count));
    }
    let user_re = Regex::new(r"/api/v(\d)/users/(\d+)").expect("regex");
    let mut user_id_sum = 0u64;
    let mut version_hist = [0u64; 4];
    for caps in user_re.captures_iter(&text) {
        version_hist[caps[1].parse::<usize>().unwrap()] += 1;
        user_id_sum += caps[2].parse::<u64>().unwrap();
    }
    let level_re = Regex::new(r"\[(DEBUG|INFO|WARN|ERROR)\] (\w+)").expect("regex");
    let mut level_counts: BTreeMap<String, u64> = BTreeMap::new();
    for caps in level_re.captures_iter(&text) {
        *level_counts.entry(format!("{}/{}", &caps[1], &caps[2])).or_default() += 1;
    }
    let redacted = Regex::new(r"[a-z]+\d+@").expect("regex").replace_all(&text, "***@");

    // 4. Compress and decompress the JSON corpus and the redacted text.
    let mut corpus_hash = 0xcbf2_9ce4_8422_2325u64;
    let mut sizes = Vec::new();
    for (name, data, level) in [
        ("jsonl", jsonl.as_bytes(), 6u8),
        ("text", redacted.as_bytes(), 9u8),
        ("jsonl-fast", jsonl.as_bytes(), 1u8),
    ] {
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(data, level);
        let unpacked = miniz_oxide::inflate::decompress_to_vec_zlib(&packed).expect("inflate");
        assert!(unpacked == data, "{name}: roundtrip mismatch");
        fnv(&mut corpus_hash, &packed);
        sizes.push((name, data.len(), packed.len()));
    }

    println!("records {n}");
    println!("jsonl bytes {} pretty(500) bytes {}", jsonl.len(), pretty_len);
    println!("roundtrip ok {roundtrip_ok}/{n} numbers {value_numbers} total_bytes {total_bytes}");
    for (service, (count, latency)) in &by_service {
        println!("service {service:<10} {count:>7} mean latency {:.3}", latency / *count as f64);
    }
    for (name, count) in &regex_counts {
        println!("regex {name:<13} {count}");
    }
    println!("user paths by version {:?} id sum {user_id_sum}", &version_hist[1..]);
    for (k, v) in &level_counts {
        if *v * 50 >= n {
            println!("level/service {k:<16} {v}");
        }
    }
    println!("regex match hash {regex_hash:016x}");
    for (name, raw, packed) in &sizes {
        println!("deflate {name:<10} {raw} -> {packed}");
    }
    println!("compressed hash {corpus_hash:016x}");
}
