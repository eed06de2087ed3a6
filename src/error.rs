//! The engine's error type: everything that can go wrong outside of a running guest, plus traps.

use crate::vm::Trap;

/// An error from decoding, validating, linking, instantiating or running a module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a well-formed wasm binary (or the text did not parse).
    #[error("malformed module: {0}")]
    Malformed(String),
    /// The module is well-formed but does not validate.
    #[error("invalid module: {0}")]
    Invalid(String),
    /// The module uses a feature tierup does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// An import could not be satisfied.
    #[error("unknown import: {0}")]
    UnknownImport(String),
    /// An import was found but its type does not match.
    #[error("incompatible import type for {0}")]
    IncompatibleImport(String),
    /// A resource limit (memory size, table size, instances) was hit.
    #[error("resource limit exceeded: {0}")]
    ResourceLimit(String),
    /// A bug in tierup itself (never the guest's fault); please report it.
    #[error("internal error: {0}")]
    Internal(String),
    /// An export lookup or call from the embedder failed.
    #[error("{0}")]
    Usage(String),
    /// Compiled code from an artifact or the code cache cannot be used here (damaged, or from
    /// another build, instruction set, CPU or configuration).
    #[error(transparent)]
    Artifact(#[from] crate::artifact::ArtifactError),
    /// The guest trapped.
    #[error(transparent)]
    Trap(#[from] Trap),
}

impl Error {
    /// Turns a wasmparser error into a malformed/invalid error with its byte offset.
    pub(crate) fn from_wasmparser(e: wasmparser::BinaryReaderError) -> Error {
        let msg = format!("{} (at offset {:#x})", e.message(), e.offset());
        if is_malformed_message(e.message()) { Error::Malformed(msg) } else { Error::Invalid(msg) }
    }

    /// The trap, if this error is one.
    pub fn as_trap(&self) -> Option<&Trap> {
        match self {
            Error::Trap(t) => Some(t),
            _ => None,
        }
    }
}

/// wasmparser reports decoding and validation failures through one error type; the spec's split
/// between "malformed" and "invalid" is recovered from the message. Only the label depends on it.
fn is_malformed_message(msg: &str) -> bool {
    msg.contains("unexpected end")
        || msg.contains("magic header")
        || msg.contains("unknown binary version")
        || msg.contains("malformed")
        || msg.contains("integer representation too long")
        || msg.contains("integer too large")
        || msg.contains("section size mismatch")
        || msg.contains("illegal opcode")
        || msg.contains("zero byte expected")
}

impl From<wasmparser::BinaryReaderError> for Error {
    fn from(e: wasmparser::BinaryReaderError) -> Error {
        Error::from_wasmparser(e)
    }
}

/// Result alias for the engine API.
pub type Result<T, E = Error> = std::result::Result<T, E>;
