import JSON
import SwnetCore
import Testing
@testable import SwnetCommands

private func usageError(_ arguments: [String]) -> String? {
    do {
        _ = try SwnetCommand.parse(arguments)
        return nil
    } catch {
        return error.description
    }
}

private func words(_ reply: CompletionReply) -> [String] {
    guard case .candidates(let candidates) = reply else { return [] }
    return candidates.map(\.word)
}

@Suite struct SuggestionTests {
    @Test func suggestsTheClosestOptionOrSubcommand() {
        #expect(usageError(["network", "create", "n", "--subnt", "10.0.0.0/24"])
                == "unknown option '--subnt' for 'swnet network create'; did you mean '--subnet'?")
        #expect(usageError(["netwrok", "ls"]) == "unknown subcommand 'netwrok' for 'swnet'; did you mean 'network'?")
        #expect(usageError(["network", "lst"]) == "unknown subcommand 'lst' for 'swnet network'; did you mean 'ls'?")
        #expect(usageError(["network", "create", "n", "--sub", "10.0.0.0/24"])?.hasSuffix("did you mean '--subnet'?") == true)
        #expect(usageError(["network", "create", "n", "-subnet", "10.0.0.0/24"])?.hasSuffix("did you mean '--subnet'?") == true)
        #expect(usageError(["ps", "--hlep"])?.hasSuffix("did you mean '--help'?") == true)
        #expect(usageError(["overlay", "agnet", "x"])?.hasSuffix("did you mean 'agent'?") == true)
    }

    @Test func saysWhereToLookWhenNothingIsClose() {
        #expect(usageError(["network", "frobnicate"]) == "unknown subcommand 'frobnicate' for 'swnet network' (see 'swnet network --help')")
        #expect(usageError(["ps", "--xyz"]) == "unknown option '--xyz' for 'swnet ps' (see 'swnet ps --help')")
    }

    @Test func closenessIsATypoNotAnotherWord() {
        #expect(closestWord(to: "subnt", among: ["subnet", "gateway"]) == "subnet")
        #expect(closestWord(to: "gatewya", among: ["subnet", "gateway"]) == "gateway")  // a swap is one edit
        #expect(closestWord(to: "mt", among: ["mtu", "json"]) == "mtu")
        #expect(closestWord(to: "xy", among: ["mtu", "rm"]) == nil)
        #expect(closestWord(to: "color", among: ["root", "json"]) == nil)
    }
}

@Suite struct CompletionTests {
    private let root = SwnetCommand.definition

    @Test func completesSubcommandsWithoutHiddenOnes() {
        let top = words(root.complete([""]))
        #expect(top.contains("network") && top.contains("overlay") && top.contains("completion"))
        #expect(!top.contains(where: { $0.hasPrefix("__") }))
        #expect(words(root.complete(["network", "c"])) == ["create"])
        #expect(words(root.complete(["ov"])) == ["overlay"])
    }

    @Test func completesOptionsNotGivenYet() {
        let options = words(root.complete(["network", "create", "web", "--bridge", "br-web", "--"]))
        #expect(options.contains("--gateway") && options.contains("--log-level") && options.contains("--help"))
        #expect(!options.contains("--bridge"))
        #expect(words(root.complete(["network", "create", "web", "--subnet", "10.0.0.0/24", "--sub"])) == ["--subnet"])  // repeatable
        #expect(words(root.complete(["run", "--network", "a", "--netw"])) == ["--network"])  // repeatable
        #expect(words(root.complete(["attach", "-"])).contains("-i"))  // short-only options
    }

    @Test func completesOptionValues() {
        #expect(words(root.complete(["overlay", "create", "o", "--mode", ""])) == ["vxlan", "host-gw"])
        #expect(words(root.complete(["overlay", "create", "o", "--mode=h"])) == ["--mode=host-gw"])
        #expect(words(root.complete(["ps", "--format", "j"])) == ["json"])
        #expect(words(root.complete(["ps", "--filter", "st"])) == ["status=", "status=created", "status=running", "status=exited"])
        #expect(words(root.complete(["network", "ls", "--filter", "type=o"])) == ["type=overlay"])
        #expect(words(root.complete(["gc", "--log-level", "d"])) == ["debug"])
        #expect(root.complete(["run", "--rootfs", "/t"]) == .directories)
        #expect(root.complete(["run", "--root=/va"]) == .directories)
        #expect(root.complete(["overlay", "ls", "--etcd-cafile", ""]) == .files)
        #expect(words(root.complete(["completion", ""])) == ["bash", "zsh", "fish"])
    }

