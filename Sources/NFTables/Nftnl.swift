import CMnl
import CNftnl

// Owners of libnftnl objects: each frees its object when it goes away, unless it was
// handed to another object that took ownership (a consuming method says so).

struct NftnlExpression: ~Copyable {
    fileprivate let pointer: OpaquePointer

    init(_ name: String) {
        // Only fails for a name libnftnl does not know or when out of memory; names are ours.
        guard let pointer = nftnl_expr_alloc(name) else { fatalError("libnftnl has no expression \(name)") }
        self.pointer = pointer
    }

    func set(_ attribute: Int, u32 value: UInt32) { nftnl_expr_set_u32(pointer, UInt16(attribute), value) }
    func set(_ attribute: Int, u8 value: UInt8) { nftnl_expr_set_u8(pointer, UInt16(attribute), value) }
    func set(_ attribute: Int, string: String) { nftnl_expr_set_str(pointer, UInt16(attribute), string) }
    func set(_ attribute: Int, bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = nftnl_expr_set(pointer, UInt16(attribute), $0.baseAddress, UInt32($0.count)) }
    }

    /// Gives the expression up to a new owner.
    consuming func release() -> OpaquePointer {
        let pointer = self.pointer
        discard self
        return pointer
    }

    deinit { nftnl_expr_free(pointer) }
}

struct NftnlTable: ~Copyable {
    let pointer: OpaquePointer = nftnl_table_alloc()!

    func set(_ attribute: nftnl_table_attr, string: String) { nftnl_table_set_str(pointer, UInt16(attribute.rawValue), string) }
    func string(_ attribute: nftnl_table_attr) -> String? {
        nftnl_table_is_set(pointer, UInt16(attribute.rawValue)) ? nftnl_table_get_str(pointer, UInt16(attribute.rawValue)).map { String(cString: $0) } : nil
    }
    func u32(_ attribute: nftnl_table_attr) -> UInt32 { nftnl_table_get_u32(pointer, UInt16(attribute.rawValue)) }

    deinit { nftnl_table_free(pointer) }
}

struct NftnlChain: ~Copyable {
    let pointer: OpaquePointer = nftnl_chain_alloc()!

    func set(_ attribute: nftnl_chain_attr, string: String) { nftnl_chain_set_str(pointer, UInt16(attribute.rawValue), string) }
    func set(_ attribute: nftnl_chain_attr, u32 value: UInt32) { nftnl_chain_set_u32(pointer, UInt16(attribute.rawValue), value) }
    func set(_ attribute: nftnl_chain_attr, s32 value: Int32) { nftnl_chain_set_s32(pointer, UInt16(attribute.rawValue), value) }
    func isSet(_ attribute: nftnl_chain_attr) -> Bool { nftnl_chain_is_set(pointer, UInt16(attribute.rawValue)) }
    func string(_ attribute: nftnl_chain_attr) -> String? {
        isSet(attribute) ? nftnl_chain_get_str(pointer, UInt16(attribute.rawValue)).map { String(cString: $0) } : nil
    }
    func u32(_ attribute: nftnl_chain_attr) -> UInt32 { nftnl_chain_get_u32(pointer, UInt16(attribute.rawValue)) }
    func s32(_ attribute: nftnl_chain_attr) -> Int32 { nftnl_chain_get_s32(pointer, UInt16(attribute.rawValue)) }
    func u64(_ attribute: nftnl_chain_attr) -> UInt64 { nftnl_chain_get_u64(pointer, UInt16(attribute.rawValue)) }

    deinit { nftnl_chain_free(pointer) }
}

struct NftnlRule: ~Copyable {
    let pointer: OpaquePointer = nftnl_rule_alloc()!

    func set(_ attribute: nftnl_rule_attr, string: String) { nftnl_rule_set_str(pointer, UInt16(attribute.rawValue), string) }
    func set(_ attribute: nftnl_rule_attr, u64 value: UInt64) { nftnl_rule_set_u64(pointer, UInt16(attribute.rawValue), value) }
    func string(_ attribute: nftnl_rule_attr) -> String? {
        nftnl_rule_is_set(pointer, UInt16(attribute.rawValue)) ? nftnl_rule_get_str(pointer, UInt16(attribute.rawValue)).map { String(cString: $0) } : nil
    }
    func u32(_ attribute: nftnl_rule_attr) -> UInt32 { nftnl_rule_get_u32(pointer, UInt16(attribute.rawValue)) }
    func u64(_ attribute: nftnl_rule_attr) -> UInt64 { nftnl_rule_get_u64(pointer, UInt16(attribute.rawValue)) }

    /// The rule owns the expression from now on and frees it with itself.
    func add(_ expression: consuming NftnlExpression) { nftnl_rule_add_expr(pointer, expression.release()) }

