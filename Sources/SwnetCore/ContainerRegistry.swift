/// A container runtime above the verbs, as the verbs see it (SwnetContainers is swnet's own):
/// the names it gives network namespaces, and its records, which gc brings in line with the
/// processes. A `Swnet` without one still resolves PIDs, namespaces, paths and podman/docker
/// containers, and its gc leaves container records alone.
package protocol ContainerRegistry {
    /// The namespace of the running container `text` names (its name or a unique id prefix);
    /// nil when it names no container. Throws when it names one that is not running, or a
    /// prefix that fits more than one.
    func target(named text: String, in swnet: Swnet) throws -> ResolvedTarget?

    /// Part of `swnet gc`, in its transaction, before attachments are checked: containers whose
    /// processes died unrecorded are marked exited (or removed), their addresses released.
    func collectGarbage(in swnet: Swnet, state: borrowing StateTransaction, into report: inout CollectionReport) throws
}