    @Test func completesNothingAfterAFreeFormArgument() {
        #expect(root.complete(["network", "create", ""]) == .candidates([]))
        #expect(root.complete(["run", "--", "ls", ""]) == .candidates([]))
    }

    @Test func everyShellHasAScriptThatCallsBack() throws {
        for shell in ["bash", "zsh", "fish"] {
            guard case .run(let command) = try SwnetCommand.parse(["completion", shell]),
                  let completion = command as? CompletionCommand else {
                Issue.record("completion \(shell) does not build its command")
                continue
            }
            #expect(completion.script.contains("swnet __complete --"))
        }
        #expect(usageError(["completion", "tcsh"]) == "unknown shell 'tcsh': expected bash, zsh or fish")
    }
}

@Suite struct CommandTreeTests {
    /// Shared option groups and a command's own options must not claim one name twice: the
    /// parser would take the first and never reach the other.
    @Test func noCommandDeclaresANameTwice() {
        func walk(_ path: CommandPath) {
            let longs = path.command.options.compactMap(\.long) + ["help"]
            let shorts = path.command.options.compactMap(\.short) + ["h"]
            #expect(Set(longs).count == longs.count, "\(path.name) declares a long option twice: \(longs)")
            #expect(Set(shorts).count == shorts.count, "\(path.name) declares a short option twice: \(shorts)")
            let names = path.command.subcommands.flatMap { [$0.name] + $0.aliases } + ["help"]
            #expect(Set(names).count == names.count, "\(path.name) names a subcommand twice")
            for subcommand in path.command.subcommands { walk(path.appending(subcommand)) }
        }
        walk(CommandPath(commands: [SwnetCommand.definition]))
    }
}

@Suite struct ManPageTests {
    @Test func everyVisibleCommandHasAPageWithItsOptions() {
        var pages = 0
        func walk(_ path: CommandPath) {
            let page = path.manPage(version: "1.0")
            pages += 1
            #expect(page.hasPrefix(".TH \"\(path.manName.uppercased())\" 1"))
            #expect(page.contains(".SH SYNOPSIS"))
            for option in path.command.options {
                if let long = option.long {
                    #expect(page.contains("\\-\\-" + long.split(separator: "-").joined(separator: "\\-")), "\(path.name) lacks --\(long)")
                }
            }
            #expect(!page.split(separator: "\n").contains { $0.hasPrefix(".") && !$0.hasPrefix(".TH") && !$0.hasPrefix(".SH") && !["TP", "PP", "nf", "fi"].contains($0.dropFirst()) })
            for subcommand in path.command.visibleSubcommands { walk(path.appending(subcommand)) }
        }
        walk(CommandPath(commands: [SwnetCommand.definition]))
        #expect(pages > 20)
        let root = CommandPath(commands: [SwnetCommand.definition]).manPage(version: "1.0")
        #expect(root.contains("SWNET_ETCD_CAFILE") && root.contains("swnet\\-network\\fR(1)"))
        #expect(!root.contains("__complete"))
    }
}

@Suite struct ListOutputTests {
    private var listing: Listing {
        var listing = Listing([("Name", "NAME"), ("Subnet", "SUBNET")])
        listing.append(["web", "10.1.0.0/24"], json: ["name": "web", "mtu": 1400, "tags": ["a", "b"], "nested": ["x": "y"]], quiet: "web")
        listing.append(["db", "10.2.0.0/24"], json: ["name": "db", "mtu": nil, "tags": [], "nested": ["x": "z"]], quiet: "db")
        return listing
    }

    private func render(_ format: String) throws -> [String] {
        try OutputFormat(parsing: format).render(listing)
    }

