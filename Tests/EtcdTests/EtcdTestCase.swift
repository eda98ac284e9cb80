import Etcd
import XCTest

/// Each test gets a fresh etcd and a client for it; the server is killed after the test,
/// whether it passed or not.
class EtcdTestCase: XCTestCase {
    var server: EtcdServer!
    var client: EtcdClient!

    override func setUpWithError() throws {
        server = try EtcdServer()
        client = try EtcdClient(EtcdConfiguration(endpoints: [server.clientURL]))
    }

    override func tearDown() {
        client = nil
        server?.stop()
        server = nil
    }
}

/// Runs `body`, which must throw an EtcdError; returns it.
func etcdError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> EtcdError? {
    do {
        try body()
        XCTFail("expected an EtcdError", file: file, line: line)
    } catch let error as EtcdError {
        return error
    } catch {
        XCTFail("expected an EtcdError, got \(error)", file: file, line: line)
    }
    return nil
}
