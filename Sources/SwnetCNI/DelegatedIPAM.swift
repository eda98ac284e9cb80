#if canImport(Glibc)
import Glibc
#endif
import JSON

/// An `ipam` section of another plugin's type (host-local, static, dhcp...): that plugin is run
/// from CNI_PATH with the same environment and configuration, as the spec's delegation says.
struct DelegatedIPAM {
    var type: String
    var pluginPath: [String]

    /// ADD: the plugin's result; DEL: nothing.
    func run(_ command: CNIEnvironment.Command, configuration: [UInt8]) throws(CNIError) -> JSON? {
        guard !type.contains("/"), let program = pluginPath.lazy.map({ "\($0)/\(type)" as String }).first(where: { access($0, X_OK) == 0 }) else {
            throw CNIError(.invalidConfiguration, "IPAM plugin \(type) not found in CNI_PATH (\(pluginPath.joined(separator: ":")))")
        }
        setenv("CNI_COMMAND", command.rawValue, 1)
        let (status, output) = try Self.spawn(program, input: configuration)
        let text = String(decoding: output, as: UTF8.self)
        if status != 0 {
            let reason = (try? JSON(parsing: output))?["msg"]?.string ?? text
            throw CNIError(.swnetFailure, "IPAM plugin \(type) \(command.rawValue) failed: \(reason)")
        }
        guard command == .add else { return nil }
        do { return try JSON(parsing: output) } catch {
            throw CNIError(.decodingFailure, "IPAM plugin \(type) printed no JSON result: \(error)")
        }
    }

    /// Runs `program` with `input` on stdin and returns its exit status and stdout. The input is
    /// small (a network configuration), so it is written whole before the output is read.
    private static func spawn(_ program: String, input: [UInt8]) throws(CNIError) -> (Int32, [UInt8]) {
        var stdinPipe: [Int32] = [0, 0], stdoutPipe: [Int32] = [0, 0]
        guard pipe(&stdinPipe) == 0, pipe(&stdoutPipe) == 0 else {
            throw CNIError(.ioFailure, "pipe: \(String(cString: strerror(errno)))")
        }
        // Only the dup2'd copies reach the plugin: it must see end of input when we close ours.
        for fd in stdinPipe + stdoutPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        var pid: pid_t = 0
        let arguments = [strdup(program), nil]
        defer { free(arguments[0]) }
        let result = posix_spawn(&pid, program, &actions, nil, arguments, environ)
        close(stdinPipe[0])
        close(stdoutPipe[1])
        guard result == 0 else {
            close(stdinPipe[1])
            close(stdoutPipe[0])
            throw CNIError(.ioFailure, "run \(program): \(String(cString: strerror(result)))")
        }
        input.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(stdinPipe[1], bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { break }
                offset += written
            }
        }
        close(stdinPipe[1])
        let output = StandardInput.readAll(stdoutPipe[0])
        close(stdoutPipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return ((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), output)
    }
}

enum StandardInput {
    static func readAll(_ fd: Int32 = 0) -> [UInt8] {
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return contents }
            contents.append(contentsOf: chunk[0..<count])
        }
    }
}
