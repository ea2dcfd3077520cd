//! Built-in commands known to be read-only, with the argument conditions that keep
//! them so. Anything not listed here needs approval under the `untrusted` policy.
//!
//! "Read-only" is meant strictly: an option that writes or deletes a file, changes the
//! system or runs another program takes the command off the list, however it is spelled:
//! alone, with its value attached (`-oFILE`, `--output=FILE`), in a cluster of short
//! options (`-uo FILE`) or abbreviated, as GNU and git option parsers allow (`--out=FILE`).

/// How one program's options are read.
struct Options {
    /// Long options (without `--`) that write, delete, change the system or run a program.
    long: &'static [&'static str],
    /// Short options that do.
    short: &'static [char],
    /// Short options that take a value: a cluster ends at one (`-kfo` is `-k fo`).
    short_values: &'static [char],
    /// The parser accepts unambiguous abbreviations of long options (getopt_long, git).
    abbreviations: bool,
}

const NONE: Options = Options {
    long: &[],
    short: &[],
    short_values: &[],
    abbreviations: true,
};

/// Programs that only read, with what would make them do more.
fn options(name: &str) -> Option<Options> {
    Some(match name {
        "cat" | "cut" | "echo" | "false" | "grep" | "head" | "id" | "ls" | "nl" | "pwd"
        | "stat" | "tail" | "tr" | "true" | "uname" | "wc" | "which" | "whoami" | "basename"
        | "dirname" | "realpath" | "diff" | "du" | "df" => NONE,
        // `--compile` writes a compiled magic file.
        "file" => Options {
            long: &["compile"],
            short: &['C'],
            short_values: &['e', 'F', 'f', 'm', 'P'],
            abbreviations: true,
        },
        // Output files, a program to compress temporaries with, temporaries in a folder.
        "sort" => Options {
            long: &["output", "compress-program", "temporary-directory"],
            short: &['o', 'T'],
            short_values: &['k', 't', 'S'],
            abbreviations: true,
        },
        // `-o FILE` writes; `-R` writes an HTML page into every folder.
        "tree" => Options {
            long: &["output"],
            short: &['o', 'R'],
            short_values: &['L', 'P', 'I', 'H', 'T'],
            abbreviations: false,
        },
        // Runs a preprocessor, a program for the host name, or decompressors.
        "rg" => Options {
            long: &["pre", "pre-glob", "hostname-bin", "search-zip"],
            short: &['z'],
            short_values: &[
                'e', 'f', 'g', 't', 'T', 'm', 'A', 'B', 'C', 'M', 'E', 'j', 'r',
            ],
            abbreviations: false,
        },
        // Sets the system clock.
        "date" => Options {
            long: &["set"],
            short: &['s'],
            short_values: &['d', 'f', 'r', 'I'],
            abbreviations: true,
        },
        _ => return None,
    })
}

/// Whether `args` hold one of `opts`' dangerous options, however spelled. After `--`
/// everything is an operand.
fn has_dangerous_option(args: &[String], opts: &Options) -> bool {
    for arg in args {
        if arg == "--" {
            return false;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or_default();
            let matches = |option: &&str| {
                *option == name
                    || (opts.abbreviations && !name.is_empty() && option.starts_with(name))
            };
            if opts.long.iter().any(matches) {
                return true;
            }
        } else if let Some(cluster) = arg.strip_prefix('-') {
            for letter in cluster.chars() {
                if opts.short.contains(&letter) {
                    return true;
                }
                if opts.short_values.contains(&letter) {
                    break;
                }
            }
        }
    }
    false
}

/// Arguments that are not options nor their values (before `--`, and everything after
/// it). `values` are the options that take the next argument as their value when it is
/// not attached (`-d yesterday`, `--date yesterday`, abbreviations included).
fn operands<'a>(args: &'a [String], values: &[&str]) -> Vec<&'a String> {
    let takes_value = |arg: &str| {
        values.iter().any(|v| {
            v.len() == 2 && arg == *v
                || (v.starts_with("--") && arg.len() > 2 && v.starts_with(arg))
        })
    };
    let mut out = Vec::new();
    let mut rest = false;
    let mut value_next = false;
    for arg in args {
        if rest {
            out.push(arg);
        } else if value_next {
            value_next = false;
        } else if arg == "--" {
            rest = true;
        } else if !arg.starts_with('-') || arg == "-" {
            out.push(arg);
        } else {
            value_next = takes_value(arg);
        }
    }
    out
}

