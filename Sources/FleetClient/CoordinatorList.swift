import Synchronization

/// The coordinators an agent may use, as `--coordinator a:7420,b:7420,c:7420` gives them: several coordinators
/// on one database, any of which accepts any device. One address is a list of one.
public struct CoordinatorList: Sendable, Hashable, CustomStringConvertible {
    /// At least one address, none twice, in the order given.
    public let addresses: [CoordinatorAddress]

    /// The most addresses a list takes (the text comes from a command line or the agent's saved state).
    public static let maximumCount = 32

    public init(_ address: CoordinatorAddress) { addresses = [address] }

    /// Parses `HOST:PORT[,HOST:PORT…]`; spaces around the commas are allowed.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count <= Self.maximumCount else {
            throw FleetClientError.invalidAddressList(text, reason: "more than \(Self.maximumCount) coordinators")
        }
        var addresses: [CoordinatorAddress] = []
        for part in parts {
            let address = try CoordinatorAddress(parsing: part.trimmingSpaces)
            guard !addresses.contains(address) else {
                throw FleetClientError.invalidAddressList(text, reason: "\(address) is listed twice")
            }
            addresses.append(address)
        }
        self.addresses = addresses
    }

    public var description: String { addresses.map(\.description).joined(separator: ",") }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

/// Which coordinator of a ``CoordinatorList`` the next connection goes to. A session that fails or ends moves on
/// to the next one (wrapping around), so the devices of a coordinator that died reconnect to the others with the
/// usual backoff. Shared by the agent's own session and the leaf connections it carries as a gateway.
public final class CoordinatorRotation: Sendable {
    public let list: CoordinatorList
    private let index = Mutex(0)

    public init(_ list: CoordinatorList) { self.list = list }

    /// The coordinator to connect to now.
    public var current: CoordinatorAddress { list.addresses[index.withLock { $0 }] }

    /// Moves to the next coordinator, and returns it.
    @discardableResult
    public func advance() -> CoordinatorAddress {
        let next = index.withLock { index in
            index = (index + 1) % list.addresses.count
            return index
        }
        return list.addresses[next]
    }
}
