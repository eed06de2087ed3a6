//! Embedding tierup in a Rust program: compile a module, give it host functions, call its exports
//! with dynamic values and with a typed signature, and handle a trap.
//!
//! Run it with `cargo run --example embed`.

use tierup::{Caller, Engine, Error, Func, Linker, Module, Store, Trap, Val};

/// The guest imports two host functions: one logs a number, the other a string that it passes as a
/// pointer and a length into its own exported memory.
const GUEST: &str = r#"
(module
  (import "env" "log_i32" (func $log_i32 (param i32)))
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from the guest")

  (func (export "greet")
    (call $log_str (i32.const 16) (i32.const 20)))

  ;; 1 + 2 + ... + n, logging the total before returning it.
  (func (export "sum_to") (param $n i32) (result i32)
    (local $sum i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $sum (i32.add (local.get $sum) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (call $log_i32 (local.get $sum))
    (local.get $sum))

  (func $divide (export "divide") (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1))))
"#;

/// The embedder's own state, reachable from host functions through `Caller::data_mut`.
#[derive(Default)]
struct Host {
    /// Every line the guest logged.
    log: Vec<String>,
}

fn main() -> Result<(), Error> {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST)?;
    let mut store = Store::new(&engine, Host::default());
    let mut linker = Linker::new();
    linker.func_wrap("env", "log_i32", log_i32).func_wrap("env", "log_str", log_str);
    let instance = linker.instantiate(&mut store, &module)?;
    let export = |name: &str| {
        instance.get_func(&store, name).ok_or_else(|| Error::Usage(format!("no export `{name}`")))
    };
    let (greet, sum_to, divide) = (export("greet")?, export("sum_to")?, export("divide")?);

    greet.call(&mut store, &[], &mut [])?;
    call_with_values(&mut store, sum_to)?;

    // A typed view checks the signature once; then calls take and return plain Rust values.
    let divide = divide.typed::<_, (i32, i32), i32>(&store)?;
    println!("divide(7, 2) = {}", divide.call(&mut store, (7, 2))?);

    // A trap comes back as `Error::Trap`, with the wasm backtrace of where it happened.
    match divide.call(&mut store, (1, 0)) {
        Err(Error::Trap(trap)) => {
            print!("divide(1, 0) trapped: {trap}\n{}", trap.backtrace_string())
        }
        other => return Err(Error::Usage(format!("expected a trap, got {other:?}"))),
    }
    println!("the guest logged {} lines: {:?}", store.data().log.len(), store.data().log);
    Ok(())
}

/// `env.log_i32`: a typed host function; its Rust signature gives its wasm type `(param i32)`.
fn log_i32(mut caller: Caller<'_, Host>, value: i32) -> Result<(), Trap> {
    println!("guest logs {value}");
    caller.data_mut().log.push(value.to_string());
    Ok(())
}

/// `env.log_str`: reads `len` bytes at `ptr` from the calling instance's exported memory. Guest
/// pointers are untrusted: a range outside the memory is a trap, never a host panic.
fn log_str(mut caller: Caller<'_, Host>, ptr: i32, len: i32) -> Result<(), Trap> {
    let memory = caller.memory_mut("memory").ok_or_else(|| Trap::host("no `memory` export"))?;
    let (start, len) = (ptr as u32 as usize, len as u32 as usize);
    let bytes = start
        .checked_add(len)
        .and_then(|end| memory.get(start..end))
        .ok_or_else(|| Trap::host("log_str: string out of bounds"))?;
    let text = String::from_utf8_lossy(bytes).into_owned();
    println!("guest logs {text:?}");
    caller.data_mut().log.push(text);
    Ok(())
}

/// An untyped call: arguments and results are `Val`s, checked against the signature at each call.
fn call_with_values(store: &mut Store<Host>, sum_to: Func) -> Result<(), Error> {
    let mut results = [Val::I32(0)];
    sum_to.call(store, &[Val::I32(10)], &mut results)?;
    println!("sum_to(10) = {}", results[0]);
    Ok(())
}
