//! Two stacked Landlock layers.
//!
//! The read layer: directories are listable everywhere; files are readable and executable
//! everywhere except under credential paths (granted as the complement of those paths,
//! since Landlock can only allow). It also grants reparenting everywhere, so only the
//! write layer decides where renames may go, while a file still cannot be linked or moved
//! to where it would become readable. It depends only on the home directory's layout, so
//! it is built once and reused while the directories it listed are unchanged.
//!
//! The write layer, per command: writable roots get every write right; TCP and IPC
//! scoping are handled here too.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath,
    PathFd, Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr, Scope,
};

use crate::SandboxError;

/// The Landlock ABI the running kernel offers (0 when unavailable).
pub(crate) fn kernel_abi() -> i64 {
    // SAFETY: landlock_create_ruleset with a null attr, size 0 and the VERSION flag only
    // queries the ABI version; it takes no pointers it dereferences.
    unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32, // LANDLOCK_CREATE_RULESET_VERSION
        )
    }
}

/// A created ruleset, plus directories that only exist once the child has mounted them
/// (the private `/dev/shm`), which get their rule in the child.
pub(crate) struct LandlockPlan {
    read: Arc<ReadLayer>,
    fd: OwnedFd,
    late_dirs: Vec<CString>,
    dir_access: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: libc::c_int,
}

impl LandlockPlan {
    /// Child side: add the late rules and restrict this process. No allocation.
    pub(crate) fn apply(&self) -> std::io::Result<()> {
        let last_error = || Err(std::io::Error::last_os_error());
        for dir in &self.late_dirs {
            // SAFETY: open/close on a NUL-terminated path.
            unsafe {
                let fd = libc::open(
                    dir.as_ptr(),
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                );
                if fd < 0 {
                    return last_error();
                }
                let added = add_beneath(self.fd.as_raw_fd(), fd, self.dir_access);
                libc::close(fd);
                added?;
            }
        }
        // SAFETY: prctl and landlock_restrict_self with integer arguments.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 {
                return last_error();
            }
            for layer in [self.read.fd.as_raw_fd(), self.fd.as_raw_fd()] {
                if libc::syscall(libc::SYS_landlock_restrict_self, layer, 0) < 0 {
                    return last_error();
                }
            }
        }
        Ok(())
    }
}

/// The cached read layer and what it was built from.
pub(crate) struct ReadLayer {
    fd: OwnedFd,
    unreadable: Vec<PathBuf>,
    /// Every directory listed to build the complement, with its modification time.
    listed: Vec<(PathBuf, Option<SystemTime>)>,
}

impl ReadLayer {
    fn still_valid(&self, unreadable: &[PathBuf]) -> bool {
        self.unreadable == unreadable
            && self
                .listed
                .iter()
                .all(|(dir, stamp)| modified(dir) == *stamp)
    }
}

fn modified(dir: &Path) -> Option<SystemTime> {
    std::fs::metadata(dir).and_then(|m| m.modified()).ok()
}

fn read_layer(abi: ABI, unreadable: &[PathBuf]) -> Result<Arc<ReadLayer>, SandboxError> {
    static CACHE: Mutex<Option<Arc<ReadLayer>>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(layer) = cache.as_ref().filter(|l| l.still_valid(unreadable)) {
        return Ok(layer.clone());
    }
    let landlock = |e: landlock::RulesetError| SandboxError::Landlock(e.to_string());
    let mut created = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_read(abi) | AccessFs::Refer)
        .map_err(landlock)?
        .create()
        .map_err(landlock)?;
    created = add(created, Path::new("/"), AccessFs::ReadDir | AccessFs::Refer)?;
    let mut readable = Vec::new();
    let mut listed = Vec::new();
    if unreadable.is_empty() {
        readable.push(PathBuf::from("/"));
    } else {
        complement(Path::new("/"), unreadable, &mut readable, &mut listed);
    }
    let fd = into_fd(created)?;
    // Dozens of rules: made directly, without the checks (a look at each path) that
    // the crate's rules make for rights that only apply to directories.
    let read_files = (AccessFs::ReadFile | AccessFs::Execute).bits();
    for path in &readable {
        add_file_rights(&fd, path, read_files)?;
    }
    let layer = Arc::new(ReadLayer {
        fd,
        unreadable: unreadable.to_vec(),
        listed: listed
            .into_iter()
            .map(|d| {
                let stamp = modified(&d);
                (d, stamp)
            })
            .collect(),
    });
    *cache = Some(layer.clone());
    Ok(layer)
}

fn into_fd(ruleset: RulesetCreated) -> Result<OwnedFd, SandboxError> {
    let fd: Option<OwnedFd> = ruleset.into();
    fd.ok_or_else(|| SandboxError::Landlock("the kernel returned no ruleset".into()))
}