/// `git` subcommands that only read, unless given options that run code or write files.
const GIT_READ_ONLY: &[&str] = &["status", "log", "diff", "show", "rev-parse", "ls-files"];
/// Long options of those subcommands that write or run a program (git accepts
/// abbreviations of long options).
const GIT_UNSAFE_LONG: &[&str] = &["output", "ext-diff", "exec"];
const GIT_UNSAFE_SHORT: &[char] = &['o'];

/// What `git branch` may be given and still only list branches.
const GIT_BRANCH_LISTING: &[&str] = &[
    "-a",
    "--all",
    "-r",
    "--remotes",
    "-v",
    "-vv",
    "--verbose",
    "-l",
    "--list",
    "--show-current",
    "--color",
    "--no-color",
    "--column",
    "--no-column",
    "-i",
    "--ignore-case",
    "--no-abbrev",
    "--omit-empty",
];
/// `git branch` listing options that take a value.
const GIT_BRANCH_VALUES: &[&str] = &[
    "--contains",
    "--no-contains",
    "--merged",
    "--no-merged",
    "--points-at",
    "--sort",
    "--format",
    "--abbrev",
];

/// `find` options that run or delete things, or write files (exact: find does not
/// abbreviate).
const FIND_UNSAFE_OPTIONS: &[&str] = &[
    "-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls",
];

/// True when `argv` is a command known to only read.
pub fn is_known_safe(argv: &[String]) -> bool {
    let Some(program) = argv.first() else {
        return false;
    };
    let name = program.rsplit('/').next().unwrap_or(program);
    let args = &argv[1..];
    match name {
        "git" => git_is_read_only(args),
        "find" => !args
            .iter()
            .any(|a| FIND_UNSAFE_OPTIONS.contains(&a.as_str())),
        "sed" => sed_is_read_only(args),
        // `env` runs its arguments; plain, it prints the environment.
        "env" => args.is_empty(),
        "printenv" => args.iter().all(|a| !a.starts_with('-')),
        // `uniq IN OUT` writes OUT.
        "uniq" => {
            operands(
                args,
                &[
                    "-f",
                    "-s",
                    "-w",
                    "--skip-fields",
                    "--skip-chars",
                    "--check-chars",
                ],
            )
            .len()
                <= 1
        }
        // `date MMDDhhmm` sets the clock; `date +FORMAT` prints.
        "date" => {
            operands(args, &["-d", "-f", "-r", "--date", "--file", "--reference"])
                .iter()
                .all(|a| a.starts_with('+'))
                && options("date").is_some_and(|o| !has_dangerous_option(args, &o))
        }
        _ => options(name).is_some_and(|o| !has_dangerous_option(args, &o)),
    }
}

fn git_is_read_only(args: &[String]) -> bool {
    let Some(sub) = args.first() else {
        return false;
    };
    let rest = &args[1..];
    if sub == "branch" {
        return git_branch_lists(rest);
    }
    let opts = Options {
        long: GIT_UNSAFE_LONG,
        short: GIT_UNSAFE_SHORT,
        short_values: &[],
        abbreviations: true,
    };
    GIT_READ_ONLY.contains(&sub.as_str()) && !has_dangerous_option(rest, &opts)
}

/// `git branch` with listing options only; names only as patterns of `--list`.
fn git_branch_lists(args: &[String]) -> bool {
    let listing = args.iter().any(|a| a == "-l" || a == "--list");
    let mut value_next = false;
    for arg in args {
        if value_next {
            value_next = false;
            continue;
        }
        let name = arg.split('=').next().unwrap_or_default();
        if GIT_BRANCH_VALUES.contains(&name) {
            value_next = !arg.contains('=') && name != "--abbrev";
            continue;
        }
        if GIT_BRANCH_LISTING.contains(&arg.as_str()) {
            continue;
        }
        if !arg.starts_with('-') && listing {
            continue;
        }
        return false;
    }
    true
}

fn sed_is_read_only(args: &[String]) -> bool {
    // Only `sed -n 'Np'`-style printing of files: no in-place edits, no `w`/`e` commands,
    // no options after the script.
    args.first().is_some_and(|a| a == "-n")
        && args.len() >= 2
        && !args[1].is_empty()
        && args[1]
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == 'p')
        && args[2..].iter().all(|a| !a.starts_with('-'))
}

#[cfg(test)]
mod tests;
