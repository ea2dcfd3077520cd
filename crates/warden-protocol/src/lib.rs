//! Wire types shared by the core, the desktop shell, `warden serve` and the UI.
//!
//! Everything here is plain data: camelCase on the wire, tagged unions with `type`,
//! timestamps as integer milliseconds named `*_at`. TypeScript types are generated
//! from these definitions (see `typescript.rs`) and committed under `ui/src/generated/`.

mod api;
mod event;
mod op;
mod policy;
mod settings;
pub mod typescript;

pub use api::*;
pub use event::*;
pub use op::*;
pub use policy::*;
pub use settings::*;
