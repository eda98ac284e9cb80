import CSwnetTLS

/// OpenSSL's client settings (trusted CAs, client certificate), loaded once per client and
/// shared by its connections.
final class TLSContext {
    fileprivate let context: OpaquePointer

    init(_ files: EtcdTLS) throws(EtcdError) {
        let (context, error) = callShim { swnet_tls_context_new(files.caFile, files.certFile, files.keyFile, $0, $1) }
        guard let context else { throw EtcdError(kind: .tls, message: "etcd TLS: \(error)") }
        self.context = context
    }

    deinit { swnet_tls_context_free(context) }
}

/// TLS over a connected socket, which it owns; the peer must present a certificate for the
/// endpoint's host signed by a trusted CA.
final class TLSStream: ByteStream {
    private let socket: TCPSocket
    private let connection: OpaquePointer

    init(over socket: TCPSocket, host: String, context: TLSContext) throws(EndpointError) {
        var timedOut: Int32 = 0
        let (connection, error) = callShim { swnet_tls_connect(context.context, socket.fileDescriptor, host, &timedOut, $0, $1) }
        guard let connection else {
            throw EndpointError(kind: timedOut != 0 ? .unreachable : .tls, reason: error, timedOut: timedOut != 0)
        }
        self.socket = socket
        self.connection = connection
    }

    deinit { swnet_tls_free(connection) }

    var fileDescriptor: Int32 { socket.fileDescriptor }

    var hasBufferedBytes: Bool { swnet_tls_pending(connection) > 0 }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(EndpointError) -> Int {
        try Self.checked(callShim { swnet_tls_read(connection, buffer.baseAddress, buffer.count, $0, $1) })
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(EndpointError) -> Int {
        try Self.checked(callShim { swnet_tls_write(connection, bytes.baseAddress, bytes.count, $0, $1) })
    }

    private static func checked(_ result: (count: Int, error: String)) throws(EndpointError) -> Int {
        guard result.count < 0 else { return result.count }
        let timedOut = result.count == SWNET_TLS_TIMED_OUT
        throw EndpointError(kind: timedOut ? .unreachable : .tls, reason: result.error, timedOut: timedOut)
    }
}

/// Calls into the TLS shim with a buffer for its one-line error message; returns the call's
/// result and the message ("" when it wrote none).
private func callShim<Result>(_ call: (UnsafeMutablePointer<CChar>, Int) -> Result) -> (Result, String) {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: 512) { buffer in
        buffer[0] = 0
        let result = call(buffer.baseAddress!, buffer.count)
        return (result, String(cString: buffer.baseAddress!))
    }
}
