import Foundation
import SwnetTestSupport

struct FixtureError: Error, CustomStringConvertible {
    let description: String
}

/// A throwaway single-member etcd on free loopback ports, its data in a temporary directory.
/// Run the tests in a private network namespace (see scripts/test.sh): loopback is then theirs.
///
/// A suite that holds one as a stored property gets a fresh etcd for every test (swift-testing
/// makes a new suite instance per test), and it is killed when that instance goes away after the
/// test, whether it passed, failed or threw; also when the suite's init throws after starting it.
final class EtcdServer {
    static let executable = "/usr/bin/etcd"

    let clientURL: String
    let port: UInt16
    private let directory: String
    private let arguments: [String]
    private let tls: TLSFiles?
    private var pid: pid_t?

    /// Without `tls` the server speaks http; with it https, and demands client certificates
    /// signed by the CA.
    init(tls: TLSFiles? = nil) throws {
        // A missing etcd must fail the suite, not skip it: CI installs it (scripts/setup.sh).
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw FixtureError(description: "\(Self.executable) is missing: install etcd-server (scripts/setup.sh)")
        }
        port = try freeLoopbackPort()
        let peerURL = "http://127.0.0.1:\(try freeLoopbackPort())"
        clientURL = "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)"
        directory = try temporaryDirectory("etcd-test")
        self.tls = tls
        var arguments = [
            Self.executable, "--name", "test", "--data-dir", "\(directory)/data",
            "--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
            "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
            "--initial-cluster", "test=\(peerURL)",
            // Progress notifications every second instead of every ten minutes.
            "--experimental-watch-progress-notify-interval", "1s",
        ]
        if let tls {
            arguments += ["--cert-file", tls.serverCert, "--key-file", tls.serverKey,
                          "--trusted-ca-file", tls.caCert, "--client-cert-auth"]
        }
        self.arguments = arguments
        do {
            try start()
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// Kills etcd; its data stays for a restart until the server is released.
    func kill() {
        if let pid { SwnetTestSupport.stop(pid) }
        pid = nil
    }

    /// Starts etcd again on the same port and data.
    func restart() throws {
        kill()
        try start()
    }

    func stop() {
        kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs etcdctl against this server, e.g. ["compact", "5"].
    func etcdctl(_ arguments: [String]) throws -> String {
        var command = ["/usr/bin/etcdctl", "--endpoints", clientURL]
        if let tls { command += ["--cacert", tls.caCert, "--cert", tls.clientCert, "--key", tls.clientKey] }
        return String(decoding: try spawn(command + arguments), as: UTF8.self)
    }

    private func start() throws {
        pid = try spawnInBackground(arguments)
        var health = ["/usr/bin/curl", "--silent", "--max-time", "1", "\(clientURL)/health"]
        if let tls { health += ["--cacert", tls.caCert, "--cert", tls.clientCert, "--key", tls.clientKey] }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if String(decoding: try spawn(health), as: UTF8.self).contains(#""health":"true""#) { return }
            usleep(50_000)
        }
        throw FixtureError(description: "etcd on \(clientURL) did not become healthy within 20 s")
    }
}

/// A CA, a server certificate for IP 127.0.0.1 and a client certificate it signed, made with
/// the openssl CLI; and a second, unrelated CA. The files go when the object does.
final class TLSFiles {
    let directory: String
    var caCert: String { "\(directory)/ca.crt" }
    var otherCACert: String { "\(directory)/other-ca.crt" }
    var serverCert: String { "\(directory)/server.crt" }
    var serverKey: String { "\(directory)/server.key" }
    var clientCert: String { "\(directory)/client.crt" }
    var clientKey: String { "\(directory)/client.key" }

    init() throws {
        directory = try temporaryDirectory("etcd-tls")
        try makeCA("ca")
        try makeCA("other-ca")
        // etcd's gateway connects to its own gRPC port with the server certificate as a client
        // certificate, so it needs both usages.
        try makeCertificate("server", extensions: "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
        try makeCertificate("client", extensions: "extendedKeyUsage=clientAuth\n")
    }

    /// Also runs when init throws after `directory` was made: the object was fully initialized.
    deinit { try? FileManager.default.removeItem(atPath: directory) }

    private func makeCA(_ name: String) throws {
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).crt", "-subj", "/CN=\(name)", "-days", "2"])
    }

    private func makeCertificate(_ name: String, extensions: String) throws {
        let extensionsFile = "\(directory)/\(name).ext"
        try extensions.write(toFile: extensionsFile, atomically: true, encoding: .utf8)
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).csr", "-subj", "/CN=\(name)"])
        try openssl(["x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", caCert, "-CAkey", "\(directory)/ca.key",
                     "-CAcreateserial", "-out", "\(directory)/\(name).crt", "-days", "2", "-extfile", extensionsFile])
    }

    private func openssl(_ arguments: [String]) throws {
        _ = try spawn(["/usr/bin/openssl"] + arguments)
        guard let output = arguments.firstIndex(of: "-out").map({ arguments[$0 + 1] }),
              FileManager.default.fileExists(atPath: output)
        else { throw FixtureError(description: "openssl \(arguments.joined(separator: " ")) failed") }
    }
}

func temporaryDirectory(_ prefix: String) throws -> String {
    var template = Array("\(NSTemporaryDirectory())/\(prefix)-XXXXXX".utf8CString)
    guard let path = mkdtemp(&template) else { throw FixtureError(description: "mkdtemp failed") }
    return String(cString: path)
}

/// A port that was free a moment ago (the kernel's choice for port 0).
func freeLoopbackPort() throws -> UInt16 {
    let listener = try LoopbackListener()
    return listener.port
}

/// A TCP socket listening on 127.0.0.1 that never accepts: connections complete (the kernel
/// queues them) but nothing ever answers, like a hung server.
final class LoopbackListener {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard fd >= 0, bound else {
            close(fd)
            throw FixtureError(description: "cannot listen on 127.0.0.1: errno \(errno)")
        }
        self.fd = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(fd) }
}
