/// Files for TLS to etcd: the CA that signed the servers' certificates (nil: the system's
/// default CAs) and, for servers that demand client certificates, this client's pair.
public struct EtcdTLS: Sendable, Equatable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
    }
}

public struct EtcdConfiguration: Sendable, Equatable {
    /// "http://10.0.0.1:2379", "https://host:2379"; a bare "host:port" means http.
    public var endpoints: [String]
    /// Used for https endpoints; giving files with only http endpoints is an error.
    public var tls: EtcdTLS
    /// Bounds connecting and each read or write.
    public var timeoutMilliseconds: Int32

    public init(endpoints: [String], tls: EtcdTLS = EtcdTLS(), timeoutMilliseconds: Int32 = 2000) {
        self.endpoints = endpoints
        self.tls = tls
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}
