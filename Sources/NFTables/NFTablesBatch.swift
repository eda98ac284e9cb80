import CMnl
import CNftnl
import Glibc

/// Changes that the kernel applies all together or not at all (one nfnetlink batch).
/// Build it, then give it to `NFTablesHandle.apply(_:)`.
public struct NFTablesBatch: Sendable {
    enum Operation: Sendable {
        case addTable(Table)
        case deleteTable(Table)
        case addChain(Chain)
        case deleteChain(Table, String)
        case flushChain(Table, String)
        case addRule(Rule)
        case deleteRule(Table, chain: String, handle: UInt64)
        case addSet(SetSpec)
        case deleteSet(Table, String)
        case addElements(Table, set: String, [SetElement], exclusive: Bool)
        case deleteElements(Table, set: String, [SetElement])
    }

    private(set) var operations: [Operation] = []

    public init() {}

    public var isEmpty: Bool { operations.isEmpty }

    /// Creates the table unless it exists (an existing one is left as it is).
    public mutating func add(_ table: Table) { operations.append(.addTable(table)) }

    /// Deletes the table with every chain, rule and set in it; fails if it does not exist.
    public mutating func delete(_ table: Table) { operations.append(.deleteTable(table)) }

    /// Deletes the table and its contents if it exists: adding it first makes sure it does.
    public mutating func deleteIfExists(_ table: Table) {
        add(table)
        delete(table)
    }

    /// Creates the chain unless it exists.
    public mutating func add(_ chain: Chain) { operations.append(.addChain(chain)) }

    /// Deletes an empty chain no rule jumps to.
    public mutating func deleteChain(_ name: String, in table: Table) { operations.append(.deleteChain(table, name)) }

    /// Deletes every rule of the chain.
    public mutating func flushChain(_ name: String, in table: Table) { operations.append(.flushChain(table, name)) }

    /// Appends the rule to its chain. `NFTablesHandle.apply` returns its handle.
    public mutating func add(_ rule: Rule) { operations.append(.addRule(rule)) }

    public mutating func deleteRule(handle: UInt64, chain: String, in table: Table) {
        operations.append(.deleteRule(table, chain: chain, handle: handle))
    }

    /// Creates the set or map unless it exists.
    public mutating func add(_ set: SetSpec) { operations.append(.addSet(set)) }

    public mutating func deleteSet(_ name: String, in table: Table) { operations.append(.deleteSet(table, name)) }

    /// Adds elements to a set or map. An element that is there already with the same value
    /// is fine, unless `exclusive`; one there with another value always fails (EEXIST or EBUSY).
    public mutating func addElements(_ elements: [SetElement], to set: String, in table: Table, exclusive: Bool = false) {
        guard !elements.isEmpty else { return }
        operations.append(.addElements(table, set: set, elements, exclusive: exclusive))
    }

    /// Deletes elements by key; fails if one of them is not there.
    public mutating func deleteElements(_ elements: [SetElement], from set: String, in table: Table) {
        guard !elements.isEmpty else { return }
        operations.append(.deleteElements(table, set: set, elements))
    }

