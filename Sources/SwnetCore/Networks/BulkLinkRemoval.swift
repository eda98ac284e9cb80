import Netlink

extension Swnet {
    /// Deletes host links by name; missing ones are skipped. Several links go in one kernel
    /// request: each gets a link group no other link uses, then one RTM_DELLINK removes the
    /// group, so the kernel waits for RCU once instead of once per link.
    func deleteLinks(named names: [String]) throws {
        let netlink = try hostNetlink()
        let present = try names.compactMap { try netlink.link(named: $0) }
        switch present.count {
        case 0:
            return
        case 1:
            try deleteIgnoringMissing(netlink, present[0])
        default:
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
    }

    private func deleteIgnoringMissing(_ netlink: NetlinkHandle, _ link: Link) throws {
        do { try netlink.deleteLink(index: link.index) } catch where error.isNotFound {
            return
        } catch {
            throw SwnetError.during("delete \(link.name)", error)
        }
    }

    private func unusedLinkGroup(_ netlink: NetlinkHandle) throws -> UInt32 {
        let used = Set(try netlink.links().map(\.group))
        var candidate = UInt32(truncatingIfNeeded: StableHash.fnv1a("\(location.run)/group")) | 0x8000_0000
        while used.contains(candidate) { candidate &+= 1 }
        return candidate
    }
}
