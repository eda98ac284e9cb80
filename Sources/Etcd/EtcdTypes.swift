// The values EtcdClient reads and writes, as etcd's v3 API defines them.

public struct EtcdKeyValue: Sendable, Equatable {
    public var key: String
    public var value: String
    public var createRevision: Int64
    public var modRevision: Int64
    /// How often the key was written since it was created.
    public var version: Int64
    /// The lease the key is attached to; 0 for none.
    public var lease: Int64

    public init(key: String, value: String, createRevision: Int64, modRevision: Int64, version: Int64, lease: Int64) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }
}

public struct EtcdRange: Sendable {
    public var keyValues: [EtcdKeyValue]
    /// The store's revision when the range was read: watch from revision + 1 to miss nothing.
    public var revision: Int64
}

/// A condition of a transaction.
public enum EtcdCompare: Sendable {
    case absent(key: String)
    /// No key starts with the prefix.
    case noKeys(prefix: String)
    case value(key: String, equals: String)
    case modRevision(key: String, equals: Int64)
}

public enum EtcdOperation: Sendable {
    case put(key: String, value: String, lease: Int64?)
    case get(key: String)
    case delete(key: String)
}

public struct EtcdTxnResult: Sendable {
    public var succeeded: Bool
    public var revision: Int64
    /// What the `.get` operations of the branch that ran found, in their order.
    public var gotKeyValues: [EtcdKeyValue]
}

public struct EtcdLease: Sendable, Equatable {
    public var id: Int64
    /// Seconds.
    public var ttl: Int64
}

/// What is left of a lease, and what it was granted, in seconds.
public struct EtcdLeaseTime: Sendable, Equatable {
    public var remaining: Int64
    public var granted: Int64
}

public struct EtcdEvent: Sendable, Equatable {
    public enum Kind: Sendable {
        case put, delete
    }

    public var kind: Kind
    /// For a delete: the key and the deletion's modRevision; the value is "".
    public var keyValue: EtcdKeyValue

    public init(kind: Kind, keyValue: EtcdKeyValue) {
        self.kind = kind
        self.keyValue = keyValue
    }
}

public enum EtcdWatchMessage: Sendable, Equatable {
    /// The watch is established; events after `revision` follow.
    case created(revision: Int64)
    case events([EtcdEvent], revision: Int64)
    /// Nothing changed under the prefix up to `revision`.
    case progress(revision: Int64)
    /// The start revision was compacted away: the watch is over; list again and watch anew.
    case compacted(compactRevision: Int64)
    /// etcd ended the watch; it is over.
    case canceled(reason: String)
}
