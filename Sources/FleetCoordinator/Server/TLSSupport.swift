import NIOSSL

/// Builds the coordinator's TLS 1.3 server configuration and context from PEM files.
enum CoordinatorTLS {
    static func makeContext(_ files: CoordinatorConfiguration.TLSFiles) throws -> NIOSSLContext {
        let configuration = try makeConfiguration(files)
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw CoordinatorError.tls("cannot load \(files.certificatePath) / \(files.privateKeyPath): \(error)")
        }
    }

    /// TLS 1.3 only, the certificate chain and key from the PEM files (the device link's, and the operator's HTTP
    /// listener's off loopback).
    static func makeConfiguration(_ files: CoordinatorConfiguration.TLSFiles) throws -> TLSConfiguration {
        do {
            let certificates = try NIOSSLCertificate.fromPEMFile(files.certificatePath)
            let key = try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: certificates.map { .certificate($0) },
                privateKey: .privateKey(key)
            )
            configuration.minimumTLSVersion = .tlsv13
            return configuration
        } catch {
            throw CoordinatorError.tls("cannot load \(files.certificatePath) / \(files.privateKeyPath): \(error)")
        }
    }
}
