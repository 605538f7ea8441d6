#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Who may use the agent's local socket (`Protocol/LOCAL.md`, "Who may connect"). Each connection's peer is
/// read with `SO_PEERCRED` and checked before any request is served.
///
/// By default only the agent's own user may connect, and the socket file is mode 0600. With `--local-allow-uid`
/// or `--local-allow-group`, exactly the listed users and the members of the listed groups may (the agent's own
/// user only if listed), and the socket file is mode 0666 so that the check, not the file mode, decides.
public struct LocalAccessPolicy: Sendable, Hashable {
    public var allowedUIDs: Set<UInt32> = []
    public var allowedGIDs: Set<UInt32> = []

    public init(allowedUIDs: Set<UInt32> = [], allowedGIDs: Set<UInt32> = []) {
        self.allowedUIDs = allowedUIDs
        self.allowedGIDs = allowedGIDs
    }

    var isDefault: Bool { allowedUIDs.isEmpty && allowedGIDs.isEmpty }

    /// The socket file's mode.
    var socketMode: Int { isDefault ? 0o600 : 0o666 }

    /// Whether a peer with these credentials may use the socket. A group allows its members by the group
    /// database as well as by the peer's primary group.
    func allows(_ peer: PeerCredentials, ownUID: UInt32 = getuid()) -> Bool {
        if isDefault { return peer.uid == ownUID }
        if allowedUIDs.contains(peer.uid) || allowedGIDs.contains(peer.gid) { return true }
        return !allowedGIDs.isDisjoint(with: Self.groups(ofUser: peer.uid, primary: peer.gid))
    }

    /// A user id from a number or a user name.
    public static func uid(_ text: String) -> UInt32? {
        if let number = UInt32(text) { return number }
        guard let entry = getpwnam(text) else { return nil }
        return entry.pointee.pw_uid
    }

    /// A group id from a number or a group name.
    public static func gid(_ text: String) -> UInt32? {
        if let number = UInt32(text) { return number }
        guard let entry = getgrnam(text) else { return nil }
        return entry.pointee.gr_gid
    }

    /// The groups the group database gives the user `uid` (none for an unknown user).
    static func groups(ofUser uid: UInt32, primary: UInt32) -> Set<UInt32> {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var text = [CChar](repeating: 0, count: 16_384)
        return text.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress, getpwuid_r(uid, &entry, base, buffer.count, &found) == 0, found != nil,
                let name = entry.pw_name
            else { return [] }
            var count: Int32 = 256
            var groups = [gid_t](repeating: 0, count: Int(count))
            guard getgrouplist(name, primary, &groups, &count) >= 0 else { return [] }
            return Set(groups.prefix(Int(count)))
        }
    }
}

/// The credentials of a Unix-socket peer, laid out as Linux's `struct ucred` (`SO_PEERCRED`).
struct PeerCredentials: Sendable, Hashable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
}
