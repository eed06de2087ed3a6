//! rust-btree: std collections under a string-keyed workload.
//!
//! From a fixed seed it runs `argv[1]` operations against a BTreeMap<String, u64> index, a
//! HashMap<String, Vec<u32>> inverted index and a BTreeSet of (score, key) pairs: inserts,
//! updates, lookups, removals and range scans, with string building and sorting throughout.
//! The digest (counts, sums, an FNV hash of ordered traversals) never depends on hash order.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

/// xorshift64*: a tiny deterministic PRNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        (self.next() >> 11) % n
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "zen", "bar", "qux", "dor", "el", "fin",
    "gra", "hu", "ix", "jo", "ply", "str",
];

/// A pronounceable key with a numeric suffix, drawn from a bounded key space so keys recur.
fn make_key(rng: &mut Rng, space: u64, buf: &mut String) {
    buf.clear();
    let id = rng.below(space);
    let mut x = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 20;
    for _ in 0..(2 + id % 3) {
        buf.push_str(SYLLABLES[(x % SYLLABLES.len() as u64) as usize]);
        x /= SYLLABLES.len() as u64;
    }
    let _ = write!(buf, "-{id}");
}

fn fnv(hash: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *hash ^= b as u64;
        *hash = hash.wrapping_mul(0x100_0000_01b3);
    }
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("argv[1] must be an operation count"))
        .unwrap_or(1_000_000);
    let space = (n / 4).max(100);
    let mut rng = Rng(0x0b7e_e5ee_d000_0042);

    let mut index: BTreeMap<String, u64> = BTreeMap::new();
    let mut inverted: HashMap<String, Vec<u32>> = HashMap::new();
    let mut ranking: BTreeSet<(u64, String)> = BTreeSet::new();
    let mut key = String::new();
    let (mut inserts, mut updates, mut hits, mut misses, mut removes, mut scanned) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut sum = 0u64;
    let mut hash = 0xcbf2_9ce4_8422_2325u64;

    for op in 0..n {
        make_key(&mut rng, space, &mut key);
        match rng.below(100) {
            0..=39 => {
                let value = rng.below(1_000_000);
                match index.get_mut(key.as_str()) {
                    Some(old) => {
                        ranking.remove(&(*old, key.clone()));
                        *old = value;
                        updates += 1;
                    }
                    None => {
                        index.insert(key.clone(), value);
                        inserts += 1;
                    }
                }
                ranking.insert((value, key.clone()));
                let prefix = &key[..key.find('-').unwrap().min(4)];
                inverted.entry(prefix.to_string()).or_default().push(op as u32);
            }
            40..=74 => match index.get(key.as_str()) {
                Some(v) => {
                    hits += 1;
                    sum = sum.wrapping_add(*v);
                }
                None => misses += 1,
            },
            75..=84 => {
                if let Some(v) = index.remove(key.as_str()) {
                    ranking.remove(&(v, key.clone()));
                    removes += 1;
                }
            }
            85..=94 => {
                // Range scan over the next keys in order.
                let len = 1 + rng.below(32) as usize;
                for (k, v) in index.range(key.clone()..).take(len) {
                    scanned += 1;
                    sum = sum.wrapping_add(*v ^ k.len() as u64);
                }
            }
            _ => {
                // Top of the ranking, and a prefix lookup in the inverted index.
                if let Some((score, k)) = ranking.iter().next_back() {
                    fnv(&mut hash, k.as_bytes());
                    sum = sum.wrapping_add(*score);
                }
                let prefix = &key[..key.find('-').unwrap().min(4)];
                if let Some(ops) = inverted.get(prefix) {
                    sum = sum.wrapping_add(ops.len() as u64 + *ops.last().unwrap() as u64);
                }
            }
        }
    }

    // Ordered digests: the index in key order, the ranking, the inverted index sorted by key.
    for (k, v) in &index {
        fnv(&mut hash, k.as_bytes());
        fnv(&mut hash, &v.to_le_bytes());
    }
    let top: Vec<String> = ranking.iter().rev().take(5).map(|(s, k)| format!("{k}={s}")).collect();
    let mut prefixes: Vec<(&String, &Vec<u32>)> = inverted.iter().collect();
    prefixes.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    let mut words: Vec<&str> = index.keys().map(|k| k.as_str()).collect();
    words.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| b.cmp(a)));
    words.dedup_by_key(|w| w.len());

    println!("ops {n} key space {space}");
    println!("inserts {inserts} updates {updates} removes {removes}");
    println!("lookups hit {hits} miss {misses} scanned {scanned}");
    println!("live keys {} ranking {} prefixes {}", index.len(), ranking.len(), inverted.len());
    println!("first {:?} last {:?}", index.keys().next(), index.keys().next_back());
    println!("top {}", top.join(" "));
    for (p, ops) in prefixes.iter().take(3) {
        println!("prefix {p:<5} {}", ops.len());
    }
    println!("shortest-per-length {}", words.join(" "));
    println!("sum {sum} hash {hash:016x}");
}
