// Netlink wire format written out by hand from the uapi headers, independent of libmnl,
// to state what the library's requests must look like byte for byte (little-endian host).

func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8)] }
func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }
func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
func padded(_ bytes: [UInt8]) -> [UInt8] { bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4) }

/// struct nlattr + payload, padded to 4 bytes.
func attribute(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
    padded(le16(UInt16(4 + payload.count)) + le16(type) + payload)
}
func attribute(_ type: UInt16, string: String) -> [UInt8] { attribute(type, Array(string.utf8) + [0]) }
func attribute(_ type: UInt16, u32: UInt32) -> [UInt8] { attribute(type, le32(u32)) }
/// A nest: libmnl marks it with NLA_F_NESTED.
func nest(_ type: UInt16, _ children: [UInt8]...) -> [UInt8] {
    let payload = children.flatMap { $0 }
    return le16(UInt16(4 + payload.count)) + le16(type | 0x8000) + payload
}

/// struct nlmsghdr (sequence and port 0, as built) + body.
func message(type: UInt16, flags: UInt16, sequence: UInt32 = 0, portID: UInt32 = 0, _ body: [UInt8]...) -> [UInt8] {
    let payload = body.flatMap { $0 }
    return le32(UInt32(16 + payload.count)) + le16(type) + le16(flags) + le32(sequence) + le32(portID) + payload
}

/// struct ifinfomsg.
func ifinfo(family: UInt8 = 0, index: Int32 = 0, flags: UInt32 = 0, change: UInt32 = 0) -> [UInt8] {
    [family, 0] + le16(0) + le32(UInt32(bitPattern: index)) + le32(flags) + le32(change)
}

enum Wire {
    // Message types and flags (linux/rtnetlink.h, linux/netlink.h).
    static let newLink: UInt16 = 16, getLink: UInt16 = 18, newAddress: UInt16 = 20, newRoute: UInt16 = 24, newNeighbor: UInt16 = 28
    static let request: UInt16 = 0x1, ack: UInt16 = 0x4, replace: UInt16 = 0x100, exclusive: UInt16 = 0x200
    static let create: UInt16 = 0x400, append: UInt16 = 0x800
}
