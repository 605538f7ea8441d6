import NIOSSL

/// How a client verifies the coordinator's certificate: against the certificates in a PEM file
/// (a CA, or the coordinator's own self-signed certificate, which pins it).
public struct ClientTLSConfiguration: Sendable {
    public var trustedCertificatesPath: String
    /// The name to verify; nil verifies the connected IP address against the certificate.
    public var serverHostname: String?

    public init(trustedCertificatesPath: String, serverHostname: String? = nil) {
        self.trustedCertificatesPath = trustedCertificatesPath
        self.serverHostname = serverHostname
    }

    func makeContext() throws -> NIOSSLContext {
        do {
            let certificates = try NIOSSLCertificate.fromPEMFile(trustedCertificatesPath)
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv13
            configuration.trustRoots = .certificates(certificates)
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw FleetClientError.tls("cannot load \(trustedCertificatesPath): \(error)")
        }
    }
}