    /// The batch as bytes, with sequence numbers from `firstSequence` on: what each
    /// sequence number stands for, and which messages add rules (in order).
    func encode(firstSequence: UInt32) -> EncodedBatch {
        var encoded = EncodedBatch(firstSequence: firstSequence)
        var sequence = firstSequence
        func next() -> UInt32 {
            defer { sequence &+= 1 }
            return sequence
        }
        encoded.append(batchMarker(begin: true, sequence: next()), sequence: firstSequence, description: "commit batch", isMarker: true)
        let create = NLM_F_CREATE
        for operation in operations {
            switch operation {
            case .addTable(let table):
                let seq = next()
                encoded.append(table.message(NFT_MSG_NEWTABLE, flags: create, sequence: seq), sequence: seq,
                               description: "add table \(table)")
            case .deleteTable(let table):
                let seq = next()
                encoded.append(table.message(NFT_MSG_DELTABLE, flags: 0, sequence: seq), sequence: seq,
                               description: "delete table \(table)")
            case .addChain(let chain):
                let seq = next()
                encoded.append(chain.message(NFT_MSG_NEWCHAIN, flags: create, sequence: seq), sequence: seq,
                               description: "add chain \(chain.table) \(chain.name)")
            case .deleteChain(let table, let name):
                let seq = next()
                encoded.append(Chain(table: table, name: name).message(NFT_MSG_DELCHAIN, flags: 0, sequence: seq),
                               sequence: seq, description: "delete chain \(table) \(name)")
            case .flushChain(let table, let name):
                let seq = next()
                encoded.append(Rule.deletion(table: table, chain: name, handle: nil, sequence: seq) , sequence: seq,
                               description: "flush chain \(table) \(name)")
            case .addRule(let rule):
                let seq = next()
                // NLM_F_ECHO: the kernel sends the rule back with its handle.
                encoded.append(rule.message(flags: create | NLM_F_APPEND | NLM_F_ECHO, sequence: seq), sequence: seq,
                               description: "add rule \(rule.table) \(rule.chain) (rule \(encoded.addedRules.count + 1) of the batch)")
                encoded.addedRules.append(seq)
            case .deleteRule(let table, let chain, let handle):
                let seq = next()
                encoded.append(Rule.deletion(table: table, chain: chain, handle: handle, sequence: seq), sequence: seq,
                               description: "delete rule \(table) \(chain) handle \(handle)")
            case .addSet(let set):
                let seq = next()
                encoded.append(set.message(flags: create, sequence: seq), sequence: seq,
                               description: "add \(set.value == nil ? "set" : "map") \(set.table) \(set.name)")
            case .deleteSet(let table, let name):
                let seq = next()
                encoded.append(SetSpec.deletion(table: table, name: name, sequence: seq), sequence: seq,
                               description: "delete set \(table) \(name)")
            case .addElements(let table, let set, let elements, let exclusive):
                let first = sequence
                let messages = elementMessages(NFT_MSG_NEWSETELEM, table: table, set: set, elements: elements,
                                               flags: create | (exclusive ? NLM_F_EXCL : 0), nextSequence: next)
                for (offset, message) in messages.enumerated() {
                    encoded.append(message, sequence: first &+ UInt32(offset),
                                   description: "add \(elements.count) element(s) to \(table) \(set)")
                }
            case .deleteElements(let table, let set, let elements):
                let first = sequence
                let keysOnly = elements.map { SetElement(key: $0.key, keyEnd: $0.keyEnd, isIntervalEnd: $0.isIntervalEnd) }
                let messages = elementMessages(NFT_MSG_DELSETELEM, table: table, set: set, elements: keysOnly,
                                               flags: 0, nextSequence: next)
                for (offset, message) in messages.enumerated() {
                    encoded.append(message, sequence: first &+ UInt32(offset),
                                   description: "delete \(elements.count) element(s) from \(table) \(set)")
                }
            }
        }
        let end = next()
        encoded.append(batchMarker(begin: false, sequence: end), sequence: end, description: "end batch", isMarker: true)
        return encoded
    }

    private func batchMarker(begin: Bool, sequence: UInt32) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 64)
        let length = buffer.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
            let header = begin ? nftnl_batch_begin(base, sequence)! : nftnl_batch_end(base, sequence)!
            return Int(header.pointee.nlmsg_len)
        }
        return Array(buffer.prefix(length))
    }
}

/// A batch ready to send.
struct EncodedBatch {
    let firstSequence: UInt32
    var bytes: [UInt8] = []
    /// What each message does, by sequence number, for error messages.
    var descriptions: [UInt32: String] = [:]
    /// Sequence numbers of the rule additions, in order.
    var addedRules: [UInt32] = []
    var messageCount = 0

    init(firstSequence: UInt32) { self.firstSequence = firstSequence }

    /// Adds a message. Every change asks for an ack (NLM_F_ACK): `NFTablesHandle.apply`
    /// counts on one answer per change. The batch markers are not acknowledged.
    mutating func append(_ message: [UInt8], sequence: UInt32, description: String, isMarker: Bool = false) {
        var message = message
        if !isMarker { message[6] |= UInt8(NLM_F_ACK) }
        bytes += message
        descriptions[sequence] = description
        messageCount += 1
    }

    /// Each message on its own, header included.
    var messages: [[UInt8]] {
        var result: [[UInt8]] = []
        var offset = 0
        while offset + 4 <= bytes.count {
            let length = Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) })
            result.append(Array(bytes[offset..<offset + length]))
            offset += (length + 3) & ~3
        }
        return result
    }
}

extension Table: CustomStringConvertible {
    /// `ip swnet`, as `nft` names a table.
    public var description: String { "\(family.name) \(name)" }
}
