import Foundation
import NFTables
import Netlink
import SwnetTestSupport

/// A fresh namespace with nftables and rtnetlink handles in it: each test works only there.
struct Sandbox {
    let namespace: NetworkNamespace
    let nft: NFTablesHandle
    let netlink: NetlinkHandle

    init() throws {
        namespace = try NetworkNamespace.create()
        nft = try NFTablesHandle(namespace: namespace)
        netlink = try NetlinkHandle(namespace: namespace)
    }

    var nsenter: [String] { SwnetTestSupport.nsenter(namespaceFD: namespace.fd) }

    /// `nft -j list ruleset` in the sandbox: the objects of the `nftables` array, each
    /// keyed by its kind (`table`, `chain`, `rule`, `map`, …).
    func ruleset() throws -> [(kind: String, object: [String: Any])] {
        let data = try spawn(nsenter + ["/usr/sbin/nft", "-j", "list", "ruleset"])
        let root = try JSONSerialization.jsonObject(with: Data(data)) as? [String: Any]
        let items = root?["nftables"] as? [[String: Any]] ?? []
        return items.compactMap { item in
            guard let (kind, object) = item.first, let object = object as? [String: Any], kind != "metainfo" else { return nil }
            return (kind, object)
        }
    }

    func objects(_ kind: String) throws -> [[String: Any]] { try ruleset().filter { $0.kind == kind }.map(\.object) }
}

/// A tiny netlink attribute reader for checking encoded messages by hand.
struct WireAttributes {
    var entries: [(type: UInt16, payload: [UInt8])] = []

    init(_ bytes: ArraySlice<UInt8>) {
        var offset = bytes.startIndex
        while offset + 4 <= bytes.endIndex {
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
            let type = (UInt16(bytes[offset + 2]) | UInt16(bytes[offset + 3]) << 8) & 0x3fff
            guard length >= 4, offset + length <= bytes.endIndex else { break }
            entries.append((type, Array(bytes[(offset + 4)..<(offset + length)])))
            offset += (length + 3) & ~3
        }
    }

    /// The attributes after a message's netlink and nfgenmsg headers.
    init(message: [UInt8]) { self.init(message[20...]) }

    subscript(_ type: UInt16) -> [UInt8]? { entries.first { $0.type == type }?.payload }
    func all(_ type: UInt16) -> [[UInt8]] { entries.filter { $0.type == type }.map(\.payload) }
    func nested(_ type: UInt16) -> WireAttributes? { self[type].map { WireAttributes($0[...]) } }
    func string(_ type: UInt16) -> String? { self[type].map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
    func be32(_ type: UInt16) -> UInt32? { self[type].map { $0.prefix(4).reduce(0) { $0 << 8 | UInt32($1) } } }
}

func bytes(hex: String) -> [UInt8] {
    var result: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        result.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return result
}
