@testable import Etcd
import XCTest

/// What needs no server: configuration checks and the encodings.
final class ConfigurationTests: XCTestCase {
    func testInvalidConfigurations() {
        let invalid: [EtcdConfiguration] = [
            EtcdConfiguration(endpoints: []),
            EtcdConfiguration(endpoints: ["ftp://host:1"]),
            EtcdConfiguration(endpoints: ["http://host"]),
            EtcdConfiguration(endpoints: ["http://::1:2379"]),
            EtcdConfiguration(endpoints: ["http://host:99999"]),
            EtcdConfiguration(endpoints: ["http://host:2379/path"]),
            EtcdConfiguration(endpoints: ["http://host:2379"], tls: EtcdTLS(caFile: "/ca.crt")),
            EtcdConfiguration(endpoints: ["https://host:2379"], tls: EtcdTLS(certFile: "/client.crt")),
            EtcdConfiguration(endpoints: ["http://host:2379"], timeoutMilliseconds: 0),
        ]
        for configuration in invalid {
            XCTAssertEqual(etcdError { _ = try EtcdClient(configuration) }?.kind, .invalidConfiguration, "\(configuration)")
        }
        XCTAssertNoThrow(try EtcdClient(EtcdConfiguration(endpoints: ["127.0.0.1:2379", "http://[::1]:2379/", "https://localhost:2379"])))
    }

    func testBase64() {
        for (text, encoded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("/swnet/ü", "L3N3bmV0L8O8")] {
            XCTAssertEqual(Base64.encode(Array(text.utf8)), encoded)
            XCTAssertEqual(Base64.decode(encoded), Array(text.utf8))
        }
        XCTAssertEqual(Base64.decode("+/8="), [0xFB, 0xFF])
        for invalid in ["Zg", "Zg=", "Z===", "Zh==", "Zm9v!A==", "Zg==Zg==", "=Zg=", "Zm 9"] {
            XCTAssertNil(Base64.decode(invalid), invalid)
        }
    }

    func testPrefixRangeEnd() {
        XCTAssertEqual(GatewayRequest.rangeEnd(ofPrefix: Array("/a/".utf8)), Array("/a0".utf8))
        XCTAssertEqual(GatewayRequest.rangeEnd(ofPrefix: [0x61, 0xFF, 0xFF]), [0x62])
        XCTAssertEqual(GatewayRequest.rangeEnd(ofPrefix: [0xFF]), [0])
        XCTAssertEqual(GatewayRequest.rangeEnd(ofPrefix: []), [0])
    }
}
