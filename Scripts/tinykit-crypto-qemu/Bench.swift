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
                    if matches && valid && !tampered && emptyHashMatches {
                        put("RFC 8032 TEST 3 and SHA-256(\"\") ok on the Cortex-M4\n")
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
