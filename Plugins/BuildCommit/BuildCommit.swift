import Foundation
import PackagePlugin

/// Records the git commit a build comes from as `buildCommit`, for `swnet --version`.
///
/// A prebuild command runs before every build, so the commit stays current; it rewrites the
/// generated file only when the commit changed, so an unchanged tree recompiles nothing.
/// Without git or outside a clone (a source tarball) the commit is "unknown".
@main
struct BuildCommit: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let outputDirectory = context.pluginWorkDirectoryURL.appending(path: "generated")
        return [
            .prebuildCommand(
                displayName: "Recording the git commit of \(target.name)",
                executable: URL(filePath: "/bin/sh"),
                arguments: ["-c", script, "build-commit", context.package.directoryURL.path(),
                            outputDirectory.appending(path: "BuildCommit.swift").path()],
                outputFilesDirectory: outputDirectory)
        ]
    }
}

private let script = #"""
source=$1 output=$2
commit=$(git -C "$source" rev-parse --short=12 HEAD 2>/dev/null) || commit=unknown
if [ "$commit" != unknown ] && ! git -C "$source" diff --quiet HEAD -- 2>/dev/null; then commit="$commit-dirty"; fi
text="/// The git commit this binary was built from (written by the BuildCommit plugin).
let buildCommit = \"$commit\""
mkdir -p "${output%/*}"
[ "$(cat "$output" 2>/dev/null)" = "$text" ] || printf '%s\n' "$text" >"$output"
"""#
