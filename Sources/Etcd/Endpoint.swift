/// One etcd server as configured: "http://host:port", "https://host:port" or "host:port"
/// (http); IPv6 literals in brackets.
struct Endpoint {
    /// As configured, for messages.
    let text: String
    /// Without brackets: what to resolve, and what the server's certificate must name.
    let host: String
    let port: UInt16
    let usesTLS: Bool

    init(parsing text: String) throws(EtcdError) {
        self.text = text
        var rest = Substring(text)
        if rest.hasPrefix("https://") {
            usesTLS = true
            rest = rest.dropFirst("https://".count)
        } else {
            usesTLS = false
            if rest.hasPrefix("http://") { rest = rest.dropFirst("http://".count) }
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let invalid = EtcdError(kind: .invalidConfiguration,
                                message: "invalid etcd endpoint \"\(text)\": expected http://HOST:PORT or https://HOST:PORT")
        let hostPart: Substring, portPart: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix(":") else { throw invalid }
            hostPart = rest[rest.index(after: rest.startIndex)..<close]
            portPart = rest[rest.index(close, offsetBy: 2)...]
        } else {
            guard let colon = rest.lastIndex(of: ":") else { throw invalid }
            hostPart = rest[..<colon]
            portPart = rest[rest.index(after: colon)...]
        }
        // A path, userinfo or an IPv6 address without brackets would be misread: reject them.
        guard !hostPart.isEmpty, !hostPart.contains(where: { "/@[]".contains($0) }),
              rest.hasPrefix("[") || !hostPart.contains(":"),
              let port = UInt16(portPart), port > 0
        else { throw invalid }
        host = String(hostPart)
        self.port = port
    }

    /// The Host header: brackets around IPv6 literals, as in URLs.
    var authority: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
