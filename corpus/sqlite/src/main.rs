//! sqlite: the SQLite engine (rusqlite's bundled C amalgamation, compiled to wasm with clang) on an
//! in-memory database.
//!
//! From a fixed seed it creates a small shop schema, inserts `argv[1]` orders (plus customers and
//! products in proportion) through prepared statements in transactions, builds indexes, and runs
//! aggregate, join, LIKE, window-function, CTE, UPDATE and DELETE statements. It prints their
//! results and an FNV digest of full table scans: a deterministic digest that is identical natively
//! and on every wasm tier. No filesystem is touched.

use rusqlite::{params, Connection, Result};

/// xorshift64*: a tiny deterministic PRNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: i64) -> i64 {
        ((self.next() >> 11) % n as u64) as i64
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as i64) as usize]
    }
}

const FIRST: &[&str] = &[
    "Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken",
    "Dennis", "Radia", "Niklaus", "Leslie", "Tony", "Hedy", "Robin", "Shafi", "Jim", "Anita",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Backus",
    "Hamilton",
    "Thompson",
    "Ritchie",
    "Perlman",
    "Wirth",
    "Lamport",
    "Hoare",
    "Lamarr",
    "Milner",
    "Goldwasser",
    "Gray",
    "Borg",
    "Johnson",
    "Jackson",
    "Anderson",
    "Robinson",
];
const CITIES: &[&str] = &[
    "Amsterdam",
    "Berlin",
    "Cairo",
    "Denver",
    "Edinburgh",
    "Florence",
    "Geneva",
    "Helsinki",
    "Istanbul",
    "Jakarta",
    "Kyoto",
    "Lima",
    "Montreal",
    "Nairobi",
    "Oslo",
];
const CATEGORIES: &[&str] =
    &["books", "garden", "kitchen", "music", "outdoor", "toys", "tools", "video"];
const ADJECTIVES: &[&str] =
    &["red", "large", "compact", "deluxe", "vintage", "smart", "quiet", "solar"];
const NOUNS: &[&str] =
    &["lamp", "kettle", "drill", "guitar", "tent", "puzzle", "novel", "camera", "rake", "blender"];
const STATUS: &[&str] =
    &["new", "paid", "paid", "paid", "shipped", "shipped", "returned", "cancelled"];
const DOMAINS: &[&str] = &["example.com", "mail.test", "corp.invalid"];

/// 64-bit FNV-1a over the text of every value in `sql`'s rows.
fn digest(conn: &Connection, sql: &str) -> Result<(u64, u64)> {
    let mut stmt = conn.prepare(sql)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query([])?;
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut count = 0u64;
    while let Some(row) = rows.next()? {
        count += 1;
        for i in 0..columns {
            let text = match row.get_ref(i)? {
                rusqlite::types::ValueRef::Null => "NULL".to_string(),
                rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                rusqlite::types::ValueRef::Real(v) => format!("{v:.6}"),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                rusqlite::types::ValueRef::Blob(b) => format!("{b:?}"),
            };
            for b in text.bytes().chain([0xffu8]) {
                hash ^= b as u64;
                hash = hash.wrapping_mul(0x100_0000_01b3);
            }
        }
    }
    Ok((count, hash))
}