pub(crate) fn build(
    abi: ABI,
    writable: &[PathBuf],
    unreadable: &[PathBuf],
    late_dirs: &[PathBuf],
    proxy_port: Option<u16>,
) -> Result<LandlockPlan, SandboxError> {
    let read = read_layer(abi, unreadable)?;
    let landlock = |e: landlock::RulesetError| SandboxError::Landlock(e.to_string());
    let write = AccessFs::from_write(abi);
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(write)
        .map_err(landlock)?;
    if abi >= ABI::V4 {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(abi))
            .map_err(landlock)?;
    }
    if abi >= ABI::V6 {
        ruleset = ruleset.scope(Scope::from_all(abi)).map_err(landlock)?;
    }
    let mut created = ruleset.create().map_err(landlock)?;
    for path in writable {
        created = add(created, path, write)?;
    }
    if let Some(port) = proxy_port.filter(|_| abi >= ABI::V4) {
        created = created
            .add_rule(NetPort::new(port, AccessNet::ConnectTcp))
            .map_err(|e| SandboxError::Landlock(format!("rule for the proxy port: {e}")))?;
    }
    let late_dirs = late_dirs
        .iter()
        .map(|p| CString::new(p.as_os_str().as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|e| SandboxError::Landlock(e.to_string()))?;
    Ok(LandlockPlan {
        read,
        fd: into_fd(created)?,
        late_dirs,
        dir_access: write.bits(),
    })
}

fn add(
    ruleset: RulesetCreated,
    path: &Path,
    access: BitFlags<AccessFs>,
) -> Result<RulesetCreated, SandboxError> {
    // A path that vanished since it was listed simply gets no rule.
    let Ok(fd) = PathFd::new(path) else {
        return Ok(ruleset);
    };
    // Rights that only make sense on directories are dropped for files.
    let access = if path.is_dir() {
        access
    } else {
        access & AccessFs::from_file(ABI::V6)
    };
    ruleset
        .add_rule(PathBeneath::new(fd, access))
        .map_err(|e| SandboxError::Landlock(format!("rule for {}: {e}", path.display())))
}

/// A rule granting `access` (file rights only) beneath `path`; none if it vanished since
/// it was listed.
fn add_file_rights(ruleset: &OwnedFd, path: &Path, access: u64) -> Result<(), SandboxError> {
    let Ok(name) = CString::new(path.as_os_str().as_bytes()) else {
        return Ok(());
    };
    // SAFETY: open on a NUL-terminated path; the descriptor is owned right away.
    let opened = unsafe { libc::open(name.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if opened < 0 {
        return Ok(());
    }
    // SAFETY: a descriptor just returned by open.
    let beneath = unsafe { OwnedFd::from_raw_fd(opened) };
    add_beneath(ruleset.as_raw_fd(), beneath.as_raw_fd(), access)
        .map_err(|e| SandboxError::Landlock(format!("rule for {}: {e}", path.display())))
}

/// A path-beneath rule in `ruleset` granting `access` on what `beneath` is open on. No
/// allocation (a child calls it).
fn add_beneath(ruleset: libc::c_int, beneath: libc::c_int, access: u64) -> std::io::Result<()> {
    let attr = PathBeneathAttr {
        allowed_access: access,
        parent_fd: beneath,
    };
    // SAFETY: landlock_add_rule with a ruleset descriptor and a live attribute struct.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset,
            1, // LANDLOCK_RULE_PATH_BENEATH
            &attr as *const PathBeneathAttr,
            0,
        )
    };
    if ret < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Every entry under `dir` that is not one of `hidden` and holds none of them, descending
/// only into directories on the way to a hidden path.
pub(crate) fn complement(
    dir: &Path,
    hidden: &[PathBuf],
    out: &mut Vec<PathBuf>,
    listed: &mut Vec<PathBuf>,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    listed.push(dir.to_path_buf());
    for entry in entries.flatten() {
        let path = entry.path();
        if hidden.contains(&path) {
            continue;
        }
        let holds_hidden = hidden.iter().any(|h| h.starts_with(&path));
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if holds_hidden && is_dir {
            complement(&path, hidden, out, listed);
        } else {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_complement_skips_hidden_paths_and_keeps_their_siblings() {
        let base = tempfile::tempdir().unwrap();
        let b = base.path();
        for dir in [
            "home/.ssh",
            "home/.config/gcloud",
            "home/.config/other",
            "home/work",
        ] {
            std::fs::create_dir_all(b.join(dir)).unwrap();
        }
        std::fs::write(b.join("home/.bashrc"), "").unwrap();
        let hidden = vec![b.join("home/.ssh"), b.join("home/.config/gcloud")];
        let (mut out, mut listed) = (Vec::new(), Vec::new());
        complement(b, &hidden, &mut out, &mut listed);
        assert_eq!(
            listed,
            vec![b.to_path_buf(), b.join("home"), b.join("home/.config")]
        );
        out.sort();
        assert_eq!(
            out,
            vec![
                b.join("home/.bashrc"),
                b.join("home/.config/other"),
                b.join("home/work"),
            ]
        );
    }
}
