/// Streaming loops over update buffers, written with raw pointers and 8-wide SIMD so release builds run at
/// memory speed. Several updates are fused into one pass over the accumulator: the accumulator is read and
/// written once per four updates instead of once per update.
enum VectorKernels {
    typealias Vector = SIMD8<Float>
    static let width = 8

    /// `acc[i] += Σⱼ weights[j]·sources[j][i]` for one to four sources.
    static func accumulate(
        into acc: UnsafeMutablePointer<Float>,
        sources: [UnsafePointer<Float>],
        weights: [Float],
        count: Int
    ) {
        switch sources.count {
        case 4:
            fused4(
                acc,
                sources[0],
                sources[1],
                sources[2],
                sources[3],
                weights[0],
                weights[1],
                weights[2],
                weights[3],
                count
            )
        case 3:
            fused4(acc, sources[0], sources[1], sources[2], sources[2], weights[0], weights[1], weights[2], 0, count)
        case 2:
            fused2(acc, sources[0], sources[1], weights[0], weights[1], count)
        case 1:
            axpy(acc, sources[0], weights[0], count)
        default:
            preconditionFailure("accumulate takes one to four sources")
        }
    }

    @inline(__always)
    private static func load(_ pointer: UnsafePointer<Float>, _ i: Int) -> Vector {
        UnsafeRawPointer(pointer + i).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    private static func store(_ value: Vector, _ pointer: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(pointer + i).storeBytes(of: value, as: Vector.self)
    }

    static func fused4(
        _ acc: UnsafeMutablePointer<Float>,
        _ a: UnsafePointer<Float>,
        _ b: UnsafePointer<Float>,
        _ c: UnsafePointer<Float>,
        _ d: UnsafePointer<Float>,
        _ wa: Float,
        _ wb: Float,
        _ wc: Float,
        _ wd: Float,
        _ count: Int
    ) {
        let (va, vb, vc, vd) = (
            Vector(repeating: wa), Vector(repeating: wb), Vector(repeating: wc), Vector(repeating: wd)
        )
        var i = 0
        let end = count - count % width
        while i < end {
            let sum = va * load(a, i) + vb * load(b, i) + vc * load(c, i) + vd * load(d, i)
            store(load(acc, i) + sum, acc, i)
            i &+= width
        }
        while i < count {
            acc[i] += wa * a[i] + wb * b[i] + wc * c[i] + wd * d[i]
            i += 1
        }
    }

    static func fused2(
        _ acc: UnsafeMutablePointer<Float>,
        _ a: UnsafePointer<Float>,
        _ b: UnsafePointer<Float>,
        _ wa: Float,
        _ wb: Float,
        _ count: Int
    ) {
        let (va, vb) = (Vector(repeating: wa), Vector(repeating: wb))
        var i = 0
        let end = count - count % width
        while i < end {
            store(load(acc, i) + va * load(a, i) + vb * load(b, i), acc, i)
            i &+= width
        }
        while i < count {
            acc[i] += wa * a[i] + wb * b[i]
            i += 1
        }
    }

    /// `acc[i] += w·a[i]`.
    static func axpy(_ acc: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ w: Float, _ count: Int) {
        let vw = Vector(repeating: w)
        var i = 0
        let end = count - count % width
        while i < end {
            store(load(acc, i) + vw * load(a, i), acc, i)
            i &+= width
        }
        while i < count {
            acc[i] += w * a[i]
            i += 1
        }
    }

    /// Σ a[i]², accumulated in Float lanes per 4,096-value chunk and in Double across chunks.
    static func sumOfSquares(_ a: UnsafePointer<Float>, _ count: Int) -> Double {
        var total: Double = 0
        var start = 0
        while start < count {
            let end = min(start + 4096, count)
            var lanes = Vector(repeating: 0)
            var i = start
            while i + width <= end {
                let v = load(a, i)
                lanes += v * v
                i &+= width
            }
            var partial = lanes.sum()
            while i < end {
                partial += a[i] * a[i]
                i += 1
            }
            total += Double(partial)
            start = end
        }
        return total
    }

    /// True when every value is finite (a NaN or infinity makes the running sum non-finite).
    static func allFinite(_ a: UnsafePointer<Float>, _ count: Int) -> Bool {
        var lanes = Vector(repeating: 0)
        var i = 0
        while i + width <= count {
            lanes += load(a, i) * 0
            i &+= width
        }
        var rest: Float = lanes.sum()
        while i < count {
            rest += a[i] * 0
            i += 1
        }
        return rest == 0
    }
}
