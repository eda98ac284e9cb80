/// Random hex identifiers (the standard library's generator reads the kernel's random source).
package enum RandomID {
    package static func hex(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in String(UInt8.random(in: 0...255, using: &generator), radix: 16).leftPadded(to: 2) }.joined()
    }
}
