import Netlink

extension Swnet {
    /// Deletes host links by name; missing ones are skipped. Several links go in one kernel
    /// request: each gets a link group no other link uses, then one RTM_DELLINK removes the
    /// group, so the kernel waits for RCU once instead of once per link.
    package func deleteLinks(named names: [String]) throws {
        let netlink = try hostNetlink()
        // One link (a detach) is one request by name, with no lookup first.
        guard names.count > 1 else {
            if let name = names.first { try deleteIgnoringMissing(netlink, named: name) }
            return
        }
        let present = try names.compactMap { try netlink.link(named: $0) }
        guard present.count > 1 else {
            if let link = present.first { try deleteIgnoringMissing(netlink, named: link.name) }
            return
        }
        let group = try unusedLinkGroup(netlink)
        for link in present {
            var changes = LinkChanges()
            changes.group = group
            try netlink.setLink(index: link.index, changes)
        }
        do { try netlink.deleteLinks(group: group) } catch {
            throw SwnetError.during("delete \(present.count) links", error)
        }
    }

    private func deleteIgnoringMissing(_ netlink: NetlinkHandle, named name: String) throws {
        do { try netlink.deleteLink(named: name) } catch where error.isNotFound {
            return
        } catch {
            throw SwnetError.during("delete \(name)", error)
        }
    }

    private func unusedLinkGroup(_ netlink: NetlinkHandle) throws -> UInt32 {
        let used = Set(try netlink.links().map(\.group))
        var candidate = UInt32(truncatingIfNeeded: StableHash.fnv1a("\(location.run)/group")) | 0x8000_0000
        while used.contains(candidate) { candidate &+= 1 }
        return candidate
    }
}
