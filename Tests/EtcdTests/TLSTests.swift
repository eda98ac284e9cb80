import Etcd
import XCTest

/// Against an etcd that speaks only https and demands client certificates.
final class TLSTests: XCTestCase {
    private var files: TLSFiles!
    private var server: EtcdServer!

    override func setUpWithError() throws {
        files = try TLSFiles()
        server = try EtcdServer(tls: files)
    }

    override func tearDown() {
        server?.stop()
        files?.remove()
    }

    private func client(_ tls: EtcdTLS, endpoint: String? = nil) throws -> EtcdClient {
        try EtcdClient(EtcdConfiguration(endpoints: [endpoint ?? server.clientURL], tls: tls))
    }

    func testMutualTLS() throws {
        let client = try client(EtcdTLS(caFile: files.caCert, certFile: files.clientCert, keyFile: files.clientKey))
        let revision = try client.put("/tls", "secret")
        XCTAssertEqual(try client.get("/tls")?.value, "secret")
        let watch = try client.watchPrefix("/", fromRevision: revision)
        XCTAssertEqual(try watch.next(timeoutMilliseconds: 2000), .created(revision: revision))
        XCTAssertEqual(try watch.next(timeoutMilliseconds: 2000),
                       .events([EtcdEvent(kind: .put, keyValue: try XCTUnwrap(try client.get("/tls")))], revision: revision))
    }

    func testWithoutClientCertificateFails() throws {
        let client = try client(EtcdTLS(caFile: files.caCert))
        let error = etcdError { _ = try client.get("/tls") }
        XCTAssertTrue([.tls, .server].contains(error?.kind), "\(String(describing: error))")
        XCTAssertEqual(error?.description.contains("\n"), false)
        XCTAssertEqual(error?.description.hasPrefix("etcd at \(server.clientURL): "), true, "\(String(describing: error))")
    }

    func testUntrustedServerFailsVerification() throws {
        let client = try client(EtcdTLS(caFile: files.otherCACert, certFile: files.clientCert, keyFile: files.clientKey))
        let error = etcdError { _ = try client.get("/tls") }
        XCTAssertEqual(error?.kind, .tls)
        XCTAssertEqual(error?.description.contains("certificate verify failed"), true, "\(String(describing: error))")
    }

    func testCertificateMustNameTheHost() throws {
        // The certificate is for IP 127.0.0.1 only, not the name localhost.
        let client = try client(EtcdTLS(caFile: files.caCert, certFile: files.clientCert, keyFile: files.clientKey),
                                endpoint: "https://localhost:\(server.port)")
        let error = etcdError { _ = try client.get("/tls") }
        XCTAssertEqual(error?.kind, .tls)
        XCTAssertEqual(error?.description.contains("certificate verify failed"), true, "\(String(describing: error))")
    }

    func testUnreadableFilesFailAtInit() {
        let missing = etcdError { _ = try self.client(EtcdTLS(caFile: "/nonexistent/ca.crt")) }
        XCTAssertEqual(missing?.kind, .tls)
        XCTAssertEqual(missing?.description.contains("/nonexistent/ca.crt"), true, "\(String(describing: missing))")
        let mismatched = etcdError { _ = try self.client(EtcdTLS(certFile: self.files.clientCert, keyFile: self.files.serverKey)) }
        XCTAssertEqual(mismatched?.kind, .tls)
    }
}
