@testable import Etcd
import Testing

/// What needs no server: configuration checks and the encodings.
@Suite("Configuration and encodings, without a server")
struct ConfigurationTests {
    @Test func invalidConfigurationsAreRejectedBeforeAnythingIsSent() throws {
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
            let error = #expect(throws: EtcdError.self, "\(configuration)") { _ = try EtcdClient(configuration) }
            #expect(error?.kind == .invalidConfiguration, "\(configuration)")
        }
        // Valid: a bare host:port, IPv6 in brackets with a trailing slash, https without TLS files.
        _ = try EtcdClient(EtcdConfiguration(endpoints: ["127.0.0.1:2379", "http://[::1]:2379/", "https://localhost:2379"]))
    }

    @Test func base64EncodesAndDecodesStrictly() {
        for (text, encoded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("/swnet/ü", "L3N3bmV0L8O8")] {
            #expect(Base64.encode(Array(text.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(text.utf8))
        }
        #expect(Base64.decode("+/8=") == [0xFB, 0xFF])
        for invalid in ["Zg", "Zg=", "Z===", "Zh==", "Zm9v!A==", "Zg==Zg==", "=Zg=", "Zm 9"] {
            #expect(Base64.decode(invalid) == nil, "\(invalid)")
        }
    }

    @Test func rangeEndOfAPrefixIncrementsItsLastByteBelow0xFF() {
        #expect(GatewayRequest.rangeEnd(ofPrefix: Array("/a/".utf8)) == Array("/a0".utf8))
        #expect(GatewayRequest.rangeEnd(ofPrefix: [0x61, 0xFF, 0xFF]) == [0x62])
        #expect(GatewayRequest.rangeEnd(ofPrefix: [0xFF]) == [0])
        #expect(GatewayRequest.rangeEnd(ofPrefix: []) == [0])
    }
}