fn run(n: i64) -> Result<()> {
    let mut rng = Rng(0x5eed_5917_e000_0001);
    let mut conn = Connection::open_in_memory()?;
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         CREATE TABLE customers (
             id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE,
             city TEXT NOT NULL, signup_day INTEGER NOT NULL);
         CREATE TABLE products (
             id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL,
             price_cents INTEGER NOT NULL CHECK (price_cents > 0));
         CREATE TABLE orders (
             id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
             product_id INTEGER NOT NULL REFERENCES products(id), qty INTEGER NOT NULL,
             day INTEGER NOT NULL, status TEXT NOT NULL, note TEXT);",
    )?;

    let customers = (n / 8).max(10);
    let products = (n / 40).clamp(20, 2000);

    // Inserts through prepared statements, in transactions of 1000 rows.
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO customers (id, name, email, city, signup_day) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for id in 1..=customers {
            let (first, last) = (rng.pick(FIRST), rng.pick(LAST));
            let name = format!("{first} {last}");
            let email = format!(
                "{}.{}{}@{}",
                first.to_lowercase(),
                last.to_lowercase(),
                id,
                rng.pick(DOMAINS)
            );
            stmt.execute(params![id, name, email, rng.pick(CITIES), rng.below(1000)])?;
        }
        let mut stmt = tx.prepare(
            "INSERT INTO products (id, name, category, price_cents) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for id in 1..=products {
            let name =
                format!("{} {} mk{}", rng.pick(ADJECTIVES), rng.pick(NOUNS), rng.below(9) + 1);
            stmt.execute(params![id, name, rng.pick(CATEGORIES), 99 + rng.below(50_000)])?;
        }
    }
    tx.commit()?;
    let mut id = 1i64;
    while id <= n {
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO orders (id, customer_id, product_id, qty, day, status, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let end = (id + 1000).min(n + 1);
            while id < end {
                let note = if rng.below(5) == 0 {
                    Some(format!("gift wrap #{}", rng.below(100)))
                } else {
                    None
                };
                stmt.execute(params![
                    id,
                    1 + rng.below(customers),
                    1 + rng.below(products),
                    1 + rng.below(5),
                    1000 + rng.below(365),
                    rng.pick(STATUS),
                    note
                ])?;
                id += 1;
            }
        }
        tx.commit()?;
    }
    conn.execute_batch(
        "CREATE INDEX orders_customer ON orders(customer_id);
         CREATE INDEX orders_product ON orders(product_id, day);
         CREATE INDEX customers_city ON customers(city, name);
         ANALYZE;",
    )?;
    println!("rows customers {customers} products {products} orders {n}");

    // Revenue per category (join + group by).
    {
        let mut stmt = conn.prepare(
            "SELECT p.category, COUNT(*), SUM(o.qty), SUM(o.qty * p.price_cents)
               FROM orders o JOIN products p ON p.id = o.product_id
              WHERE o.status IN ('paid', 'shipped')
              GROUP BY p.category ORDER BY p.category",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        for row in rows {
            let (category, count, qty, cents) = row?;
            println!(
                "category {category:<8} orders {count:>7} qty {qty:>8} revenue {}.{:02}",
                cents / 100,
                cents % 100
            );
        }
    }

    // Top customers by spend (three-way join, having, order by, limit).
    {
        let mut stmt = conn.prepare(
            "SELECT c.id, c.name, c.city, COUNT(*) AS n, SUM(o.qty * p.price_cents) AS spend
               FROM customers c JOIN orders o ON o.customer_id = c.id JOIN products p ON p.id = o.product_id
              WHERE o.status <> 'cancelled'
              GROUP BY c.id HAVING n >= 2 ORDER BY spend DESC, c.id LIMIT 5",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        for row in rows {
            let (id, name, city, count, spend) = row?;
            println!("top customer {id:>6} {name:<20} {city:<10} orders {count:>3} spend {spend}");
        }
    }

    // LIKE scans.
    for pattern in ["%son%", "a%", "%@mail.test", "%ar%ar%", "grace h%"] {
        let count: i64 = conn.query_row(
            "SELECT COUNT(*) FROM customers WHERE name LIKE ?1 OR email LIKE ?1",
            [pattern],
            |r| r.get(0),
        )?;
        println!("like {pattern:<12} {count}");
    }
    let gifts: i64 =
        conn.query_row("SELECT COUNT(*) FROM orders WHERE note LIKE 'gift wrap #4_'", [], |r| {
            r.get(0)
        })?;
    println!("gift notes #4x {gifts}");

    // Per-city average order value via a subquery, in whole cents.
    {
        let mut stmt = conn.prepare(
            "SELECT city, COUNT(*), CAST(AVG(value) AS INTEGER), MAX(value)
               FROM (SELECT c.city AS city, o.qty * p.price_cents AS value
                       FROM orders o JOIN customers c ON c.id = o.customer_id JOIN products p ON p.id = o.product_id)
              GROUP BY city ORDER BY city",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        for row in rows {
            let (city, count, avg, max) = row?;
            println!("city {city:<10} orders {count:>7} avg {avg:>7} max {max}");
        }
    }

    // Window functions: each category's best-selling product by quantity.
    {
        let mut stmt = conn.prepare(
            "SELECT category, name, qty FROM (
                 SELECT p.category, p.name, SUM(o.qty) AS qty,
                        ROW_NUMBER() OVER (PARTITION BY p.category ORDER BY SUM(o.qty) DESC, p.id) AS rank
                   FROM orders o JOIN products p ON p.id = o.product_id GROUP BY p.id)
              WHERE rank = 1 ORDER BY category",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
        })?;
        for row in rows {
            let (category, name, qty) = row?;
            println!("best {category:<8} {name:<22} qty {qty}");
        }
    }

    // Recursive CTE: a running weekly total over days.
    let weekly: (i64, i64) = conn.query_row(
        "WITH RECURSIVE week(w) AS (SELECT 0 UNION ALL SELECT w + 1 FROM week WHERE w < 52)
         SELECT COUNT(*), SUM(t) FROM (
             SELECT w, (SELECT COALESCE(SUM(qty), 0) FROM orders WHERE day >= 1000 + 7 * w AND day < 1007 + 7 * w) AS t
               FROM week)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    println!("weeks {} qty {}", weekly.0, weekly.1);

    // Updates and deletes in a transaction.
    let tx = conn.transaction()?;
    let shipped = tx
        .execute("UPDATE orders SET status = 'shipped' WHERE status = 'paid' AND day < 1200", [])?;
    let repriced = tx.execute("UPDATE products SET price_cents = price_cents * 9 / 10 WHERE category IN ('toys', 'books')", [])?;
    let deleted = tx.execute("DELETE FROM orders WHERE status = 'cancelled'", [])?;
    let renamed = tx.execute("UPDATE customers SET name = upper(substr(name, 1, 1)) || lower(substr(name, 2)) || ' (' || length(email) || ')' WHERE id % 7 = 0", [])?;
    tx.commit()?;
    println!("updated shipped {shipped} repriced {repriced} deleted {deleted} renamed {renamed}");

    let status: String = conn.query_row(
        "SELECT group_concat(status || '=' || n, ' ') FROM (SELECT status, COUNT(*) AS n FROM orders GROUP BY status ORDER BY status)",
        [],
        |r| r.get(0),
    )?;
    println!("status {status}");

    for (name, sql) in [
        ("customers", "SELECT * FROM customers ORDER BY city, name, id"),
        ("products", "SELECT * FROM products ORDER BY id"),
        ("orders", "SELECT * FROM orders ORDER BY id"),
        ("report", "SELECT printf('%s/%05d/%.2f', c.city, o.id, o.qty * p.price_cents / 100.0) FROM orders o JOIN customers c ON c.id = o.customer_id JOIN products p ON p.id = o.product_id WHERE o.id % 13 = 0 ORDER BY o.id"),
    ] {
        let (count, hash) = digest(&conn, sql)?;
        println!("digest {name:<9} rows {count:>7} fnv {hash:016x}");
    }
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    println!("integrity {integrity} sqlite {}", rusqlite::version());
    Ok(())
}

fn main() {
    let n: i64 = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("argv[1] must be an order count"))
        .unwrap_or(100_000);
    if let Err(e) = run(n) {
        eprintln!("sqlite error: {e}");
        std::process::exit(1);
    }
}
