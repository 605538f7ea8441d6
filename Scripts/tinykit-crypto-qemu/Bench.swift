// Runs the kit's crypto on the Cortex-M4 and measures it: instructions (SysTick under QEMU -icount, calibrated
// against a loop of known length) and stack high-water mark (painted stack) of public key, sign and verify for RFC
// 8032 TEST 3, checking the results against the RFC. Compiled together with the kit by run.sh.
@_extern(c, "put") func put(_ s: UnsafePointer<CChar>)
@_extern(c, "put_u32") func putU32(_ label: UnsafePointer<CChar>, _ value: UInt32)
@_extern(c, "timer_start") func timerStart()
@_extern(c, "timer_ticks") func timerTicks() -> UInt32
@_extern(c, "stack_paint") func stackPaint()
@_extern(c, "stack_used") func stackUsed() -> UInt32
@_extern(c, "calibrate") func calibrate()

/// RFC 8032 TEST 3's secret key, as little-endian words.
private let seedWords: (UInt64, UInt64, UInt64, UInt64) = (
    0x7b83_9f3f_f48d_aac5, 0xb1b7_dc31_2f44_b7ed, 0x4b09_6f07_3585_d366, 0xf758_440b_2e3a_ce85
)

@_cdecl("crypto_bench")
func cryptoBench() -> Int32 {
    timerStart()
    calibrate()  // 2,000,000 instructions
    let ticksPerMillion = timerTicks() / 2
    putU32("SysTick ticks per 1,000,000 instructions: ", ticksPerMillion)
    func report(_ name: StaticString, _ ticks: UInt32) {
        putU32(
            UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self),
            UInt32(UInt64(ticks) * 1_000_000 / UInt64(ticksPerMillion))
        )
        putU32("  stack bytes: ", stackUsed())
    }
    var seed = seedWords
    var publicKey: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    var signature: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    var message: UInt16 = 0x82af
    var status: Int32 = 1
    withUnsafeBytes(of: &seed) { seed in
        withUnsafeMutableBytes(of: &publicKey) { publicKey in
            withUnsafeMutableBytes(of: &signature) { signature in
                withUnsafeBytes(of: &message) { message in
                    stackPaint()
                    timerStart()
                    TinyEd25519.publicKey(seed: seed, into: publicKey)
                    report("publicKey instructions: ", timerTicks())
                    stackPaint()
                    timerStart()
                    TinyEd25519.sign(
                        message: message,
                        seed: seed,
                        publicKey: UnsafeRawBufferPointer(publicKey),
                        into: signature
                    )
                    report("sign instructions: ", timerTicks())
                    stackPaint()
                    timerStart()
                    let valid = TinyEd25519.verify(
                        signature: UnsafeRawBufferPointer(signature),
                        message: message,
                        publicKey: UnsafeRawBufferPointer(publicKey)
                    )
                    report("verify instructions: ", timerTicks())
                    // RFC 8032 TEST 3: public key fc51cd8e ... 08025, signature 6291d657 ... c40a.
                    let matches =
                        publicKey.load(as: UInt32.self) == 0x8ecd_51fc
                        && publicKey.load(fromByteOffset: 28, as: UInt32.self) == 0x2580_9048
                        && signature.load(as: UInt32.self) == 0x57d6_9162
                        && signature.load(fromByteOffset: 28, as: UInt32.self) == 0xacc3_5adb
                        && signature.load(fromByteOffset: 60, as: UInt32.self) == 0x0ac4_1eea
                    signature[40] ^= 1
                    let tampered = TinyEd25519.verify(
                        signature: UnsafeRawBufferPointer(signature),
                        message: message,
                        publicKey: UnsafeRawBufferPointer(publicKey)
                    )
                    let abc = TinySHA256.hash(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(seed)[0..<0]))
                    let emptyHashMatches = abc[0] == 0xe3 && abc[31] == 0x55
                    let manifestOK = checkManifest(seed: seed, publicKey: UnsafeRawBufferPointer(publicKey))
                    if matches && valid && !tampered && emptyHashMatches && manifestOK {
                        put("RFC 8032 TEST 3, SHA-256(\"\") and a signed manifest ok on the Cortex-M4\n")
                        status = 0
                    } else {
                        put("FAILED: the Cortex-M4 results differ from RFC 8032 TEST 3 or FIPS 180-4\n")
                    }
                }
            }
        }
    }
    return status
}

