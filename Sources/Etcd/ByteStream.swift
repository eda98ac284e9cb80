/// What an HTTP connection runs over: a TCP socket, or TLS on one.
protocol ByteStream: AnyObject {
    /// The socket, for poll().
    var fileDescriptor: Int32 { get }
    /// Received bytes held inside the stream, which poll() on the socket does not report.
    var hasBufferedBytes: Bool { get }
    /// Blocks up to the socket timeout; 0 means the peer closed the connection.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(EndpointError) -> Int
    /// Writes some of `bytes` (at least one), blocking up to the socket timeout.
    func write(_ bytes: UnsafeRawBufferPointer) throws(EndpointError) -> Int
}
