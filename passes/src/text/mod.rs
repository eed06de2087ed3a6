//! The text form of the IR: a printer and a parser that round-trip, so tests and users can write
//! IR by hand.
//!
//! ```text
//! function fn0 "add1" (i32) -> i32 {
//! block0(v0: i32):
//!     v1 = i32.const 1
//!     v2 = i32.add v0, v1
//!     return v2
//! }
//! ```
//!
//! This module only converts between text and IR; it never checks that the IR is well formed
//! (that is the verifier's job).

mod parse;
mod print;

pub use parse::{ParseError, parse_module, parse_or_panic};
pub use print::{
    DisplayModule, fmt_const, inst_head, inst_line, print_function, print_module, write_function,
};
