import NIOCore
import NIOSSL

/// How a client verifies the coordinator's certificate: against the certificates in a PEM file
/// (a CA, or the coordinator's own self-signed certificate, which pins it).
public struct ClientTLSConfiguration: Sendable {
    public var trustedCertificatesPath: String
    /// The name to verify; nil verifies the host name of the coordinator's address (`--coordinator
    /// coordinator.example:7420` checks `coordinator.example`), or its IP address when it is one.
    public var serverHostname: String?
    /// False only where the trusted file is the coordinator's own certificate read from its data directory and
    /// the connection goes to the address it listens on (`fleetctl --data-dir`): that certificate is pinned,
    /// whatever names it holds.
    public var verifiesHostname: Bool

    public init(trustedCertificatesPath: String, serverHostname: String? = nil, verifiesHostname: Bool = true) {
        self.trustedCertificatesPath = trustedCertificatesPath
        self.serverHostname = serverHostname
        self.verifiesHostname = verifiesHostname
    }

    /// The name checked against the certificate when connecting to `address`: `serverHostname` when set, else the
    /// address's host name (nil for an IP address, which is then checked against the certificate's IP entries).
    func serverHostname(for address: CoordinatorAddress) -> String? {
        if let serverHostname { return serverHostname }
        return (try? SocketAddress(ipAddress: address.host, port: 0)) == nil ? address.host : nil
    }

    func makeContext() throws -> NIOSSLContext {
        do {
            let certificates = try NIOSSLCertificate.fromPEMFile(trustedCertificatesPath)
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv13
            configuration.trustRoots = .certificates(certificates)
            if !verifiesHostname { configuration.certificateVerification = .noHostnameVerification }
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw FleetClientError.tls("cannot load \(trustedCertificatesPath): \(error)")
        }
    }
}