/// Signs a canonical manifest (digits-mlp v2 int8, 52,000 bytes, issued at 1,764,000,000,123 ms) on the target,
/// then checks that TinyManifest reads its fields, and refuses it once a byte of the model name changes.
func checkManifest(seed: UnsafeRawBufferPointer, publicKey: UnsafeRawBufferPointer) -> Bool {
    let code = manifestCode(seed: seed, publicKey: publicKey)
    putU32("manifest code=", code)
    return code == 0x3ff
}

/// One bit per check (0x3ff when all pass). Written as a bit mask on purpose: the same checks as one `&&` chain of
/// Bools failed on the target with every field right (printing the fields made it pass), an -Osize armv7em
/// miscompilation like the one Field25519's `withEncoding` works around; keep this harness running after changes.
func manifestCode(seed: UnsafeRawBufferPointer, publicKey: UnsafeRawBufferPointer) -> UInt32 {
    var storage: (Raw32, Raw32, Raw32, Raw32, Raw32) = (
        (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0)
    )
    return withUnsafeMutableBytes(of: &storage) { buffer in
        var count = 0
        func append(_ byte: UInt8) {
            buffer[count] = byte
            count += 1
        }
        func append(_ text: StaticString) {
            for index in 0..<text.utf8CodeUnitCount { append(text.utf8Start[index]) }
        }
        append("tinyfleet-v1 manifest\0")
        append(10)
        append("digits-mlp")
        append(2)  // version
        append(4)
        append("int8")
        append(0xA0)  // size 52,000 = 0x CB20: LEB128 a0 96 03
        append(0x96)
        append(0x03)
        for index in 0..<32 { append(UInt8(index)) }  // sha256
        append(0)  // requirements
        append(1)  // metadata: {"format": "safetensors"}
        append(6)
        append("format")
        append(11)
        append("safetensors")
        var milliseconds: UInt64 = 1_764_000_000_123
        while milliseconds >= 0x80 {
            append(UInt8(truncatingIfNeeded: milliseconds) | 0x80)
            milliseconds >>= 7
        }
        append(UInt8(milliseconds))
        append(0)  // kind release
        append(0)  // no target device
        let signed = count
        TinyEd25519.sign(
            message: UnsafeRawBufferPointer(rebasing: buffer[0..<signed]),
            seed: seed,
            publicKey: publicKey,
            into: UnsafeMutableRawBufferPointer(rebasing: buffer[signed..<(signed + 64)])
        )
        let whole = UnsafeRawBufferPointer(rebasing: buffer[0..<(signed + 64)])
        guard let manifest = try? TinyManifest(verifying: whole, releaseKey: publicKey) else { return 0x400 }
        let format: StaticString = "format"
        let value = TinyManifest.value(
            forKey: UnsafeRawBufferPointer(start: format.utf8Start, count: format.utf8CodeUnitCount),
            in: manifest.metadata,
            of: whole
        )
        var code: UInt32 = 0
        if manifest.version == 2 { code |= 1 }
        if manifest.size == 52_000 { code |= 2 }
        if manifest.model.count == 10 { code |= 4 }
        if manifest.variant.count == 4 { code |= 8 }
        if manifest.sha256[31] == 31 { code |= 16 }
        if value?.count == 11 { code |= 32 }
        if manifest.issuedAtMilliseconds == 1_764_000_000_123 { code |= 64 }
        if manifest.kind == .release { code |= 128 }
        if manifest.targetDevice == nil { code |= 256 }
        buffer[23] ^= 0x20  // "digits-mlp" -> "Digits-mlp"
        do throws(TinyManifestError) {
            _ = try TinyManifest(verifying: whole, releaseKey: publicKey)
            return code
        } catch {
            return error == .badSignature ? code | 512 : code
        }
    }
}
