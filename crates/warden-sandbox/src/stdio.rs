//! How a command's standard streams are connected: a leaf both ways of starting one use.

use std::process::Stdio;

/// How one of the command's standard streams is connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Io {
    Inherit,
    Null,
    Piped,
}

impl Io {
    pub(crate) fn std(self) -> Stdio {
        match self {
            Io::Inherit => Stdio::inherit(),
            Io::Null => Stdio::null(),
            Io::Piped => Stdio::piped(),
        }
    }
}
