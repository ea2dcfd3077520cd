//! A dispatch prefix for the seccomp filter. seccompiler compiles rules into one linear
//! chain, so for a system call the filter does not mention the kernel walks every
//! comparison before it reaches "allow". Installing a filter makes the kernel evaluate
//! it for every system call number to cache the ones that are always allowed, so a long
//! chain cost ~280 µs per sandboxed command; and the kernel's work to install it grows
//! with its length (about a quarter of a microsecond per instruction here). After a
//! binary search (a handful of comparisons) the prefix answers "allow" for calls the
//! filter does not mention and "notify" for calls notified whatever their arguments, and
//! sends the rest to a program seccompiler compiled from their rules alone; it refuses
//! x32 system calls itself (which used to need a second filter).

use seccompiler::BpfProgram;

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JA: u16 = 0x05;
const BPF_JMP_JEQ_K: u16 = 0x15;
const BPF_JMP_JGE_K: u16 = 0x35;
const BPF_RET_K: u16 = 0x06;
/// `offsetof(struct seccomp_data, nr)` and `arch`.
const NR_OFFSET: u32 = 0;
const ARCH_OFFSET: u32 = 4;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

#[cfg(target_arch = "x86_64")]
const NATIVE_ARCH: Option<u32> = Some(0xc000_003e); // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
const NATIVE_ARCH: Option<u32> = Some(0xc000_00b7); // AUDIT_ARCH_AARCH64
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const NATIVE_ARCH: Option<u32> = None;

/// Where a jump goes, before offsets are known.
#[derive(Clone, Copy)]
enum Target {
    Next,
    At(usize),
    Allow,
    Deny,
    Notify,
    Program,
}

struct Insn {
    code: u16,
    k: u32,
    jt: Target,
    jf: Target,
}

/// The filter: a prefix that allows every native system call in neither `in_program`
/// nor `always`, notifies those in `always`, sends those in `in_program` to `program`
/// (compiled from their rules), and refuses x32 calls with `EPERM`. None where the
/// architecture is unknown or the prefix would not fit BPF's jump range (the caller then
/// compiles every rule into one program).
pub(crate) fn with_dispatch(
    program: BpfProgram,
    in_program: &[i64],
    always: &[i64],
) -> Option<BpfProgram> {
    let arch = NATIVE_ARCH?;
    let number = |nr: &i64| u32::try_from(*nr).ok();
    let in_program: Vec<u32> = in_program.iter().filter_map(number).collect();
    let mut numbers: Vec<u32> = always
        .iter()
        .filter_map(number)
        .chain(in_program.iter().copied())
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    let mut prefix = vec![
        insn(BPF_LD_W_ABS, ARCH_OFFSET),
        // Another architecture: the program's own check refuses it.
        jump(BPF_JMP_JEQ_K, arch, Target::Next, Target::Program),
        insn(BPF_LD_W_ABS, NR_OFFSET),
    ];
    #[cfg(target_arch = "x86_64")]
    prefix.push(jump(
        BPF_JMP_JGE_K,
        X32_SYSCALL_BIT,
        Target::Deny,
        Target::Next,
    ));
    let target = |nr: u32| {
        if in_program.contains(&nr) {
            Target::Program
        } else {
            Target::Notify
        }
    };
    search(&mut prefix, &numbers, &target);
    resolve(prefix, program)
}

fn insn(code: u16, k: u32) -> Insn {
    jump(code, k, Target::Next, Target::Next)
}

fn jump(code: u16, k: u32, jt: Target, jf: Target) -> Insn {
    Insn { code, k, jt, jf }
}

/// Emit a binary search over sorted `numbers` (the accumulator holds the call number):
/// members go to `target(nr)`, others are allowed.
fn search(out: &mut Vec<Insn>, numbers: &[u32], target: &dyn Fn(u32) -> Target) {
    if numbers.len() <= 3 {
        for (i, &nr) in numbers.iter().enumerate() {
            let miss = if i + 1 == numbers.len() {
                Target::Allow
            } else {
                Target::Next
            };
            out.push(jump(BPF_JMP_JEQ_K, nr, target(nr), miss));
        }
        if numbers.is_empty() {
            out.push(jump(BPF_JMP_JA, 0, Target::Allow, Target::Allow));
        }
        return;
    }
    let mid = numbers.len() / 2;
    let split = out.len();
    out.push(jump(
        BPF_JMP_JGE_K,
        numbers[mid],
        Target::Next,
        Target::Next,
    ));
    search(out, &numbers[..mid], target);
    let upper = out.len();
    out[split].jt = Target::At(upper);
    search(out, &numbers[mid..], target);
}

/// Lay out prefix, `ret allow`, `ret EPERM`, `ret notify`, then the program; None when a
/// jump does not fit in eight bits.
fn resolve(prefix: Vec<Insn>, program: BpfProgram) -> Option<BpfProgram> {
    let allow = prefix.len();
    let deny = allow + 1;
    let notify = deny + 1;
    let start = notify + 1;
    let mut out = Vec::with_capacity(start + program.len());
    for (pc, i) in prefix.iter().enumerate() {
        let offset = |target: Target| -> Option<u8> {
            let to = match target {
                Target::Next => pc + 1,
                Target::At(at) => at,
                Target::Allow => allow,
                Target::Deny => deny,
                Target::Notify => notify,
                Target::Program => start,
            };
            u8::try_from(to.checked_sub(pc + 1)?).ok()
        };
        let (jt, jf) = (offset(i.jt)?, offset(i.jf)?);
        let (k, jt, jf) = if i.code == BPF_JMP_JA {
            (u32::from(jt), 0, 0)
        } else {
            (i.k, jt, jf)
        };
        out.push(seccompiler::sock_filter {
            code: i.code,
            jt,
            jf,
            k,
        });
    }
    let ret = |k: u32| seccompiler::sock_filter {
        code: BPF_RET_K,
        jt: 0,
        jf: 0,
        k,
    };
    out.push(ret(SECCOMP_RET_ALLOW));
    out.push(ret(SECCOMP_RET_ERRNO | libc::EPERM as u32));
    out.push(ret(super::seccomp::SECCOMP_RET_USER_NOTIF));
    out.extend(program);
    Some(out)
}

#[cfg(test)]
mod tests;
