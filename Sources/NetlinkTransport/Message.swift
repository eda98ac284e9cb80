import CMnl
import CSwnetShims

/// Builds one netlink request. Attributes go in through libmnl's bounds-checked putters;
/// when one does not fit, the buffer doubles and the put is retried, so nothing can be
/// cut off or overflow whatever the names and options are.
package struct MessageBuilder: Sendable {
    private var storage: [UInt8]

    package init(type: UInt16, flags: Int32) {
        storage = [UInt8](repeating: 0, count: 256)
        storage.withUnsafeMutableBytes { raw in
            let header = mnl_nlmsg_put_header(raw.baseAddress)!
            header.pointee.nlmsg_type = type
            header.pointee.nlmsg_flags = UInt16(NLM_F_REQUEST | flags)
        }
    }

    /// The finished message.
    package var bytes: [UInt8] { Array(storage.prefix(length)) }

    private var length: Int {
        Int(storage.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
    }

    /// Runs a libmnl putter with the buffer's real size, growing the buffer until it fits.
    private mutating func put(_ putter: (UnsafeMutablePointer<nlmsghdr>, Int) -> Bool) {
        while !storage.withUnsafeMutableBytes({ putter($0.baseAddress!.assumingMemoryBound(to: nlmsghdr.self), $0.count) }) {
            storage.append(contentsOf: repeatElement(0, count: storage.count))
        }
    }

    /// Appends a fixed family header (ifinfomsg, rtmsg, …), either right after the netlink
    /// header or inside a nest (veth's peer carries its own ifinfomsg).
    package mutating func putStruct<T>(_ value: T) {
        let size = MemoryLayout<T>.size
        while length + align(size) > storage.count {
            storage.append(contentsOf: repeatElement(0, count: storage.count))
        }
        storage.withUnsafeMutableBytes { raw in
            let header = raw.baseAddress!.assumingMemoryBound(to: nlmsghdr.self)
            let area = mnl_nlmsg_put_extra_header(header, size)!
            withUnsafeBytes(of: value) { area.copyMemory(from: $0.baseAddress!, byteCount: size) }
        }
    }

    package mutating func put(_ type: some BinaryInteger, bytes: [UInt8]) {
        put { header, capacity in bytes.withUnsafeBytes { mnl_attr_put_check(header, capacity, UInt16(truncatingIfNeeded: type), $0.count, $0.baseAddress) } }
    }

    package mutating func put(_ type: some BinaryInteger, u8 value: UInt8) {
        put { mnl_attr_put_u8_check($0, $1, UInt16(truncatingIfNeeded: type), value) }
    }

    package mutating func put(_ type: some BinaryInteger, u16 value: UInt16) {
        put { mnl_attr_put_u16_check($0, $1, UInt16(truncatingIfNeeded: type), value) }
    }

    /// A 16-bit value in network byte order (ports, ethertypes).
    package mutating func put(_ type: some BinaryInteger, be16 value: UInt16) {
        put { mnl_attr_put_u16_check($0, $1, UInt16(truncatingIfNeeded: type), value.bigEndian) }
    }

    package mutating func put(_ type: some BinaryInteger, u32 value: UInt32) {
        put { mnl_attr_put_u32_check($0, $1, UInt16(truncatingIfNeeded: type), value) }
    }

    /// A NUL-terminated string.
    package mutating func put(_ type: some BinaryInteger, string: String) {
        put { mnl_attr_put_strz_check($0, $1, UInt16(truncatingIfNeeded: type), string) }
    }

    package mutating func nest(_ type: some BinaryInteger, _ body: (inout MessageBuilder) -> Void) {
        var startOffset = 0
        put { header, capacity in
            guard let start = mnl_attr_nest_start_check(header, capacity, UInt16(truncatingIfNeeded: type)) else { return false }
            startOffset = UnsafeRawPointer(start) - UnsafeRawPointer(header)
            return true
        }
        body(&self)
        storage.withUnsafeMutableBytes { raw in
            mnl_attr_nest_end(raw.baseAddress!.assumingMemoryBound(to: nlmsghdr.self),
                              (raw.baseAddress! + startOffset).assumingMemoryBound(to: nlattr.self))
        }
    }
}

/// One received netlink message (header included), copied out of the receive buffer.
package struct NetlinkMessage: Sendable {
    package let bytes: [UInt8]

    package init(bytes: [UInt8]) { self.bytes = bytes }

    package var type: UInt16 { load(UInt16.self, at: 4) ?? 0 }
    package var flags: UInt16 { load(UInt16.self, at: 6) ?? 0 }
    package var sequence: UInt32 { load(UInt32.self, at: 8) ?? 0 }
    package var portID: UInt32 { load(UInt32.self, at: 12) ?? 0 }

    package func load<T>(_: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset + MemoryLayout<T>.size <= bytes.count else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    /// The message as libnftnl's parsers take it.
    package func withHeader<R>(_ body: (UnsafePointer<nlmsghdr>) -> R) -> R {
        bytes.withUnsafeBytes { body($0.baseAddress!.assumingMemoryBound(to: nlmsghdr.self)) }
    }

    /// The fixed family header (ifinfomsg, ifaddrmsg, …) at the start of the payload.
    package func familyHeader<T>(_: T.Type) -> T? { load(T.self, at: headerLength) }

    /// The attributes that follow a family header of type `T`.
    package func attributes<T>(after _: T.Type, count: some BinaryInteger) -> Attributes? {
        let start = headerLength + align(MemoryLayout<T>.size)
        guard start <= bytes.count else { return nil }
        return Attributes(bytes, start: start, length: bytes.count - start, count: count)
    }

    /// The kernel's verdict in an NLMSG_ERROR or NLMSG_DONE: a positive errno (0 for an
    /// ack or a clean end of dump) and the extended-ack text when there is one.
    package var status: (errno: Int32, extendedAck: String?) {
        let code = load(Int32.self, at: headerLength) ?? 0
        guard flags & UInt16(NLM_F_ACK_TLVS) != 0 else { return (-code, nil) }
        var tlvStart = headerLength + 4
        if Int32(type) == NLMSG_ERROR {
            // nlmsgerr echoes the request: just its header when capped, all of it otherwise.
            let echoedLength = Int(load(UInt32.self, at: tlvStart) ?? 16)
            tlvStart += flags & UInt16(NLM_F_CAPPED) != 0 ? 16 : align(echoedLength)
        }
        guard tlvStart < bytes.count,
              let tlvs = Attributes(bytes, start: tlvStart, length: bytes.count - tlvStart, count: __NLMSGERR_ATTR_MAX.rawValue)
        else { return (-code, nil) }
        return (-code, tlvs.string(Int32(NLMSGERR_ATTR_MSG.rawValue)))
    }

    /// Splits a receive buffer into messages with libmnl's bounds checks.
    package static func split(_ buffer: UnsafeRawBufferPointer) -> [NetlinkMessage] {
        guard let base = buffer.baseAddress else { return [] }
        var messages: [NetlinkMessage] = []
        var remaining = Int32(buffer.count)
        var header: UnsafePointer<nlmsghdr>? = base.assumingMemoryBound(to: nlmsghdr.self)
        while let current = header, mnl_nlmsg_ok(current, remaining) {
            let length = min(Int(current.pointee.nlmsg_len), Int(remaining))
            messages.append(NetlinkMessage(bytes: Array(UnsafeRawBufferPointer(start: current, count: length))))
            header = UnsafePointer(mnl_nlmsg_next(current, &remaining))
        }
        return messages
    }

    private var headerLength: Int { MemoryLayout<nlmsghdr>.size }
}

package func align(_ length: Int) -> Int { (length + 3) & ~3 }

/// The attributes of one region of a message, indexed by type through libmnl.
package struct Attributes {
    private let bytes: [UInt8]
    private let slots: [swnet_attr_slot]

    package init?(_ bytes: [UInt8], start: Int, length: Int, count: some BinaryInteger) {
        var slots = [swnet_attr_slot](repeating: swnet_attr_slot(), count: Int(count))
        let result = bytes.withUnsafeBytes { raw in
            slots.withUnsafeMutableBufferPointer {
                swnet_attr_index(raw.baseAddress, start, length, $0.baseAddress, UInt32(count))
            }
        }
        guard result == 0 else { return nil }
        self.bytes = bytes
        self.slots = slots
    }

    package func payload(_ type: some BinaryInteger) -> ArraySlice<UInt8>? {
        guard type >= 0, Int(type) < slots.count, slots[Int(type)].present != 0 else { return nil }
        let slot = slots[Int(type)]
        return bytes[Int(slot.offset)..<Int(slot.offset) + Int(slot.length)]
    }

    package func has(_ type: some BinaryInteger) -> Bool { payload(type) != nil }

    private func load<T: FixedWidthInteger>(_ type: some BinaryInteger, as _: T.Type) -> T? {
        guard let payload = payload(type), payload.count >= MemoryLayout<T>.size else { return nil }
        return payload.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }

    package func u8(_ type: some BinaryInteger) -> UInt8? { load(type, as: UInt8.self) }
    package func be16(_ type: some BinaryInteger) -> UInt16? { load(type, as: UInt16.self).map { UInt16(bigEndian: $0) } }
    package func u32(_ type: some BinaryInteger) -> UInt32? { load(type, as: UInt32.self) }
    package func s32(_ type: some BinaryInteger) -> Int32? { load(type, as: Int32.self) }

    /// A string attribute, without its terminating NUL.
    package func string(_ type: some BinaryInteger) -> String? {
        guard let payload = payload(type) else { return nil }
        let text = payload.prefix { $0 != 0 }
        return String(decoding: text, as: UTF8.self)
    }


    package func nested(_ type: some BinaryInteger, count: some BinaryInteger) -> Attributes? {
        guard type >= 0, Int(type) < slots.count, slots[Int(type)].present != 0 else { return nil }
        let slot = slots[Int(type)]
        return Attributes(bytes, start: Int(slot.offset), length: Int(slot.length), count: count)
    }
}
