import Etcd
import Testing

/// Against an etcd that speaks only https and demands client certificates. Each test gets
/// fresh certificates and a fresh etcd (a new suite instance per test); both go when it ends.
@Suite("Mutual TLS against a real etcd")
struct TLSTests {
    let files: TLSFiles
    let server: EtcdServer

    init() throws {
        files = try TLSFiles()
        server = try EtcdServer(tls: files)
    }

    private func client(_ tls: EtcdTLS, endpoint: String? = nil) throws -> EtcdClient {
        try EtcdClient(EtcdConfiguration(endpoints: [endpoint ?? server.clientURL], tls: tls))
    }

    @Test func mutualTLSPutGetAndWatch() throws {
        let client = try client(EtcdTLS(caFile: files.caCert, certFile: files.clientCert, keyFile: files.clientKey))
        let revision = try client.put("/tls", "secret")
        #expect(try client.get("/tls")?.value == "secret")
        let watch = try client.watchPrefix("/", fromRevision: revision)
        #expect(try watch.next(timeoutMilliseconds: 2000) == .created(revision: revision))
        let keyValue = try #require(try client.get("/tls"))
        #expect(try watch.next(timeoutMilliseconds: 2000) == .events([EtcdEvent(kind: .put, keyValue: keyValue)], revision: revision))
    }

    @Test func withoutAClientCertificateTheServerRefuses() throws {
        let client = try client(EtcdTLS(caFile: files.caCert))
        let error = #expect(throws: EtcdError.self) { _ = try client.get("/tls") }
        #expect([.tls, .server].contains(error?.kind), "\(String(describing: error))")
        #expect(error?.description.contains("\n") == false)
        #expect(error?.description.hasPrefix("etcd at \(server.clientURL): ") == true, "\(String(describing: error))")
    }

    @Test func serverSignedByAnUntrustedCAFailsVerification() throws {
        let client = try client(EtcdTLS(caFile: files.otherCACert, certFile: files.clientCert, keyFile: files.clientKey))
        let error = #expect(throws: EtcdError.self) { _ = try client.get("/tls") }
        #expect(error?.kind == .tls)
        #expect(error?.description.contains("certificate verify failed") == true, "\(String(describing: error))")
    }

    @Test func serverCertificateMustNameTheHost() throws {
        // The certificate is for IP 127.0.0.1 only, not the name localhost.
        let client = try client(EtcdTLS(caFile: files.caCert, certFile: files.clientCert, keyFile: files.clientKey),
                                endpoint: "https://localhost:\(server.port)")
        let error = #expect(throws: EtcdError.self) { _ = try client.get("/tls") }
        #expect(error?.kind == .tls)
        #expect(error?.description.contains("certificate verify failed") == true, "\(String(describing: error))")
    }

    @Test func unreadableOrMismatchedFilesFailAtInit() {
        let missing = #expect(throws: EtcdError.self) { _ = try client(EtcdTLS(caFile: "/nonexistent/ca.crt")) }
        #expect(missing?.kind == .tls)
        #expect(missing?.description.contains("/nonexistent/ca.crt") == true, "\(String(describing: missing))")
        let mismatched = #expect(throws: EtcdError.self) { _ = try client(EtcdTLS(certFile: files.clientCert, keyFile: files.serverKey)) }
        #expect(mismatched?.kind == .tls)
    }
}
