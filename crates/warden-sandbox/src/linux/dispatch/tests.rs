use super::*;

/// A classic-BPF interpreter for what seccomp filters here use; any other instruction
/// fails the test rather than passing silently.
fn run(program: &[seccompiler::sock_filter], data: &[u8; 64]) -> u32 {
    run_counting(program, data).0
}

/// The answer and how many instructions ran.
fn run_counting(program: &[seccompiler::sock_filter], data: &[u8; 64]) -> (u32, usize) {
    let mut acc: u32 = 0;
    let mut pc = 0usize;
    let mut steps = 0;
    loop {
        let i = &program[pc];
        pc += 1;
        steps += 1;
        match i.code {
            0x20 => {
                let at = i.k as usize;
                acc = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
            }
            0x54 => acc &= i.k,          // alu and k
            0x05 => pc += i.k as usize,  // ja
            0x06 => return (i.k, steps), // ret k
            0x15 | 0x25 | 0x35 | 0x45 => {
                let taken = match i.code {
                    0x15 => acc == i.k,
                    0x25 => acc > i.k,
                    0x35 => acc >= i.k,
                    _ => acc & i.k != 0,
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            other => panic!("instruction {other:#x} is not interpreted"),
        }
    }
}

fn data(nr: u32, arch: u32, args: [u64; 6]) -> [u8; 64] {
    let mut d = [0u8; 64];
    d[0..4].copy_from_slice(&nr.to_le_bytes());
    d[4..8].copy_from_slice(&arch.to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        d[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    d
}

/// Which of two filters' answers the kernel applies: the lower action as a signed number
/// (kill beats errno beats notify beats allow).
fn stricter(a: u32, b: u32) -> u32 {
    let rank = |r: u32| (r & 0xffff_0000) as i32;
    if rank(a) <= rank(b) { a } else { b }
}

/// What the old pair of filters (x32 refusal, then the program) answered.
fn two_filters(program: &[seccompiler::sock_filter], d: &[u8; 64]) -> u32 {
    let nr = u32::from_le_bytes(d[0..4].try_into().unwrap());
    let x32 = if cfg!(target_arch = "x86_64") && nr >= 0x4000_0000 {
        SECCOMP_RET_ERRNO | libc::EPERM as u32
    } else {
        SECCOMP_RET_ALLOW
    };
    stricter(run(program, d), x32)
}

#[test]
fn the_dispatched_filter_answers_exactly_as_before() {
    for proxy in [false, true] {
        // The reference: every rule in one seccompiler program, behind the old x32 filter.
        let original = super::super::seccomp::program(proxy).unwrap();
        let dispatched = super::super::seccomp::filter(proxy)
            .unwrap()
            .program
            .clone();
        assert_eq!(dispatched[0].k, ARCH_OFFSET, "the prefix was not added");
        assert!(
            dispatched.len() < original.len(),
            "{} instructions, {} before",
            dispatched.len(),
            original.len()
        );
        let native = NATIVE_ARCH.unwrap();
        let arg_sets: Vec<[u64; 6]> = vec![
            [0; 6],
            [libc::AF_UNIX as u64, libc::SOCK_STREAM as u64, 0, 0, 0, 0],
            [libc::AF_INET as u64, libc::SOCK_STREAM as u64, 0, 0, 0, 0],
            [libc::AF_INET6 as u64, libc::SOCK_DGRAM as u64, 0, 0, 0, 0],
            [libc::AF_INET as u64, libc::SOCK_RAW as u64, 0, 0, 0, 0],
            [libc::AF_NETLINK as u64, libc::SOCK_RAW as u64, 0, 0, 0, 0],
            [3, 0, libc::O_WRONLY as u64, 0, libc::MSG_FASTOPEN as u64, 0],
            [
                u64::MAX,
                1,
                (libc::O_CREAT | libc::O_RDONLY) as u64,
                0o644,
                0,
                0,
            ],
            [
                0,
                libc::O_TRUNC as u64,
                libc::O_RDONLY as u64,
                0,
                0,
                libc::MSG_FASTOPEN as u64,
            ],
        ];
        let mut checked = 0;
        let mut seen = std::collections::BTreeSet::new();
        for arch in [native, 0x4000_0003 /* AUDIT_ARCH_I386 */] {
            for base in [0u32, 0x4000_0000] {
                for nr in 0..600 {
                    for args in &arg_sets {
                        let d = data(base + nr, arch, *args);
                        seen.insert(run(&dispatched, &d) & 0xffff_0000);
                        assert_eq!(
                            run(&dispatched, &d),
                            two_filters(&original, &d),
                            "proxy {proxy}, arch {arch:#x}, nr {:#x}, args {args:?}",
                            base + nr
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 2 * 2 * 600 * arg_sets.len());
        // Every kind of answer was compared: allow, notify, EPERM (x32), kill (arch).
        let kinds: Vec<u32> = seen.into_iter().collect();
        assert_eq!(
            kinds,
            [0x0005_0000, 0x7fc0_0000, 0x7fff_0000, 0x8000_0000],
            "{kinds:x?}"
        );
    }
}

#[test]
fn calls_the_filter_does_not_name_are_allowed_in_a_few_steps() {
    let dispatched = &super::super::seccomp::filter(false).unwrap().program;
    // getpid is in no rule: arch check, load, x32 check, a short search, allow.
    let d = data(libc::SYS_getpid as u32, NATIVE_ARCH.unwrap(), [0; 6]);
    let (answer, steps) = run_counting(dispatched, &d);
    assert_eq!(answer, SECCOMP_RET_ALLOW);
    assert!(steps <= 12, "{steps} steps");
}
