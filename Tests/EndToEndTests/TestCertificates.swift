import Crypto
import Foundation
import SwiftASN1
import X509

/// A self-signed certificate (valid for 127.0.0.1 and `localhost`) and its key, written as PEM files in `directory`.
func makeSelfSignedCertificate(
    in directory: String,
    name: String = "coordinator"
) throws -> (String, String) {
    let key = P256.Signing.PrivateKey()
    let subject = try DistinguishedName { CommonName("tinyfleet-test-\(name)") }
    let now = Date()
    let certificate = try Certificate(
        version: .v3,
        serialNumber: Certificate.SerialNumber(),
        publicKey: .init(key.publicKey),
        notValidBefore: now.addingTimeInterval(-60),
        notValidAfter: now.addingTimeInterval(3600),
        issuer: subject,
        subject: subject,
        signatureAlgorithm: .ecdsaWithSHA256,
        extensions: try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
            SubjectAlternativeNames([
                .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])), .dnsName("localhost"),
            ])
        },
        issuerPrivateKey: .init(key)
    )
    let certificatePath = directory + "/\(name).pem"
    let keyPath = directory + "/\(name)-key.pem"
    try certificate.serializeAsPEM().pemString.write(toFile: certificatePath, atomically: true, encoding: .utf8)
    try key.pemRepresentation.write(toFile: keyPath, atomically: true, encoding: .utf8)
    return (certificatePath, keyPath)
}