    @Test func rendersDockerStyleTemplates() throws {
        #expect(try render("{{.Name}}: {{.Subnet}}") == ["web: 10.1.0.0/24", "db: 10.2.0.0/24"])
        #expect(try render(#"{{.name}}\t{{.MTU}}"#) == ["web\t1400", "db\t"])
        #expect(try render("{{json .tags}} {{join .tags \", \"}} {{.tags}}") == [#"["a","b"] a, b [a b]"#, "[]  []"])
        #expect(try render("{{upper .Name}}-{{.nested.x}}") == ["WEB-y", "DB-z"])
        #expect(try render("{{json .}}").first == #"{"mtu":1400,"name":"web","nested":{"x":"y"},"tags":["a","b"]}"#)
    }

    @Test func tablesAlignUnderHeaders() throws {
        #expect(try render("table") == ["NAME   SUBNET", "web    10.1.0.0/24", "db     10.2.0.0/24"])
        #expect(try render(#"table {{.Subnet}}\t{{.mtu}}"#) == ["SUBNET        MTU", "10.1.0.0/24   1400", "10.2.0.0/24   "])
    }

    @Test func jsonIsAnObjectALine() throws {
        let lines = try render("json")
        #expect(lines.count == 2)
        #expect(try JSON(parsing: lines[1])["name"] == "db")
    }

    @Test(arguments: ["{{.Name", "{{frob .Name}}", "{{Name}}", "{{join .tags}}", "{{.a..b}}", "{{join .tags \"x}}"])
    func rejectsBadTemplatesAsUsageErrors(_ format: String) {
        #expect(throws: UsageError.self) { try OutputFormat(parsing: format) }
    }

    @Test func anUnknownFieldNamesTheFields() {
        let error = #expect(throws: UsageError.self) { try render("{{.Nope}}") }
        #expect(error?.message.contains("no field '.Nope' (fields: Name, Subnet") == true)
    }

    @Test func listCommandsTakeTheOptions() throws {
        for list in [["network", "ls"], ["ps"], ["overlay", "ls", "--etcd", "http://127.0.0.1:2379"]] {
            #expect(throws: Never.self) { try SwnetCommand.parse(list + ["-q"]) }
            #expect(throws: Never.self) { try SwnetCommand.parse(list + ["--format", "table {{.Name}}"]) }
            #expect(usageError(list + ["-q", "--json"]) == "give only one of -q, --json")
        }
        #expect(usageError(["ps", "--filter", "stauts=running"]) == "invalid filter 'stauts=running': did you mean 'status'? filters are id, name, status, network")
        #expect(usageError(["ps", "--filter", "status=up"]) == "invalid filter 'status=up': expected created, running or exited")
        #expect(usageError(["network", "ls", "--filter", "name"]) == "invalid filter 'name': expected KEY=VALUE")
    }

    @Test func filtersOrWithinAKeyAndAcrossKeys() {
        let filters = Filters([.init(key: "name", value: "a"), .init(key: "name", value: "b"), .init(key: "status", value: "running")])
        #expect(filters.allows("name") { $0 == "b" })
        #expect(!filters.allows("status") { $0 == "exited" })
        #expect(filters.allows("network") { _ in false })  // not filtered on
    }
}

@Suite struct LogLevelTests {
    @Test func takesALevelOrDebug() throws {
        guard case .run(let command) = try SwnetCommand.parse(["gc", "--log-level", "info"]), let gc = command as? GCCommand else {
            Issue.record("gc does not parse")
            return
        }
        #expect(gc.global.logLevel == .info)
        guard case .run(let debug) = try SwnetCommand.parse(["overlay", "agent", "o", "--etcd", "http://127.0.0.1:2379", "--debug"]),
              let agent = debug as? OverlayCommand.Agent else {
            Issue.record("agent does not parse")
            return
        }
        #expect(agent.global.logLevel == .debug)
        #expect(usageError(["gc", "--log-level", "loud"]) == "invalid log level 'loud': expected error, warn, info or debug")
        #expect(LogLevel(name: "warning") == .warning && LogLevel.warning.name == "warn")
    }
}
