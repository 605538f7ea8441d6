import NIOSSL

/// Builds the coordinator's TLS 1.3 server context from PEM files.
enum CoordinatorTLS {
    static func makeContext(_ files: CoordinatorConfiguration.TLSFiles) throws -> NIOSSLContext {
        do {
            let certificates = try NIOSSLCertificate.fromPEMFile(files.certificatePath)
            let key = try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: certificates.map { .certificate($0) },
                privateKey: .privateKey(key)
            )
            configuration.minimumTLSVersion = .tlsv13
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw CoordinatorError.tls("cannot load \(files.certificatePath) / \(files.privateKeyPath): \(error)")
        }
    }
}
