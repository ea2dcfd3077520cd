//! Starting a confined [`SandboxCommand`] (with [`super::vfork::launch`] or in an early
//! child, [`super::early::Early::launch`]): its program found
//! on PATH, its environment and streams prepared here, then waited for and signalled
//! through a pidfd.

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use super::Hook;
use crate::stdio::Io;

fn c_string(bytes: Vec<u8>) -> std::io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a NUL byte in the command, its environment or its directory",
        )
    })
}

/// Start `command` behind `hook`: in `early` when given (see `early.rs`), otherwise in a
/// new clone. Returns its pid, its pidfd and our ends of its piped streams.
pub(crate) fn start(
    command: &std::process::Command,
    stdio: [Io; 3],
    process_group: bool,
    hook: &mut Hook,
    early: Option<super::early::Early>,
) -> std::io::Result<(u32, OwnedFd, [Option<OwnedFd>; 3])> {
    let env = environment(command);
    let program = command.get_program();
    let path = resolve(program, &env).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{}: not found on PATH", program.to_string_lossy()),
        )
    })?;
    let path = c_string(path.into_os_string().into_vec())?;
    let argv = std::iter::once(program)
        .chain(command.get_args())
        .map(|a| c_string(a.as_bytes().to_vec()))
        .collect::<std::io::Result<Vec<_>>>()?;
    let envp = env
        .into_iter()
        .map(|(key, value)| {
            let mut pair = key.into_vec();
            pair.push(b'=');
            pair.extend_from_slice(value.as_bytes());
            c_string(pair)
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let cwd = c_string(working_directory(command)?.as_os_str().as_bytes().to_vec())?;
    // The child's end of each stream (closed here once it has started) and ours.
    let mut theirs: [Option<OwnedFd>; 3] = [None, None, None];
    let mut ours: [Option<OwnedFd>; 3] = [None, None, None];
    for (index, io) in stdio.into_iter().enumerate() {
        match io {
            Io::Inherit => {}
            Io::Null => {
                theirs[index] = Some(
                    std::fs::File::options()
                        .read(true)
                        .write(true)
                        .open("/dev/null")?
                        .into(),
                )
            }
            Io::Piped => {
                let (read, write) = pipe()?;
                let (child_end, our_end) = if index == 0 {
                    (read, write)
                } else {
                    (write, read)
                };
                theirs[index] = Some(child_end);
                ours[index] = Some(our_end);
            }
        }
    }
    let fds = [0, 1, 2].map(|i| theirs[i].as_ref().map_or(-1, |fd| fd.as_raw_fd()));
    let program = super::vfork::Program::new(&path, &cwd, &argv, &envp, fds, process_group);
    let started = match early {
        Some(early) => early.launch(&program, hook)?,
        None => super::vfork::launch(&program, hook)?,
    };
    drop(theirs);
    let id = u32::try_from(started.pid).map_err(std::io::Error::other)?;
    Ok((id, started.pidfd, ours))
}

/// This process's environment with the command's changes applied.
fn environment(command: &std::process::Command) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    for (key, value) in command.get_envs() {
        env.retain(|(k, _)| k != key);
        if let Some(value) = value {
            env.push((key.to_owned(), value.to_owned()));
        }
    }
    env
}

/// `program` as execvp would find it on the command's PATH.
fn resolve(program: &OsStr, env: &[(OsString, OsString)]) -> Option<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return Some(PathBuf::from(program));
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two new descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both were just created and belong to nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// The working directory the command was given ([`crate::command`] always sets one).
fn working_directory(command: &std::process::Command) -> std::io::Result<&std::path::Path> {
    command
        .get_current_dir()
        .ok_or_else(|| std::io::Error::other("a sandboxed command needs a working directory"))
}