    /// The names of the rule's expressions, in order.
    var expressionNames: [String] {
        guard let iterator = nftnl_expr_iter_create(pointer) else { return [] }
        defer { nftnl_expr_iter_destroy(iterator) }
        var names: [String] = []
        while let expression = nftnl_expr_iter_next(iterator) {
            if let name = nftnl_expr_get_str(expression, UInt16(NFTNL_EXPR_NAME)) { names.append(String(cString: name)) }
        }
        return names
    }

    deinit { nftnl_rule_free(pointer) }
}

struct NftnlSetElement: ~Copyable {
    fileprivate let pointer: OpaquePointer = nftnl_set_elem_alloc()!

    func set(_ attribute: Int, bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = nftnl_set_elem_set(pointer, UInt16(attribute), $0.baseAddress, UInt32($0.count)) }
    }
    func set(_ attribute: Int, u32 value: UInt32) { nftnl_set_elem_set_u32(pointer, UInt16(attribute), value) }
    func set(_ attribute: Int, string: String) { nftnl_set_elem_set_str(pointer, UInt16(attribute), string) }

    consuming func release() -> OpaquePointer {
        let pointer = self.pointer
        discard self
        return pointer
    }

    deinit { nftnl_set_elem_free(pointer) }
}

struct NftnlSet: ~Copyable {
    let pointer: OpaquePointer = nftnl_set_alloc()!

    func set(_ attribute: nftnl_set_attr, string: String) { nftnl_set_set_str(pointer, UInt16(attribute.rawValue), string) }
    func set(_ attribute: nftnl_set_attr, u32 value: UInt32) { nftnl_set_set_u32(pointer, UInt16(attribute.rawValue), value) }
    func set(_ attribute: nftnl_set_attr, bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = nftnl_set_set_data(pointer, UInt16(attribute.rawValue), $0.baseAddress, UInt32($0.count)) }
    }
    func isSet(_ attribute: nftnl_set_attr) -> Bool { nftnl_set_is_set(pointer, UInt16(attribute.rawValue)) }
    func string(_ attribute: nftnl_set_attr) -> String? {
        isSet(attribute) ? nftnl_set_get_str(pointer, UInt16(attribute.rawValue)).map { String(cString: $0) } : nil
    }
    func u32(_ attribute: nftnl_set_attr) -> UInt32 { nftnl_set_get_u32(pointer, UInt16(attribute.rawValue)) }
    func u64(_ attribute: nftnl_set_attr) -> UInt64 { nftnl_set_get_u64(pointer, UInt16(attribute.rawValue)) }

    /// The set owns the element from now on.
    func add(_ element: consuming NftnlSetElement) { nftnl_set_elem_add(pointer, element.release()) }

    /// The elements a GETSETELEM reply filled in.
    var elements: [SetElement] {
        guard let iterator = nftnl_set_elems_iter_create(pointer) else { return [] }
        defer { nftnl_set_elems_iter_destroy(iterator) }
        var elements: [SetElement] = []
        // iter_next returns the current element and moves on, nil after the last.
        while let element = nftnl_set_elems_iter_next(iterator) { elements.append(Self.element(element)) }
        return elements
    }

    private static func element(_ element: OpaquePointer) -> SetElement {
        func bytes(_ attribute: Int) -> [UInt8]? {
            guard nftnl_set_elem_is_set(element, UInt16(attribute)) else { return nil }
            var length: UInt32 = 0
            guard let data = nftnl_set_elem_get(element, UInt16(attribute), &length) else { return nil }
            return Array(UnsafeRawBufferPointer(start: data, count: Int(length)))
        }
        var value: ElementValue?
        if let data = bytes(NFTNL_SET_ELEM_DATA) {
            value = .data(data)
        } else if nftnl_set_elem_is_set(element, UInt16(NFTNL_SET_ELEM_VERDICT)) {
            let code = Int32(bitPattern: nftnl_set_elem_get_u32(element, UInt16(NFTNL_SET_ELEM_VERDICT)))
            let chain = nftnl_set_elem_get_str(element, UInt16(NFTNL_SET_ELEM_CHAIN)).map { String(cString: $0) }
            value = Verdict(code: code, chain: chain).map { .verdict($0) }
        }
        let flags = nftnl_set_elem_is_set(element, UInt16(NFTNL_SET_ELEM_FLAGS))
            ? nftnl_set_elem_get_u32(element, UInt16(NFTNL_SET_ELEM_FLAGS)) : 0
        return SetElement(key: bytes(NFTNL_SET_ELEM_KEY) ?? [], keyEnd: bytes(NFTNL_SET_ELEM_KEY_END),
                          value: value, isIntervalEnd: flags & UInt32(NFT_SET_ELEM_INTERVAL_END.rawValue) != 0)
    }

    deinit { nftnl_set_free(pointer) }
}

extension Verdict {
    init?(code: Int32, chain: String?) {
        switch (code, chain) {
        case (0, _): self = .drop
        case (1, _): self = .accept
        case (-1, _): self = .continue
        case (-5, _): self = .return
        case (-3, let chain?): self = .jump(chain)
        case (-4, let chain?): self = .goto(chain)
        default: return nil
        }
    }
}
